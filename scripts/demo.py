"""``make demo``: run the Hive example DAG on real Airflow against the local Hadoop Eco emulator.

Run it with the Airflow 3.3 venv's interpreter (``.venvs/airflow-3.3.2/bin/python scripts/demo.py``). It:

1. makes a throwaway AIRFLOW_HOME with SQLite under ``.demo/`` in the repository (wiped at each run);
2. starts ``hadoop-eco-emulator`` (from the same venv) as a subprocess with a one-cluster scenario: a Hive job
   of 20 emulated seconds at 4x speed (5 real seconds) that ends in Success;
3. points ``AIRFLOW_CONN_HADOOP_ECO_DEFAULT`` at it, runs ``airflow db migrate`` and
   ``airflow dags test example_hadoop_eco_hive`` (poll interval 1 s), with Airflow's output in a log file;
4. prints a short summary: cluster, request id, statuses seen, result, times, where the logs are.

Everything it starts is stopped by process group, also on errors, Ctrl-C and SIGTERM. The exit code is
non-zero when the DAG run failed; the end of Airflow's output is shown then.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAG_ID = "example_hadoop_eco_hive"
CLUSTER_ID = "58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf"
CLUSTER_NAME = "demo-hive-cluster"
# Demo-only credentials: the emulator checks them like the real API does.
CREDENTIAL_ID = "demo-access-key"
CREDENTIAL_SECRET = "demo-secret-key"
API_KEY = "demo-open-api-key"

# The provider's status lines (operator, sensor, trigger):
# "Hadoop Eco cluster <name> (<id>), request <req>: <status>[/<result>] after N s"
STATUS_LINE = re.compile(r"Hadoop Eco cluster \S+ \([^)]+\), request \S+: (?P<label>\S+)")
# The exception that failed a task: the last line of its traceback.
EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?(?P<exc>\w+(?:Error|Exception|Timeout)): (?P<msg>.+)$", re.M)
# Signs in Airflow's output that the sensor deferred and the trigger ran (Airflow 3, the trigger's event).
DEFERRAL_SIGNS = ("Pausing task as DEFERRED", "running trigger in line", "succeeded after")
# How the provider's own task-log lines begin (operator, sensor and trigger), shown in the summary.
PROVIDER_LINES = (
    "Started Hadoop Eco job",
    "Settings sent:",
    "Deferring to the triggerer",
    "Hadoop Eco cluster ",
    "Hadoop Eco request ",
)
# What follows a message in Airflow 3's console format: "[logger.name] loc=file.py:123".
LOG_SUFFIX = re.compile(r"\s+\[[\w.]+\](?:\s+\w+=\S+)*\s*$")
#: The emulator's dialect for each region: the demo serves only the region's own, to show which paths it uses.
DIALECTS = {"kr-central-1": "v1", "kr-central-2": "v2"}


class Demo:
    """The demo's files and processes: the emulator subprocess and the airflow command being run."""

    def __init__(
        self, workdir: Path, duration: float, time_scale: float, outcome: str, region: str = "kr-central-1"
    ) -> None:
        self.workdir = workdir
        self.home = workdir / "airflow-home"
        self.airflow_log = workdir / "airflow-output.log"
        self.emulator_log = workdir / "emulator.log"
        self.duration = duration
        self.time_scale = time_scale
        self.outcome = outcome
        self.region = region
        self.emulator: subprocess.Popen[bytes] | None = None
        self.current: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start_emulator(self) -> None:
        """Start ``hadoop-eco-emulator`` with a one-cluster scenario and wait for its ready file."""
        scenario = {
            "time_scale": self.time_scale,
            "clusters": [
                {
                    "cluster_id": CLUSTER_ID,
                    "name": CLUSTER_NAME,
                    "job_type": "hive",
                    "credential_id": CREDENTIAL_ID,
                    "credential_secret": CREDENTIAL_SECRET,
                    "api_key": API_KEY,
                    "duration": self.duration,
                    "outcomes": [self.outcome],
                }
            ],
        }
        scenario_file = self.workdir / "scenario.json"
        scenario_file.write_text(json.dumps(scenario, indent=2))
        ready = self.workdir / "emulator-ready.json"
        with self.emulator_log.open("wb") as log:
            self.emulator = subprocess.Popen(
                [str(BIN / "hadoop-eco-emulator"), "--host", "127.0.0.1", "--port", "0",
                 "--ready-file", str(ready), "--scenario", str(scenario_file),
                 "--dialect", DIALECTS[self.region]],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.workdir,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.emulator.poll() is None:
            if ready.exists() and ready.stat().st_size:
                self.url = json.loads(ready.read_text())["url"]
                return
            time.sleep(0.05)
        log_text = self.emulator_log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the emulator did not start:\n{log_text}")

    def env(self) -> dict[str, str]:
        """Airflow's environment: throwaway home, SQLite, the example DAGs, the connection to the emulator."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        connection = {
            "conn_type": "hadoop_eco",
            "host": self.url,
            "login": CREDENTIAL_ID,
            "password": CREDENTIAL_SECRET,
            "extra": {"api_key": API_KEY, "region": self.region},
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW_CONN_HADOOP_ECO_DEFAULT": json.dumps(connection),
                "HADOOP_ECO_HIVE_CLUSTER_ID": CLUSTER_ID,
                "HADOOP_ECO_EXAMPLE_POLL_INTERVAL": "1",
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def airflow(self, *args: str, timeout: float) -> int:
        """Run the airflow CLI with its output appended to the log file; return its exit code."""
        with self.airflow_log.open("ab") as log:
            log.write(f"\n$ airflow {' '.join(args)}\n".encode())
            log.flush()
            self.current = subprocess.Popen(
                [str(BIN / "airflow"), *args],
                env=self.env(), cwd=self.home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            try:
                return self.current.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.write(f"\n[demo] timed out after {timeout:.0f} s\n".encode())
                return 124
            finally:
                stop_group(self.current)
                self.current = None

    def admin(self, path: str) -> Any:
        """GET one of the emulator's admin endpoints, ``/_emulator/<path>``."""
        with urllib.request.urlopen(f"{self.url}/_emulator/{path}", timeout=5) as response:
            return json.load(response)

    def stop_all(self) -> None:
        """Stop the airflow command still running (if any) and the emulator, by process group."""
        stop_group(self.current, grace=5)
        self.current = None
        stop_group(self.emulator, sig=signal.SIGINT, grace=5)


def stop_group(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, grace: float = 10) -> None:
    """Stop a process started with ``start_new_session=True`` and its whole group: ``sig``, then SIGKILL."""
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, sig)
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers left in the group
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def statuses_seen(output: str) -> list[str]:
    """The distinct statuses the provider logged, in order (e.g. Pending, Running, Terminate/Success)."""
    seen: list[str] = []
    for match in STATUS_LINE.finditer(output):
        if match.group("label") not in seen:
            seen.append(match.group("label"))
    return seen


def provider_lines(output: str) -> list[str]:
    """The provider's own task-log messages, in order, without Airflow's prefixes and suffixes."""
    lines: list[str] = []
    for line in output.splitlines():
        starts = [line.find(p) for p in PROVIDER_LINES if p in line]
        if starts:
            message = LOG_SUFFIX.sub("", line[min(starts) :]).strip()
            if message not in lines:
                lines.append(message)
    return lines


def color(text: str, code: str) -> str:
    """``text`` in an ANSI colour when printing to a terminal and NO_COLOR is unset."""
    return f"\033[{code}m{text}\033[0m" if sys.stdout.isatty() and not os.environ.get("NO_COLOR") else text


def rel(path: Path) -> str:
    """``path`` relative to the current directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def show_tail(path: Path, lines: int = 40) -> None:
    """Print the end of a log file to stderr."""
    if not path.exists():
        return
    tail = path.read_text(errors="replace").splitlines()[-lines:]
    print(f"--- last {len(tail)} lines of {rel(path)} ---", file=sys.stderr)
    print("\n".join(tail), file=sys.stderr)
    print("---", file=sys.stderr)


def summarize(demo: Demo, code: int, dag_seconds: float, total_seconds: float) -> None:
    """Print what happened, from the emulator's state and request record and from Airflow's output."""
    state = demo.admin("state")
    records = demo.admin("requests")
    records = records.get("requests", []) if isinstance(records, dict) else records
    output = demo.airflow_log.read_text(errors="replace")
    clusters: list[dict[str, Any]] = state.get("clusters", [])
    cluster = next((c for c in clusters if c.get("cluster_id") == CLUSTER_ID), {})
    jobs = cluster.get("jobs") or []
    job = jobs[-1] if jobs else {}
    posts = [r for r in records if r.get("method") == "POST"]
    gets = [r for r in records if r.get("method") == "GET"]
    seen = statuses_seen(output)
    deferred = any(sign in output for sign in DEFERRAL_SIGNS)
    result = job.get("requestResult") or "(none)"
    name, job_type = cluster.get("name", CLUSTER_NAME), cluster.get("job_type", "hive")
    print()
    print(f"  cluster        {CLUSTER_ID} ({name}, {job_type} job)")
    print(f"  request id     {job.get('requestId', '(no job was started)')}")
    if posts:
        print(f"  settings sent  {json.dumps(posts[0].get('body'))}")
    print(f"  statuses seen  {' -> '.join(seen) if seen else '(none logged)'}")
    calls = f"{len(posts)} POST, {len(gets)} GET"
    print(f"  API calls      {calls}" + ("  (the sensor deferred; the trigger polled)" if deferred else ""))
    print(f"  job result     {result}")
    ids = {CLUSTER_ID: "{cluster_id}", str(job.get("requestId")): "{request_id}"}
    pattern = "|".join(map(re.escape, ids))
    paths = sorted({re.sub(pattern, lambda m: ids[m[0]], str(r.get("path"))) for r in records})
    print(f"  region         {demo.region}: {', '.join(paths) if paths else '(no call)'}")
    lines = provider_lines(output)
    if lines:
        print("  provider log   " + "\n                 ".join(lines))
    if code != 0:
        reasons = EXCEPTION_LINE.findall(output)
        if reasons:
            exc, msg = reasons[-1]
            print(f"  failed with    {exc}: {msg[:300]}")
    print(f"  time taken     {total_seconds:.1f} s in all, {dag_seconds:.1f} s of it in `airflow dags test`")
    print(f"  logs           {rel(demo.airflow_log)} (Airflow's output, with the task logs)")
    print(f"                 {rel(demo.emulator_log)}, AIRFLOW_HOME {rel(demo.home)}/")
    print()
    if code == 0:
        print(color(f"PASSED: the DAG run of {DAG_ID} succeeded; the Hive job ended in {result}", "1;32"))
    else:
        show_tail(demo.airflow_log)
        message = f"FAILED: the DAG run of {DAG_ID} failed (airflow exit code {code}); job result: {result}"
        print(color(message, "1;31"))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit code (0 only when the DAG run succeeded)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=REPO / ".demo", help="the demo's files (wiped first)")
    parser.add_argument("--duration", type=float, default=20.0, help="emulated seconds the Hive job runs")
    parser.add_argument("--time-scale", type=float, default=4.0, help="emulated seconds per real second")
    parser.add_argument("--outcome", choices=["Success", "Failure"], default="Success", help="the job's end")
    parser.add_argument("--timeout", type=float, default=110.0, help="limit of `airflow dags test`, seconds")
    parser.add_argument(
        "--region",
        choices=sorted(DIALECTS),
        default=os.environ.get("REGION") or "kr-central-1",
        help="the connection's region; the emulator serves only that region's API dialect",
    )
    args = parser.parse_args(argv)

    # SIGTERM (e.g. from a CI runner) unwinds like Ctrl-C, so the `finally` stops what the demo started.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    workdir = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    demo = Demo(workdir, args.duration, args.time_scale, args.outcome, args.region)
    demo.home.mkdir()
    print(f"Hadoop Eco demo: `airflow dags test {DAG_ID}` against the local emulator, in {rel(workdir)}/")
    code = 1
    try:
        demo.start_emulator()
        pid = demo.emulator.pid if demo.emulator else "?"
        job = f"a {args.duration:g} s Hive job at {args.time_scale:g}x speed, region {args.region}"
        print(f"  emulator       {demo.url} (pid {pid}), {job}")
        print("  airflow db migrate ...", flush=True)
        if demo.airflow("db", "migrate", timeout=120) != 0:
            raise RuntimeError("`airflow db migrate` failed")
        print(f"  airflow dags test {DAG_ID} ...", flush=True)
        dag_started = time.monotonic()
        code = demo.airflow("dags", "test", DAG_ID, timeout=args.timeout)
        summarize(demo, code, time.monotonic() - dag_started, time.monotonic() - started)
    except KeyboardInterrupt:
        print(color("INTERRUPTED: stopping everything the demo started", "1;31"), file=sys.stderr)
        code = 130
    except Exception as exc:
        show_tail(demo.airflow_log)
        print(color(f"DEMO ERROR: {exc}", "1;31"), file=sys.stderr)
        code = code or 1
    finally:
        demo.stop_all()
    return code


if __name__ == "__main__":
    sys.exit(main())
