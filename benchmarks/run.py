"""Benchmark entry point (``make bench``): triggerer capacity, import cost, detection latency.

Usage::

    python benchmarks/run.py                         # the full run; writes benchmarks/RESULTS.md
    python benchmarks/run.py --sizes 50 --job-duration 60 --time-scale 60   # a quick run, no RESULTS.md

By default every capacity run is at the production request rate (poll 30 s of real time, time scale 1)
and over HTTPS, like the real API; ``--stress-n`` adds one run of the provider at a multiple of that rate.

Processes: this orchestrator (idle while measuring), one emulator process (``hadoop-eco-emulator`` on
127.0.0.1, a free port), and one worker process per (transport, N) that runs the triggers in one asyncio loop.
Every process started here is stopped by its PID before exit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.capacity import (
    MICRO_CALLS,
    MICRO_CASES,
    RunSpec,
    Worker,
    run_micro,
    run_one,
    start_worker,
    stop_worker,
)
from benchmarks.common import REPO, machine_info
from benchmarks.emulator_proc import EmulatorProcess, new_workdir
from benchmarks.imports import check_imports, measure_imports
from benchmarks.report import render_markdown, render_table, targets

DEFAULT_SIZES = (1000, 5000, 10000)
DEFAULT_TRANSPORTS = ("ours", "new_session", "sync_to_async")
RESULTS = REPO / "benchmarks" / "RESULTS.md"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="trigger counts N, comma-separated"
    )
    p.add_argument("--transports", default=",".join(DEFAULT_TRANSPORTS), help="transports, comma-separated")
    p.add_argument(
        "--baseline-max-n",
        type=int,
        default=0,
        help="run the baselines only up to this N (0: no cap)",
    )
    p.add_argument(
        "--poll-interval", type=float, default=30.0, help="trigger poll interval, emulated seconds"
    )
    p.add_argument("--job-duration", type=float, default=150.0, help="job duration, emulated seconds")
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="emulated seconds per real second (default 1: real time. At 3, N triggers poll as often as 3N "
        "triggers would in real time)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="real seconds the triggers may run before they time out (default: job + 4 polls + 20 s)",
    )
    p.add_argument(
        "--plain-http",
        dest="tls",
        action="store_false",
        help="serve the emulator over plain HTTP (default: HTTPS like the real API, with a self-signed "
        "certificate trusted through the connection's 'verify' extra)",
    )
    p.add_argument("--profile", action="store_true", help="cProfile the workers (slower; for analysis only)")
    p.add_argument(
        "--stress-n",
        type=int,
        default=10000,
        help="also run ours with this N at --stress-factor times the request rate (0: skip)",
    )
    p.add_argument(
        "--stress-factor",
        type=float,
        default=3.0,
        help="the stress run divides the real poll interval and job time by this (default 3: N triggers "
        "poll as often as 3N would)",
    )
    p.add_argument("--skip-micro", action="store_true", help="skip the per-call CPU micro-benchmark")
    p.add_argument(
        "--micro-calls",
        type=int,
        default=MICRO_CALLS,
        help=f"status calls per round of the micro-benchmark (default {MICRO_CALLS}; fewer for a quick check)",
    )
    p.add_argument(
        "--skip-micro-other",
        action="store_true",
        help="skip its second pass over the other protocol (plain HTTP when the capacity runs use HTTPS)",
    )
    p.add_argument("--import-runs", type=int, default=7, help="fresh processes per import measurement")
    p.add_argument("--skip-imports", action="store_true")
    p.add_argument(
        "--quick-imports", action="store_true", help="only check which modules the imports load (one process)"
    )
    p.add_argument("--skip-capacity", action="store_true")
    p.add_argument("--python", default=sys.executable, help="interpreter for the emulator and the workers")
    p.add_argument("--json", dest="json_out", help="also write every figure as JSON here")
    p.add_argument(
        "--results",
        default=None,
        help=f"write the Markdown report here (default: {RESULTS.relative_to(REPO)}, full default runs only)",
    )
    p.add_argument("--no-results", action="store_true", help="never write the Markdown report")
    p.add_argument("--workdir", help="keep logs and raw results here (default: a new temporary folder)")
    return p.parse_args(argv)


def _is_default_run(args: argparse.Namespace) -> bool:
    return (
        args.sizes == ",".join(map(str, DEFAULT_SIZES))
        and args.transports == ",".join(DEFAULT_TRANSPORTS)
        and not args.skip_imports
        and not args.quick_imports
        and args.time_scale == 1.0
        and args.job_duration == 150.0
        and args.poll_interval == 30.0
        and args.baseline_max_n == 0
        and not args.skip_capacity
        and not args.profile
        and args.tls
        and not args.skip_micro
        and not args.skip_micro_other
        and args.stress_n == 10000
        and args.micro_calls == MICRO_CALLS
    )


def _plan(args: argparse.Namespace) -> list[RunSpec]:
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    transports = [x.strip() for x in args.transports.split(",") if x.strip()]
    poll_real = args.poll_interval / args.time_scale
    job_real = args.job_duration / args.time_scale
    budget = args.budget if args.budget is not None else job_real + 4 * poll_real + 20.0
    specs = []
    for n in sizes:
        for transport in transports:
            if transport != "ours" and args.baseline_max_n and n > args.baseline_max_n:
                continue
            specs.append(
                RunSpec(
                    transport,
                    n,
                    args.poll_interval,
                    args.job_duration,
                    args.time_scale,
                    budget,
                    profile=args.profile,
                )
            )
    if args.stress_n and "ours" in transports:
        # Same emulator clock, same polls per job: the real poll interval and job time divided by the factor.
        f = args.stress_factor
        specs.append(
            RunSpec(
                "ours",
                args.stress_n,
                args.poll_interval / f,
                args.job_duration / f,
                args.time_scale,
                (job_real + 4 * poll_real) / f + 20.0,
                suffix=f"@{f:g}x",
            )
        )
    return specs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir) if args.workdir else new_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    print(f"benchmark workdir (logs, raw results): {workdir}", flush=True)
    machine = machine_info(args.python)
    machine["loadavg_start"] = os.getloadavg()
    print(
        f"machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['ram_gib']} GiB; Python "
        f"{machine['python']}, Airflow {machine['airflow']}, aiohttp {machine['aiohttp']}",
        flush=True,
    )
    report: dict[str, Any] = {
        "machine": machine,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
        "params": {
            "sizes": args.sizes,
            "transports": args.transports,
            "baseline_max_n": args.baseline_max_n,
            "poll_interval": args.poll_interval,
            "job_duration": args.job_duration,
            "time_scale": args.time_scale,
            "tls": args.tls,
            "poll_real": args.poll_interval / args.time_scale,
            "job_real": args.job_duration / args.time_scale,
            "micro_calls": args.micro_calls,
        },
        "runs": [],
        "imports": None,
        "errors": [],
    }

    specs = [] if args.skip_capacity else _plan(args)
    emulator: EmulatorProcess | None = None
    workers: list[Worker] = []
    try:
        if not args.quick_imports and not args.skip_imports:
            # First, alone on the machine (as alone as a shared machine allows): the import timings.
            print(f"import cost: {args.import_runs} fresh processes per set ...", flush=True)
            report["imports"] = measure_imports(args.python, workdir, runs=args.import_runs)
        if specs:
            emulator = EmulatorProcess(args.python, args.time_scale, workdir, tls=args.tls)
            emulator.start()
            print(
                f"emulator pid {emulator.pid} at {emulator.url} (time scale {args.time_scale:g})", flush=True
            )
            if not args.skip_micro:  # before the workers start: nothing else runs while it measures
                print(f"per-call CPU micro-benchmark ({len(MICRO_CASES)} processes) ...", flush=True)
                report["micro_tls" if args.tls else "micro"] = run_micro(
                    emulator, args.python, workdir, calls=args.micro_calls
                )
                if not args.skip_micro_other:
                    # Both protocols: over HTTPS a new session per request also pays a TLS handshake.
                    other_dir = workdir / ("micro-http" if args.tls else "micro-tls")
                    other_dir.mkdir(exist_ok=True)
                    print(
                        f"per-call CPU micro-benchmark over {'HTTP' if args.tls else 'HTTPS'} ...", flush=True
                    )
                    with EmulatorProcess(args.python, args.time_scale, other_dir, tls=not args.tls) as other:
                        report["micro" if args.tls else "micro_tls"] = run_micro(
                            other, args.python, other_dir, calls=args.micro_calls
                        )
            # Every worker starts now and imports in parallel; each then idles until its turn.
            workers = [start_worker(spec, emulator, args.python, workdir, i) for i, spec in enumerate(specs)]
        if args.quick_imports:
            report["imports"] = {"quick": check_imports(args.python, workdir)}
        for index, worker in enumerate(workers):
            spec = worker.spec
            assert emulator is not None
            print(
                f"[{index + 1}/{len(workers)}] {spec.label} N={spec.n}: poll {spec.poll_real:g} s, "
                f"job {spec.job_real:g} s (real) ...",
                flush=True,
            )
            try:
                result = run_one(worker, emulator, workdir)
            except Exception as err:  # keep going: one failed run must not lose the others
                report["errors"].append(f"{spec.label} N={spec.n}: {err}")
                print(f"    FAILED: {err}", flush=True)
                continue
            report["runs"].append(result)
            print(
                f"    correct {result['correct']}/{result['n']}, lag p99 {result['lag_p99_ms']:.1f} ms, "
                f"{result['rss_per_trigger_kb']:.1f} KB/trigger, {result['cpu_ms_per_poll']:.3f} CPU ms/poll,"
                f" {result['rps']:.0f} req/s, CPU wait {result['runq_wait']:.0%}",
                flush=True,
            )
    finally:
        for worker in workers:
            stop_worker(worker)
        if emulator is not None:
            emulator.stop()

    report["elapsed_s"] = time.time() - started
    report["machine"]["loadavg_end"] = os.getloadavg()
    report["targets"] = targets(report)
    print()
    print(render_table(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2, default=str))
    results_path = None if args.no_results else (args.results or (RESULTS if _is_default_run(args) else None))
    if results_path:
        path = Path(results_path)
        existing = path.read_text() if path.exists() else ""
        path.write_text(render_markdown(report, existing))
        print(f"\nwrote {path}")
    elif not args.no_results:
        print(f"\n(not a full default run: {RESULTS.relative_to(REPO)} left unchanged; use --results PATH)")
    failed = bool(report["errors"]) or any(
        not r["all_correct"] for r in report["runs"] if r["transport"] == "ours"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
