"""Triggerer capacity runs: one worker process per (transport, N), against the emulator process.

Also computes the detection-latency and API-efficiency figures from the same runs.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, conn_json, percentile, stop_process
from benchmarks.emulator_proc import EmulatorProcess, start_jobs


@dataclass
class RunSpec:
    transport: str
    n: int
    poll_interval: float  # emulated seconds
    job_duration: float  # emulated seconds
    time_scale: float
    budget: float  # real seconds the triggers may run before they time out
    profile: bool = False
    suffix: str = ""  # label suffix, e.g. "@1x" for the run at the production request rate

    @property
    def poll_real(self) -> float:
        return self.poll_interval / self.time_scale

    @property
    def job_real(self) -> float:
        return self.job_duration / self.time_scale

    @property
    def label(self) -> str:
        return self.transport + self.suffix


@dataclass
class Worker:
    """A started worker process, importing (then idle) until it is given its requests."""

    spec: RunSpec
    index: int
    tag: str
    proc: subprocess.Popen[bytes]
    ready: Path
    out: Path
    log_path: Path


def start_worker(spec: RunSpec, emulator: EmulatorProcess, python: str, workdir: Path, index: int) -> Worker:
    """Start the worker process of one run; it imports, then waits idle on stdin (no CPU) until its turn.

    All workers are started up front so their imports overlap; only one is ever measuring at a time.
    """
    tag = f"{index:02d}-{spec.label}-{spec.n}"
    ready = workdir / f"{tag}.ready"
    out = workdir / f"{tag}.result.json"
    config = {
        "transport": spec.transport,
        "poll_interval": spec.poll_real,
        "budget": spec.budget,
        "ready_file": str(ready),
        "out_file": str(out),
        "profile_file": str(workdir / f"{tag}.prof") if spec.profile else None,
    }
    config_path = workdir / f"{tag}.config.json"
    config_path.write_text(json.dumps(config))
    home = workdir / "airflow-home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_HADOOP_ECO_DEFAULT": conn_json(emulator.url, emulator.ca_file),
            "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    log_path = workdir / f"{tag}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [python, "-m", "benchmarks.worker", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
            env=env,
            start_new_session=True,
        )
    return Worker(spec, index, tag, proc, ready, out, log_path)


def stop_worker(worker: Worker) -> None:
    """Stop the worker process (by its PID / process group) if it still runs."""
    stop_process(worker.proc)


def run_one(worker: Worker, emulator: EmulatorProcess, workdir: Path) -> dict[str, Any]:
    """Start the jobs, hand them to the (ready) worker, wait for it and return the summarised figures."""
    spec, proc, tag, log_path = worker.spec, worker.proc, worker.tag, worker.log_path
    try:
        deadline = time.monotonic() + 300
        while not worker.ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"worker {tag} exited early ({proc.returncode}): {log_path.read_text()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {tag} not ready after 300 s")
            time.sleep(0.05)
        t_post = time.perf_counter()
        requests = start_jobs(
            emulator.url, f"r{worker.index:02d}", spec.n, spec.job_duration, spec.time_scale, emulator.ca_file
        )
        post_s = time.perf_counter() - t_post
        req_path = workdir / f"{tag}.requests.json"
        req_path.write_text(json.dumps(requests))
        emu_cpu0 = emulator.cpu_seconds()
        assert proc.stdin is not None
        proc.stdin.write((str(req_path) + "\n").encode())
        proc.stdin.close()
        try:
            proc.wait(timeout=spec.budget + 120)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"worker {tag} did not finish in {spec.budget + 120:.0f} s") from None
        emu_cpu1 = emulator.cpu_seconds()
        if proc.returncode != 0 or not worker.out.exists():
            raise RuntimeError(f"worker {tag} failed ({proc.returncode}): {log_path.read_text()[-3000:]}")
        raw = json.loads(worker.out.read_text())
    finally:
        stop_worker(worker)
    emu_cpu = (emu_cpu1 - emu_cpu0) if emu_cpu0 is not None and emu_cpu1 is not None else None
    return summarise(spec, raw, requests, emu_cpu, post_s, log_path)


def summarise(
    spec: RunSpec,
    raw: dict[str, Any],
    requests: list[dict[str, Any]],
    emulator_cpu: float | None,
    post_s: float,
    log_path: Path,
) -> dict[str, Any]:
    ends = {r["request_id"]: r for r in requests}
    poll = spec.poll_real
    margin = max(0.25, 0.1 * poll)
    correct = 0
    problems: list[str] = []
    latencies: list[float] = []
    status_calls: list[int] = []
    ideal_calls: list[float] = []
    verbose_ok = 0
    for t in raw["triggers"]:
        events = t["events"]
        req = ends.get(t["request_id"], {})
        ok = (
            len(events) == 1
            and events[0]["status"] == "success"
            and events[0]["request_id"] == t["request_id"]
            and events[0]["cluster_id"] == t["cluster_id"]
            and events[0]["result"] == "Success"
        )
        if ok:
            correct += 1
            latencies.append(events[0]["t"] - req["end_wall"])
            remaining = max(0.0, req["end_wall"] - t["start"])
            status_calls.append(t["calls"] - t["verbose_calls"])
            ideal_calls.append(remaining / poll + 1)
        elif len(problems) < 5:
            problems.append(
                f"{t['cluster_id']}: {len(events)} event(s) {[(e['status'], e['message']) for e in events]}"
            )
        if t["verbose_calls"] == 1:
            verbose_ok += 1
    n = raw["n"]
    lags_ms = [x * 1000 for x in raw["lags"]]
    calls = raw["calls"]
    rss_delta = raw["peak_rss"] - raw["rss0"]
    last_event = max((e["t"] for t in raw["triggers"] for e in t["events"]), default=raw["wall0"])
    active_s = max(1e-9, last_event - raw["wall0"])
    return {
        "transport": spec.label,
        "n": n,
        "poll_real_s": poll,
        "job_real_s": spec.job_real,
        "time_scale": spec.time_scale,
        "correct": correct,
        "all_correct": correct == n and n > 0,
        "problems": problems,
        "cancelled": raw["cancelled"],
        "crashed": raw["crashed_count"],
        "lag_p50_ms": percentile(lags_ms, 50),
        "lag_p99_ms": percentile(lags_ms, 99),
        "lag_max_ms": max(lags_ms, default=0.0),
        "lag_samples": len(lags_ms),
        "idle_lag_max_ms": max((x * 1000 for x in raw["idle_lags"]), default=0.0),
        "rss0_mb": raw["rss0"] / 2**20,
        "peak_rss_mb": raw["peak_rss"] / 2**20,
        "max_rss_mb": raw["max_rss"] / 2**20,
        "rss_per_trigger_kb": rss_delta / n / 1024 if n else 0.0,
        "cpu_s": raw["cpu_s"],
        "calls": calls,
        "verbose_calls": raw["verbose_calls"],
        "cpu_ms_per_poll": raw["cpu_s"] / calls * 1000 if calls else 0.0,
        "run_s": raw["run_s"],
        "create_s": raw["create_s"],
        "active_s": active_s,
        "rps": calls / active_s,
        "cpu_util": raw["cpu_s"] / raw["run_s"] if raw["run_s"] else 0.0,
        # Share of the run the loop thread was runnable but waiting for a CPU (other processes on the box).
        "runq_wait": raw.get("runq_wait_s", 0.0) / raw["run_s"] if raw["run_s"] else 0.0,
        "loadavg": raw.get("loadavg"),
        "gc": raw.get("gc"),
        "gc2_count": (raw.get("gc") or {}).get("2", {}).get("count", 0),
        "gc2_max_ms": (raw.get("gc") or {}).get("2", {}).get("max_s", 0.0) * 1000,
        "emulator_cpu_util": emulator_cpu / raw["run_s"]
        if emulator_cpu is not None and raw["run_s"]
        else None,
        "post_s": post_s,
        "end_uncertainty_max_s": max((r["end_uncertainty"] for r in requests), default=0.0),
        "detect_p50_s": percentile(latencies, 50),
        "detect_p99_s": percentile(latencies, 99),
        "detect_max_s": max(latencies, default=0.0),
        "detect_min_s": min(latencies, default=0.0),
        "detect_within_poll": sum(1 for x in latencies if x <= poll + margin),
        "detect_margin_s": margin,
        "status_calls_mean": sum(status_calls) / len(status_calls) if status_calls else 0.0,
        "ideal_calls_mean": sum(ideal_calls) / len(ideal_calls) if ideal_calls else 0.0,
        "status_calls_max_excess": max(
            (a - math.ceil(i) for a, i in zip(status_calls, ideal_calls, strict=True)), default=0
        ),
        "verbose_exactly_one": verbose_ok,
        "log": str(log_path),
    }


MICRO_CASES = ("raw", "ours", "new_session", "sync_to_async")
#: Status calls per round of the micro-benchmark (the figures in RESULTS.md use this).
MICRO_CALLS = 3000


def run_micro(
    emulator: EmulatorProcess,
    python: str,
    workdir: Path,
    calls: int = MICRO_CALLS,
    concurrency: int = 20,
) -> list[dict[str, Any]]:
    """CPU per status call for each transport (and the ``raw`` floor), one process each."""
    [job] = start_jobs(emulator.url, "micro", 1, 10**7, 1.0, emulator.ca_file)
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(workdir / "airflow-home"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_HADOOP_ECO_DEFAULT": conn_json(emulator.url, emulator.ca_file),
            "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    (workdir / "airflow-home").mkdir(exist_ok=True)
    results = []
    for index, transport in enumerate(MICRO_CASES):
        config_path = workdir / f"micro-{index:02d}.config.json"
        out = workdir / f"micro-{index:02d}.result.json"
        config_path.write_text(
            json.dumps(
                {
                    "transport": transport,
                    "cluster_id": job["cluster_id"],
                    "request_id": job["request_id"],
                    "calls": calls,
                    "concurrency": concurrency,
                    "out_file": str(out),
                }
            )
        )
        log_path = workdir / f"micro-{index:02d}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [python, "-m", "benchmarks.micro", str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(REPO),
                env=env,
                start_new_session=True,
            )
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            stop_process(proc)
        if proc.returncode != 0 or not out.exists():
            results.append({"label": transport, "error": log_path.read_text()[-2000:]})
            continue
        result = json.loads(out.read_text())
        result["label"] = transport
        results.append(result)
    return results
