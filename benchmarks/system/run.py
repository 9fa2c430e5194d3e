"""System benchmark: the four ways to wait, on real Airflow 3.3 processes, against the emulator.

``python -m benchmarks.system`` starts PostgreSQL (or SQLite), the emulator (HTTPS, its own process) and
Airflow's api-server, scheduler (LocalExecutor), dag-processor and triggerer, then runs one phase per mode,
one after the other on the same services: N waits (create -> sensor pairs) in poke, reschedule, classic
deferrable and ``start_from_trigger`` mode, each measured as described in ``phases.py``. ``--capacity N``
adds a phase of N sensors started from the triggerer at the production poll interval, in one triggerer.

Every process is started here in its own process group and stopped by PID at the end, also on failure,
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, machine_info
from benchmarks.system.phases import Phase, PhaseSpec
from benchmarks.system.procs import WorkerSampler
from benchmarks.system.stack import Stack, load_postgres
from benchmarks.system.venv import ensure_venv

MODES = ("poke", "reschedule", "deferrable", "sft")
RUN_ORDER = ("deferrable", "sft", "reschedule", "poke")
AIRFLOW_VERSION = "3.3.2"
RESULTS = REPO / "benchmarks" / "RESULTS.md"

#: ``--smoke``: every mode, a few minutes in all. Reschedule polls every 15 s: at a 5 s poke interval on a
#: loaded machine, Airflow re-queues a rescheduled sensor before its previous run's end is processed and
#: then fails it ("finished with state success, but the task instance's state attribute is queued").
SMOKE = {
    "n": 10,
    "pairs": 5,
    "poll": 5.0,
    "poll_reschedule": 15.0,
    "job_min": 25.0,
    "job_max": 35.0,
    "failure_every": 5,
    "phase_timeout": 240.0,
    "warmup": False,
    "idle_seconds": 10.0,
    "quiet_wait": 0.0,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.system",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="the smoke size: 10 waits per mode, poll 5 s, jobs 20-30 s "
        "(a few minutes; what tests/bench/test_system_smoke.py runs)",
    )
    p.add_argument(
        "--modes", default=",".join(RUN_ORDER), help="modes, run in this order (default: %(default)s)"
    )
    p.add_argument("--n", type=int, default=1000, help="waits per mode (default: %(default)s)")
    p.add_argument("--n-poke", type=int, default=None, help="waits in poke mode (default: --n)")
    p.add_argument("--n-reschedule", type=int, default=None, help="waits in reschedule mode (default: --n)")
    p.add_argument(
        "--pairs", type=int, default=10, help="create -> sensor pairs per DAG run (default: %(default)s)"
    )
    p.add_argument(
        "--poll", type=float, default=30.0, help="the sensors' poke_interval, seconds (default: %(default)s)"
    )
    p.add_argument(
        "--poll-reschedule",
        type=float,
        default=None,
        help="poke_interval of the reschedule sensors (default: --poll)",
    )
    p.add_argument(
        "--idle-seconds",
        type=float,
        default=60.0,
        help="measure every component's idle CPU for this long before the first phase (default: %(default)s)",
    )
    p.add_argument(
        "--job-min", type=float, default=240.0, help="shortest job, seconds (default: %(default)s)"
    )
    p.add_argument("--job-max", type=float, default=360.0, help="longest job, seconds (default: %(default)s)")
    p.add_argument(
        "--failure-every",
        type=int,
        default=10,
        help="every k-th job ends in Failure (default: %(default)s; 0: none)",
    )
    p.add_argument(
        "--parallelism", type=int, default=32, help="[core] parallelism: worker slots (default: %(default)s)"
    )
    p.add_argument(
        "--phase-timeout",
        type=float,
        default=2700.0,
        help="give up on a phase after this many seconds (default: %(default)s)",
    )
    p.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="skip the unmeasured warm-up phase (a few deferrable waits before the first phase)",
    )
    p.add_argument(
        "--quiet-load",
        type=float,
        default=4.0,
        help="before each phase, wait until the 1-minute load average is below this (default: %(default)s) ...",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=600.0,
        help="... for at most this many seconds, then start anyway (default: %(default)s; 0: never wait)",
    )
    p.add_argument(
        "--capacity",
        type=int,
        default=0,
        help="also run a capacity phase: this many sensors started from the triggerer (0: none)",
    )
    p.add_argument("--capacity-only", action="store_true", help="run only the capacity phase")
    p.add_argument(
        "--capacity-per-run", type=int, default=20, help="sensors per capacity DAG run (default: %(default)s)"
    )
    p.add_argument(
        "--capacity-job-min",
        type=float,
        default=300.0,
        help="capacity phase: shortest job (default: %(default)s)",
    )
    p.add_argument(
        "--capacity-job-max",
        type=float,
        default=600.0,
        help="capacity phase: longest job (default: %(default)s)",
    )
    p.add_argument(
        "--db",
        choices=["auto", "postgres", "sqlite"],
        default="auto",
        help="metadata database (auto: PostgreSQL when the distributed harness and initdb are there)",
    )
    p.add_argument(
        "--python", help="the Airflow venv's python (default: build/reuse .venvs/system-bench-airflow-*)"
    )
    p.add_argument(
        "--provider-ref", default="HEAD", help="git commit of the provider to install (default: HEAD)"
    )
    p.add_argument(
        "--workdir", help="AIRFLOW_HOME, logs and raw results go here (default: a new temp folder)"
    )
    p.add_argument("--json", dest="json_out", help="write the report (JSON) here too")
    p.add_argument(
        "--results",
        action="store_true",
        help=f"write the figures into {RESULTS.relative_to(REPO)} (its system benchmark block)",
    )
    p.add_argument(
        "--from-json", help="render this saved report.json again (with --results: into RESULTS.md)"
    )
    p.add_argument(
        "--keep", action="store_true", help="keep the workdir (default: removed unless a phase failed)"
    )
    args = p.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    return args


def _db_kind(choice: str) -> str:
    if choice != "auto":
        return choice
    loaded = load_postgres()
    return "postgres" if loaded is not None and loaded[1]() is not None else "sqlite"


def settings_for(args: argparse.Namespace, largest: int) -> dict[str, str]:
    """The Airflow settings of the run (everything else is Airflow's default)."""
    return {
        "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
        # Pool slots never bind (parallelism does): the default pool is 128 slots otherwise.
        "AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT": "100000",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__TRIGGERER__CAPACITY": str(max(1000, largest + 1000)),
        # On a saturated 2-core host an execution-API call can take seconds (see tests/distributed).
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "7200",
        "AIRFLOW__API__MAXIMUM_PAGE_LIMIT": "1000",
        # 32 task processes call the execution API at once: the default pool (5 + 10) ran dry.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "10",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "40",
        # A CPU-starved scheduler missed its 30 s health threshold, counted itself dead and reset its own 32
        # running tasks; the same for the triggerer's triggers. Shared 2-core host: wider margins.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "180",
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "180",
        # Airflow's defaults again where the test harness shortens them.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "5",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "5",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "300",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "SYSBENCH_PAIRS": str(args.pairs),
        "SYSBENCH_CAPACITY_SENSORS": str(args.capacity_per_run),
        "SYSBENCH_POKE_INTERVAL": repr(args.poll),
        "SYSBENCH_POKE_INTERVAL_RESCHEDULE": repr(args.poll_reschedule or args.poll),
    }


class _Stop(Exception):
    pass


def _on_signal(signum: int, frame: Any) -> None:
    raise _Stop(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        # Render a saved report again (tables, and the RESULTS.md block with --results); runs nothing.
        from benchmarks.system.render import render_tables, update_results

        saved = json.loads(Path(args.from_json).read_text())
        if args.results:
            update_results(RESULTS, saved)
        print(render_tables(saved))
        return 0
    signal.signal(signal.SIGTERM, _on_signal)
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="hadoop-eco-sysbench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log_file = (workdir / "run.log").open("a")

    def say(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    modes = [] if args.capacity_only else [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown modes {unknown}; known: {', '.join(MODES)}")
    sizes = {m: args.n for m in modes}
    if args.n_poke is not None and "poke" in sizes:
        sizes["poke"] = args.n_poke
    if args.n_reschedule is not None and "reschedule" in sizes:
        sizes["reschedule"] = args.n_reschedule
    capacity = args.capacity if (args.capacity or args.capacity_only) else 0
    if args.capacity_only and not capacity:
        raise SystemExit("--capacity-only needs --capacity N")

    command = "python -m benchmarks.system " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    say(f"workdir {workdir}")
    python, commit = (
        (args.python, "") if args.python else ensure_venv(AIRFLOW_VERSION, args.provider_ref, say)
    )
    db = _db_kind(args.db)
    report: dict[str, Any] = {
        "command": command.strip(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": machine_info(python),
        "provider_commit": commit,
        "db": db,
        "executor": "LocalExecutor",
        "params": {k: v for k, v in vars(args).items() if k not in ("json_out",)},
        "sizes": sizes,
        "settings": settings_for(args, max([capacity, *sizes.values(), 0])),
        "phases": {},
        "errors": [],
    }
    report["machine"]["loadavg_start"] = os.getloadavg()
    started = time.time()
    stack = Stack(python, workdir, db, report["settings"], say)
    sampler: WorkerSampler | None = None
    failed = False
    try:
        stack.start()
        for dag_id in (
            "sysbench_poke",
            "sysbench_reschedule",
            "sysbench_deferrable",
            "sysbench_sft",
            "sysbench_capacity",
        ):
            _wait_dag(stack, dag_id)
        say("DAGs parsed")
        sampler = WorkerSampler(stack.pid("scheduler"))
        sampler.start()
        time.sleep(3)
        if args.warmup:
            # Unmeasured: the first tasks and triggers of each kind import modules and fill caches (the
            # triggerer's first start_from_trigger tasks add ~90 MB once); measured phases start warm.
            for mode in ("deferrable", "sft"):
                warm = PhaseSpec(
                    mode, args.pairs, args.pairs, args.poll, 20.0, 25.0, 0, 900.0, label=f"warmup{mode}"
                )
                result = Phase(stack, sampler, warm, say).run()
                problems = "; ".join(result["problems"][:3])
                say(f"warm-up {mode}: {'ok' if result['all_right'] else 'NOT OK: ' + problems}")
        if args.idle_seconds > 0:
            report["idle"] = measure_idle(stack, sampler, args.idle_seconds)
            say(
                "idle CPU per second: "
                + ", ".join(f"{k} {v:.3f}" for k, v in report["idle"]["cpu_per_second"].items())
            )
        for mode in modes:
            poll = (args.poll_reschedule or args.poll) if mode == "reschedule" else args.poll
            spec = PhaseSpec(
                mode, sizes[mode], args.pairs, poll, args.job_min, args.job_max, args.failure_every,
                args.phase_timeout,
            )  # fmt: skip
            report.setdefault("quiet_waits", {})[mode] = wait_quiet(stack, args, say)
            result = Phase(stack, sampler, spec, say).run()
            report["phases"][mode] = result
            say(_summary_line(mode, result))
            _write_json(report, workdir, args)
        if capacity:
            spec = PhaseSpec(
                "capacity", capacity, args.capacity_per_run, args.poll, args.capacity_job_min,
                args.capacity_job_max, args.failure_every, max(args.phase_timeout, args.capacity_job_max + 3600),
            )  # fmt: skip
            report.setdefault("quiet_waits", {})["capacity"] = wait_quiet(stack, args, say)
            result = Phase(stack, sampler, spec, say).run()
            report["phases"]["capacity"] = result
            say(_summary_line("capacity", result))
    except (KeyboardInterrupt, _Stop) as exc:
        failed = True
        report["errors"].append(f"interrupted: {exc!r}")
        say(f"interrupted: {exc!r}")
    except Exception as exc:
        failed = True
        report["errors"].append(f"{type(exc).__name__}: {exc}")
        say("ERROR " + traceback.format_exc())
    finally:
        if sampler is not None:
            try:
                sampler.stop()
            except Exception as exc:
                report["errors"].append(f"sampler: {exc!r}")
        say("stopping every process started here")
        stack.stop()
        report["elapsed_seconds"] = time.time() - started
        report["machine"]["loadavg_end"] = os.getloadavg()
        _write_json(report, workdir, args)
    failed = failed or not all(p.get("all_right") for p in report["phases"].values())
    if args.results and report["phases"]:
        from benchmarks.system.render import update_results

        update_results(RESULTS, report)
        say(f"figures written to {RESULTS}")
    from benchmarks.system.render import render_tables

    print(render_tables(report), flush=True)
    say(f"done in {report['elapsed_seconds']:.0f} s; report {workdir / 'report.json'}")
    if not failed and not args.keep and not args.workdir:
        import shutil

        log_file.close()
        shutil.rmtree(workdir / "airflow-home", ignore_errors=True)
    return 1 if failed else 0


def wait_quiet(stack: Stack, args: argparse.Namespace, say: Any) -> float:
    """Wait (at most ``--quiet-wait`` s) for the shared machine's load to fall below ``--quiet-load``."""
    started = time.time()
    if args.quiet_wait <= 0:
        return 0.0
    while os.getloadavg()[0] >= args.quiet_load and time.time() - started < args.quiet_wait:
        stack.assert_alive()
        time.sleep(10)
    waited = time.time() - started
    if waited > 1:
        say(f"waited {waited:.0f} s for a quieter machine (load now {os.getloadavg()[0]:.1f})")
    return waited


def measure_idle(stack: Stack, sampler: WorkerSampler, seconds: float) -> dict[str, Any]:
    """Every component's CPU while no task runs and no trigger waits: the floor under each phase's figures."""
    from benchmarks.system.phases import Phase as _Phase

    probe = _Phase(
        stack, sampler, PhaseSpec("deferrable", 0, 1, 0, 0, 0, 0, 0, label="idle"), lambda _m: None
    )
    before = probe._components()
    time.sleep(seconds)
    after = probe._components()
    wall = after["time"] - before["time"]
    names = [k for k in after if k not in ("time", "loadavg", "triggerer_rss")]
    return {
        "seconds": wall,
        "cpu_per_second": {k: (after[k] - before[k]) / wall for k in names},
        "triggerer_rss": after.get("triggerer_rss"),
        "loadavg": after["loadavg"],
    }


def _wait_dag(stack: Stack, dag_id: str, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        stack.assert_alive()
        if stack.api("GET", f"/api/v2/dags/{dag_id}", ok=(404,)).get("dag_id") == dag_id:
            return
        time.sleep(1)
    raise RuntimeError(f"DAG {dag_id} not parsed after {timeout:.0f} s")


def _summary_line(mode: str, r: dict[str, Any]) -> str:
    lat = r["latency"]["success"]
    return (
        f"[{mode}] {'ALL RIGHT' if r['all_right'] else 'PROBLEMS ' + str(r['problem_count'])}: n={r['n']} "
        f"wall {r['wall_seconds']:.0f}s worker cpu/wait {r['worker_cpu']['all']['mean']:.3f}s "
        f"slot-s/wait {r['worker_slot_seconds']['all']['mean']:.1f} latency p50/p99 {lat['p50']:.1f}/{lat['p99']:.1f}s "
        f"scheduler cpu {r['cpu']['scheduler']:.0f}s triggerer cpu {r['cpu']['triggerer']:.0f}s"
    )


def _write_json(report: dict[str, Any], workdir: Path, args: argparse.Namespace) -> None:
    text = json.dumps(report, indent=1, default=str)
    (workdir / "report.json").write_text(text)
    if args.json_out:
        Path(args.json_out).write_text(text)


if __name__ == "__main__":
    sys.exit(main())
