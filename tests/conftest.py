"""Shared fixtures: offline snapshots, settings on a temporary data dir, a Prefect test server."""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

# Prefect configures logging when `prefect.main` is first imported (`from prefect import flow`), and
# its console handler keeps the `sys.stderr` of that moment. First imported inside a
# `CliRunner.invoke` (the CLI imports the flow lazily), it would keep the runner's temporary stream,
# closed when that invocation returns, and every later flow's log line would fail with "I/O operation
# on closed file". Importing it here, once, binds it to pytest's stream whatever runs first.
import prefect.main  # noqa: E402, F401

import shutil  # noqa: E402
import tomllib  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from uuid import UUID  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from joshua.collect.snapshot import SnapshotRecorder  # noqa: E402
from schemas.records import RunSummary  # noqa: E402
from joshua.settings import PROJECT_ROOT, Settings, load_settings  # noqa: E402
from joshua.sources import load_sources  # noqa: E402
from tests.postgres import Postgres, PostgresMissing, running_postgres  # noqa: E402
from tests.s3server import s3_bucket, s3_server  # noqa: E402, F401 (fixtures: a moto S3 server on 127.0.0.1)

# Shared two-core machines run the suite beside other work: slow example generation is the machine,
# not the code, so it must not fail a property test. Examples derive from each test's source, not a
# random seed, so CI draws exactly the examples a local run drew (a failure reproduces everywhere).
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("shared-machine")

SAMPLE = PROJECT_ROOT / "data" / "snapshots" / "sample"
FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = {source.id: source for source in load_sources(PROJECT_ROOT / "data" / "sources.toml")}


@pytest.fixture(autouse=True)
def no_real_anthropic(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches the real API, and none depends on the developer's shell: keys, base URLs and
    JOSHUA_* settings (a data directory, a config file) come only from the tests themselves."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", *(name for name in os.environ if name.startswith("JOSHUA_"))):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One temporary Prefect server and database for every test that runs a flow."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server (Debian's package) on 127.0.0.1 with an empty database, for the session."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresMissing as exc:
        pytest.skip(f"{exc}; `.ci/run` installs it")


@dataclass(frozen=True)
class SampleRun:
    """One completed assessment of the bundled sample: where it wrote, what it returned."""

    data_dir: Path
    summary: RunSummary
    flow_run_id: UUID


@pytest.fixture(scope="module")
def sample_run(prefect_server: None, tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """The bundled sample assessed once on a fresh data directory, shared by a module's tests."""
    from flows.assessment import assess

    data_dir = tmp_path_factory.mktemp("sample-run") / "data"
    state = assess(data_dir=str(data_dir), return_state=True)
    return SampleRun(data_dir, state.result(), state.state_details.flow_run_id)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data directory for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Settings that write under the test's data directory."""
    return load_settings(data_dir=data_dir)


def sample_body(source_id: str) -> bytes:
    """The bundled sample's recorded body of a source."""
    manifest = tomllib.loads((SAMPLE / "snapshot.toml").read_text(encoding="utf-8"))
    entry = next(r for r in manifest["responses"] if r["source"] == source_id)
    return (SAMPLE / entry["body"]).read_bytes()


SnapshotFactory = Callable[[dict[str, dict]], Path]
RECORDED_AT = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
FETCHED_AT = datetime(2026, 11, 26, 6, 0, 1, tzinfo=UTC)


def write_snapshot(directory: Path, responses: dict[str, dict], name: str = "test") -> Path:
    """A snapshot written by the real recorder: {source_id: {"body", "status", "headers"} or {"error"}},
    each answering the source's configured URL."""
    recorder = SnapshotRecorder(directory, name)
    for source_id, spec in responses.items():
        url = str(SOURCES[source_id].url)
        if "error" in spec:
            recorder.record_failure(source_id, url, spec["error"], FETCHED_AT)
        else:
            recorder.record(source_id, url, spec.get("status", 200), spec.get("headers", {}), spec["body"], FETCHED_AT)
    recorder.write_manifest(RECORDED_AT)
    return directory


@pytest.fixture
def make_snapshot(tmp_path: Path) -> SnapshotFactory:
    """Build a snapshot directory under the test's tmp_path (see `write_snapshot`)."""

    def build(responses: dict[str, dict], name: str = "test") -> Path:
        return write_snapshot(tmp_path / f"snapshot-{name}", responses, name)

    return build


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled sample snapshot."""
    return Path(shutil.copytree(SAMPLE, tmp_path / "sample"))
