"""deploy/ (docker-compose.yml, Dockerfile, bootstrap.sh, automations.yaml) cannot run here (no Docker,
no internet): these tests hold it to what tests/test_distributed.py proves on 127.0.0.1, the same
commands, pool, queues and environment variable names, and keep secrets out of it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from joshua.settings import PROJECT_ROOT
from tests.postgres import DRIVER
from tests.prefect_cluster import BOOTSTRAP, POOL, SERVER_COMMAND, worker_command
from tests.s3server import server_env
from tests.test_distributed import OBJECT_STORE_SETTINGS, SharedLake, worker_settings

DEPLOY = PROJECT_ROOT / "deploy"
REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY\b|TOKEN")


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_runs_postgres_the_server_minio_and_two_workers_as_the_tests_do():
    services = compose()["services"]
    assert {"postgres", "prefect-server", "minio", "bucket", "deploy", "worker-a", "worker-b"} <= services.keys()
    server = services["prefect-server"]
    assert server["command"][: len(SERVER_COMMAND)] == SERVER_COMMAND
    port = server["command"][server["command"].index("--port") + 1]
    database = server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert database.split("://")[0] == DRIVER  # as the tests' server connects
    assert database.endswith("@postgres:5432/prefect") and services["postgres"]["environment"]["POSTGRES_DB"] == "prefect"
    for name in ("worker-a", "worker-b"):
        worker = services[name]
        assert worker["command"] == worker_command(name=name)
        on_s3 = SharedLake("s3://bucket/joshua", dict.fromkeys(OBJECT_STORE_SETTINGS, ""))
        assert worker["environment"].keys() == worker_settings("", on_s3).keys()
        assert set(OBJECT_STORE_SETTINGS) <= server_env("http://127.0.0.1:9").keys()  # what the S3 tests set
        assert worker["environment"]["PREFECT_API_URL"] == f"http://prefect-server:{port}/api"
        assert worker["environment"]["JOSHUA_DATA_DIR"].startswith("s3://")
        assert worker["environment"]["AWS_ENDPOINT_URL"] == "http://minio:9000"
        assert worker["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    assert services["deploy"]["command"] == ["sh", str(BOOTSTRAP.relative_to(PROJECT_ROOT))]  # what the tests run
    assert services["deploy"]["environment"]["PREFECT_API_URL"] == f"http://prefect-server:{port}/api"


def test_bootstrap_creates_the_pool_and_every_queue_prefect_yaml_names():
    script = BOOTSTRAP.read_text(encoding="utf-8")
    assert f"prefect work-pool create {POOL} --type process" in script
    [queues] = re.findall(r"for queue in ([\w ]+); do", script)
    deployments = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    assert {d["work_pool"]["name"] for d in deployments} == {POOL}
    assert {d["work_pool"]["work_queue_name"] for d in deployments} == set(queues.split())
    assert "prefect --no-prompt deploy --all" in script and "--from-file deploy/automations.yaml" in script


def test_silent_runs_are_crashed_only_after_several_missed_heartbeats():
    project = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    heartbeats = {d["work_pool"]["job_variables"]["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] for d in project["deployments"]}
    [heartbeat] = map(int, heartbeats)  # every deployment's runs send them, at one pace
    [automation] = yaml.safe_load((DEPLOY / "automations.yaml").read_text(encoding="utf-8"))["automations"]
    trigger = automation["trigger"]
    assert trigger["within"] >= 3 * heartbeat
    # Each event that opens a window also closes the one before; only a heartbeat or a state closes
    # one (a run killed after its pull step's event, before it started, was left Submitting).
    assert set(trigger["after"]) <= set(trigger["expect"]) and not any("*" in e for e in trigger["expect"])
    [action] = automation["actions"]
    assert action["type"] == "change-flow-run-state" and action["state"] == "CRASHED"


def test_the_image_installs_the_lock_then_the_project_where_the_pull_step_looks():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lock = dockerfile.index("pip install --require-hashes -r requirements.lock")
    assert lock < dockerfile.index("pip install --no-deps -e .")
    home = re.search(r"JOSHUA_HOME=(\S+)", dockerfile)[1]
    assert f"WORKDIR {home}" in dockerfile  # prefect.yaml's pull step: set_working_directory {{ $JOSHUA_HOME }}
    assert compose()["x-joshua"]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".git", "deploy/.env", "data/lake", "data/cache"} <= set(ignored)


def test_no_secret_in_deploy_only_references_to_the_environment_file():
    text = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    example = dict(
        line.split("=", 1) for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )  # fmt: skip
    assert set(REFERENCE.findall(text)) == example.keys()  # every reference documented
    for name, value in example.items():
        assert not SECRET_NAME.search(name) or value == "", name  # no value, not even an example
    for service in compose()["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(name):
                assert REFERENCE.fullmatch(str(value)), (name, value)
            if "://" in str(value) and "@" in str(value):  # credentials inside a URL
                assert all(REFERENCE.fullmatch(part) for part in re.findall(r"//(.*)@", value)[0].split(":")), value
    assert "deploy/.env" in (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").split()
