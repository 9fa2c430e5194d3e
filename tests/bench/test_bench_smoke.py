"""Smoke test of the benchmark harness: N=50 triggers per transport against the emulator process.

Asserts correctness only (every trigger yields exactly one success event for its own request, on all three
transports; every HTTP attempt is counted; the per-call micro-benchmark runs every transport; the DAG-parse
imports load no aiohttp, requests or emulator). Timing figures are printed, never asserted: the machine is
shared and noisy. The full benchmark is ``make bench``.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from airflow_harness import airflow_python

REPO = Path(__file__).resolve().parents[2]
TRANSPORTS = ("ours", "new_session", "sync_to_async")


def test_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python = airflow_python(3)
    out = tmp_path / "bench.json"
    cmd = [
        python, str(REPO / "benchmarks" / "run.py"),
        "--sizes", "50", "--transports", ",".join(TRANSPORTS),
        "--poll-interval", "30", "--job-duration", "60", "--time-scale", "60",  # poll 0.5 s, job 1 s real
        "--quick-imports", "--micro-calls", "100", "--skip-micro-other", "--stress-n", "0",
        "--no-results", "--json", str(out), "--workdir", str(tmp_path / "work"),
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=360, cwd=REPO, check=False)
    elapsed = time.monotonic() - started
    assert out.exists(), (
        f"benchmark wrote no results (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    report = json.loads(out.read_text())

    with capsys.disabled():
        print(f"\n--- benchmark smoke run ({elapsed:.0f} s; figures are informative only) ---")
        print(
            proc.stdout[proc.stdout.find("Capacity") :] if "Capacity" in proc.stdout else proc.stdout[-3000:]
        )

    assert not report["errors"], report["errors"]
    runs = {run["transport"]: run for run in report["runs"]}
    assert sorted(runs) == sorted(TRANSPORTS)
    for transport, run in runs.items():
        assert run["n"] == 50
        assert run["all_correct"], f"{transport}: {run['correct']}/50 correct; {run['problems']}"
        assert run["cancelled"] == 0 and run["crashed"] == 0, transport
        # Every trigger polled until the end and fetched the verbose status exactly once.
        assert run["verbose_exactly_one"] == 50, transport
        assert run["calls"] >= 100, transport

    micro = {result["label"]: result for result in report["micro_tls"]}
    assert sorted(micro) == sorted(("raw", *TRANSPORTS)), micro
    for label, result in micro.items():
        assert "error" not in result, f"micro {label}: {result.get('error')}"
        assert len(result["rounds"]) == 3 and result["cpu_us"] > 0, (label, result)

    quick = report["imports"]["quick"]
    assert quick["imported_after"]["aiohttp"] is False
    assert quick["imported_after"]["airflow_provider_hadoop_eco.emulator"] is False
    assert quick["forbidden_imported"] == [], quick
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_wakeups_script_reports_every_piece_and_grid() -> None:
    python = airflow_python(3)
    cmd = [python, "-m", "benchmarks.wakeups", "--n", "20", "--interval", "0.1", "--seconds", "0.5",
           "--reps", "1,5", "--grids", "0,0.05"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split() for line in proc.stdout.splitlines() if "x loads" in line]
    assert [row[0] for row in rows] == ["1", "5"], proc.stdout
    for row in rows:
        figures = [float(x) for x in row[3:]]
        assert len(figures) == 3 and all(f > 0 for f in figures), proc.stdout  # back to back + two grids
    print("\n" + proc.stdout)
