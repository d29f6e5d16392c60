"""One assessment with the data directory on S3 (a moto server on 127.0.0.1) against a local one.

    .venv/bin/python benchmarks/object_store.py [--runs 3]

Both run the bundled sample through the same flow in this process, against one temporary Prefect
server, alternating local and S3 so that machine noise falls on both. Printed side by side: the
flow's wall time and each stage's seconds (median over the runs; the first run of each is cold),
and the objects the S3 data directory holds afterwards. moto answers from memory on this machine,
so the S3 column measures JOSHUA's extra work (listings, uploads, the lock, the caches' sync), not
a real network's latency.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.s3server import create_bucket, free_port, server_env, start_moto  # noqa: E402
from tests.s3server import S3Server  # noqa: E402

STAGES = ("collect", "curate", "analyze", "score", "store", "report")


def timed_run(data_dir: str) -> dict[str, float]:
    """Run one assessment and return its wall time and stage seconds."""
    from flows.assessment import assess

    started = time.perf_counter()
    summary = assess(data_dir=data_dir)
    figures = {"flow": time.perf_counter() - started}
    figures |= {stage.stage: stage.seconds for stage in summary.stages}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="assessments on each data directory")
    args = parser.parse_args()
    os.environ.update({"PREFECT_LOGGING_LEVEL": "CRITICAL", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"})
    port = free_port()
    moto = start_moto(port)
    endpoint = f"http://127.0.0.1:{port}"
    server = S3Server(endpoint=endpoint, pid=moto.pid, env=server_env(endpoint))
    os.environ.update(server.env)
    create_bucket(server, "joshua-bench")
    try:
        from prefect.testing.utilities import prefect_test_harness

        with tempfile.TemporaryDirectory() as scratch, prefect_test_harness(server_startup_timeout=120):
            os.environ["HOME"] = scratch  # the S3 run's local working directory lands here
            local, remote = str(Path(scratch) / "data"), "s3://joshua-bench/joshua"
            results: dict[str, list[dict[str, float]]] = {"local": [], "s3": []}
            for _ in range(args.runs):
                results["local"].append(timed_run(local))
                results["s3"].append(timed_run(remote))
            from joshua import storage

            held = storage.find(remote)
    finally:
        os.kill(moto.pid, signal.SIGTERM)
        moto.wait(timeout=30)

    print(f"one assessment of the bundled sample, {args.runs} runs each, median seconds (first run in brackets)")
    print(f"{'':<10}{'local':>16}{'s3 (moto)':>18}{'s3 / local':>12}")
    for key in ("flow", *STAGES):
        medians = {side: statistics.median(run[key] for run in runs) for side, runs in results.items()}
        firsts = {side: runs[0][key] for side, runs in results.items()}
        ratio = medians["s3"] / medians["local"] if medians["local"] else float("nan")
        print(
            f"{key:<10}{medians['local']:>9.2f} [{firsts['local']:5.2f}]{medians['s3']:>11.2f} [{firsts['s3']:5.2f}]{ratio:>11.2f}x"
        )
    lake = sum("/lake/" in url for url in held)
    print(f"objects in the S3 data directory after {args.runs} runs: {len(held)} ({lake} in the lake)")


if __name__ == "__main__":
    main()
