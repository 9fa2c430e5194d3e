"""Smoke run of the system benchmark (``python -m benchmarks.system --smoke``): real Airflow 3.3 services.

Ten waits per mode (poke, reschedule, classic deferrable, start_from_trigger), one after the other on one set
of services (PostgreSQL when the distributed harness and Debian's postgresql are there, else SQLite;
LocalExecutor; the emulator over HTTPS in its own process). About five minutes on a 2-core machine, plus
about a minute the first time, to build the benchmark's Airflow venv. Marked ``e2e``: ``-m "not e2e"``
leaves it out.

Asserts the report's invariants only: every wait ended as its job did (some jobs fail, and their sensors
must fail), one create POST per cluster, the four modes present, and a ``start_from_trigger`` wait that
succeeds uses no worker at all (no worker process, no worker CPU, no status call from a worker). Timing
figures are printed, never asserted: the machine is shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODES = ("poke", "reschedule", "deferrable", "sft")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_system_benchmark_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if sys.platform != "linux":
        pytest.skip("the benchmark reads /proc")
    out = tmp_path / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.system",
        "--smoke",
        "--json",
        str(out),
        "--workdir",
        str(tmp_path / "work"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=840, cwd=REPO, env=env, check=False)
    elapsed = time.monotonic() - started
    assert out.exists(), f"no report (exit {proc.returncode}):\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
    report = json.loads(out.read_text())
    with capsys.disabled():
        print(f"\n--- system benchmark smoke ({elapsed:.0f} s; figures are informative only) ---")
        print(proc.stdout[-6000:])

    assert not report["errors"], report["errors"]
    phases = report["phases"]
    assert sorted(phases) == sorted(MODES), sorted(phases)
    for mode, phase in phases.items():
        n = phase["n"]
        assert n == 10, (mode, n)
        assert phase["complete"], f"{mode}: the phase timed out"
        assert phase["problem_count"] == 0, (mode, phase["problems"])
        assert phase["all_right"], mode
        # Some jobs fail, and their sensors failed; the rest succeeded.
        assert phase["failures_expected"] >= 1, mode
        assert phase["sensor_states"] == {
            "success": n - phase["failures_expected"],
            "failed": phase["failures_expected"],
        }
        assert phase["creates_with_one_post"] == n, mode
        assert phase["gets"]["verbose_exactly_one"] == n, mode
        # The worker accounting saw the tasks it should: every create ran once on a worker.
        assert phase["create_cpu"]["n"] == n and phase["create_cpu"]["min"] > 0, mode
        assert phase["latency"]["success"]["n"] == n - phase["failures_expected"], mode

    sft = phases["sft"]
    assert sft["worker_cpu"]["success"]["sum"] == 0.0
    assert sft["worker_slot_seconds"]["success"]["sum"] == 0.0
    assert sft["worker_runs"]["success"]["sum"] == 0
    assert sft["gets"]["success_waits_with_worker_gets"] == 0
    assert sft["gets"]["worker_per_wait"] == 0.0
    # A failed job resumes the task on a worker, to fail it there.
    assert sft["worker_runs"]["failure"]["min"] >= 1
    # The other modes do use workers: poke and reschedule poll from them, classic deferrable starts there.
    for mode in ("poke", "reschedule", "deferrable"):
        assert phases[mode]["worker_cpu"]["success"]["min"] > 0, mode
        assert phases[mode]["gets"]["worker_per_wait"] >= 1, mode
    assert (
        phases["deferrable"]["worker_runs"]["success"]["min"] == 2
    )  # the first check, then execute_complete
    assert phases["poke"]["worker_runs"]["success"]["max"] == 1
