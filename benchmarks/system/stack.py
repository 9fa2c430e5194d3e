"""The processes of the system benchmark: the emulator, the metadata database and Airflow's services.

Everything listens on 127.0.0.1 only and is started in its own process group; :meth:`Stack.stop` stops each
by its PID/process group (SIGTERM, then SIGKILL), then any leftover descendant by PID. It runs on success,
on failure and on Ctrl-C/SIGTERM (see ``run.py``).

* the emulator: ``benchmarks.system.emulator_server`` over HTTPS with a throwaway certificate, one port per
  client (task processes, triggerer, orchestrator);
* the database: PostgreSQL from Debian's packages when ``tests/distributed/dist_env.py`` (the distributed
  harness) is there to start it, else SQLite;
* Airflow 3.3: api-server, scheduler (LocalExecutor: its workers and task processes are its children),
  dag-processor and triggerer, from the benchmark's own venv (``venv.py``), in a throwaway AIRFLOW_HOME.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BENCH_API_KEY,
    BENCH_CREDENTIAL_ID,
    BENCH_CREDENTIAL_SECRET,
    REPO,
    conn_json,
)
from benchmarks.system.procs import descendants

HERE = Path(__file__).resolve().parent
DAG_TEMPLATE = HERE / "dags" / "sysbench_template.py"
DAG_MODES = ("poke", "reschedule", "deferrable", "sft", "capacity")
LISTENERS = ("worker", "triggerer", "control")

for _path in (REPO / "tests", REPO / "tests" / "distributed"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from airflow_harness import AirflowEnv, Service, free_port  # noqa: E402


def load_postgres() -> tuple[Any, Any] | None:
    """``(Postgres, postgres_bin)`` from the distributed harness, or None if it is not there."""
    try:
        from dist_env import Postgres, postgres_bin  # type: ignore[import-not-found]
    except Exception:  # any failure to import means: no harness to reuse
        return None
    return Postgres, postgres_bin


def _wait(
    what: str, check: Callable[[], Any], timeout: float, alive: Callable[[], None] | None = None
) -> Any:
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if alive is not None:
            alive()
        if time.time() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


class Emulator:
    """``benchmarks.system.emulator_server`` in its own process group."""

    def __init__(self, python: str, workdir: Path) -> None:
        self.python = python
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.urls: dict[str, str] = {}
        self.pid = 0
        self.ca_file = ""
        self.log_path = workdir / "emulator.log"

    def start(self, timeout: float = 60) -> None:
        ready = self.workdir / "emulator.ready.json"
        ready.unlink(missing_ok=True)
        scenario = self.workdir / "emulator-scenario.json"
        scenario.write_text(json.dumps({"time_scale": 1.0, "clusters": []}))
        cmd = [
            self.python, "-m", "benchmarks.system.emulator_server", "--listeners", ",".join(LISTENERS),
            "--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready), "--scenario", str(scenario),
            "--no-record", "--quiet",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env["PYTHONPATH"] = str(REPO)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=str(REPO), env=env,
            )  # fmt: skip

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited: {self.log_path.read_text()[-2000:]}")
            return ready.exists()

        _wait("the emulator", up, timeout)
        info = json.loads(ready.read_text())
        self.urls, self.pid, self.ca_file = info["urls"], int(info["pid"]), info["ca_path"]

    def session(self) -> Any:
        import requests

        s = requests.Session()
        s.verify = self.ca_file
        s.trust_env = False
        return s

    def stop(self) -> None:
        _stop_group(self.proc, grace=10)


def _stop_group(proc: subprocess.Popen[Any] | None, grace: float, sig: int = signal.SIGTERM) -> None:
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


class BenchAirflow(AirflowEnv):
    """:class:`AirflowEnv` with a per-service environment (each service's own emulator port)."""

    service_env: dict[str, dict[str, str]]

    def start_service(self, name: str, args: list[str], env: dict[str, str]) -> Service:
        log_path = self.home / f"{name}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [str(self.bin / "airflow"), *args],
                env={**self.env(), **env},
                cwd=self.home, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        service = Service(name, proc, log_path)
        self.services.append(service)
        return service


class Stack:
    """Emulator + database + Airflow, as configured by ``settings`` (see :meth:`airflow_settings`)."""

    def __init__(
        self, python: str, workdir: Path, db: str, settings: dict[str, str], log: Callable[[str], None]
    ):
        self.python = python
        self.workdir = workdir
        self.db_kind = db
        self.settings = settings
        self.say = log
        self.emulator = Emulator(python, workdir)
        self.postgres: Any = None
        self.pg_root: Path | None = None
        self.airflow: BenchAirflow | None = None
        self.services: dict[str, Service] = {}

    # --- start -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self.emulator.start()
        self.say(f"emulator pid {self.emulator.pid}: {self.emulator.urls}")
        db_url = self._start_db()
        home = self.workdir / "airflow-home"
        dags = home / "dags"
        dags.mkdir(parents=True, exist_ok=True)
        for mode in DAG_MODES:
            shutil.copy(DAG_TEMPLATE, dags / f"sysbench_{mode}.py")
        ca = self.emulator.ca_file
        control = conn_json(self.emulator.urls["control"], ca)
        self.airflow = BenchAirflow(
            self.python,
            home,
            dags_folder=dags,
            extra_env={
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
                "AIRFLOW_CONN_HADOOP_ECO_DEFAULT": control,
                **self.settings,
            },
        )
        self.airflow.migrate()
        self.say("airflow db migrate done")
        urls = self.emulator.urls
        plan = [
            ("api-server", ["api-server"], control),
            ("dag-processor", ["dag-processor"], control),
            ("scheduler", ["scheduler", "--skip-serve-logs"], conn_json(urls["worker"], ca)),
            ("triggerer", ["triggerer", "--skip-serve-logs"], conn_json(urls["triggerer"], ca)),
        ]
        for name, args, conn in plan:
            self.services[name] = self.airflow.start_service(
                name, args, {"AIRFLOW_CONN_HADOOP_ECO_DEFAULT": conn}
            )
        self.airflow.wait_healthy(timeout=180)
        import requests

        # The execution API is built on its first request (~10 s): warm it before any task calls it.
        requests.get(f"{self.airflow.api_url}/execution/health", timeout=180)
        self.say(
            f"airflow services up: {', '.join(f'{n} pid {s.proc.pid}' for n, s in self.services.items())}"
        )

    def _start_db(self) -> str:
        if self.db_kind == "postgres":
            loaded = load_postgres()
            if loaded is None:
                raise SystemExit(
                    "--db postgres needs tests/distributed/dist_env.py (the distributed harness)"
                )
            postgres_cls, postgres_bin = loaded
            pg_bin = postgres_bin()
            if pg_bin is None:
                raise SystemExit("--db postgres: no initdb (apt-get install postgresql)")
            # Reachable by the postgres user (the server refuses to run as root): not under a private dir.
            self.pg_root = Path(tempfile.mkdtemp(prefix="hadoop-eco-sysbench-pg-"))
            self.postgres = postgres_cls(pg_bin, self.pg_root, port=free_port())
            self.postgres.start()
            self.say(f"PostgreSQL pid {self.postgres.proc.pid} on 127.0.0.1:{self.postgres.port}")
            return str(self.postgres.url)
        return f"sqlite:///{self.workdir / 'airflow-home' / 'airflow.db'}"

    # --- while running -----------------------------------------------------------------------------------
    def assert_alive(self) -> None:
        for name, service in self.services.items():
            if service.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {service.proc.returncode}:\n{service.log()[-3000:]}")
        if self.emulator.proc is not None and self.emulator.proc.poll() is not None:
            raise RuntimeError("the emulator exited")

    def pid(self, name: str) -> int:
        return self.services[name].proc.pid

    def component_pids(self) -> dict[str, int]:
        pids = {name: s.proc.pid for name, s in self.services.items()}
        pids["emulator"] = self.emulator.pid
        if self.postgres is not None and self.postgres.proc is not None:
            pids["postgres"] = self.postgres.proc.pid
        return pids

    def api(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        assert self.airflow is not None
        return self.airflow.api(method, path, body, timeout=120, ok=ok)

    # --- stop ------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every process started here, by PID/process group; never raises."""
        leftovers: list[int] = []
        if self.airflow is not None:
            for service in self.airflow.services:
                with contextlib.suppress(Exception):
                    leftovers.extend(descendants(service.proc.pid))
            with contextlib.suppress(Exception):
                self.airflow.stop_all(grace=20)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.emulator.stop()
        if self.postgres is not None:
            with contextlib.suppress(Exception):
                self.postgres.stop()
        if self.pg_root is not None:
            shutil.rmtree(self.pg_root, ignore_errors=True)


def emulator_headers() -> dict[str, str]:
    return {
        "Credential-ID": BENCH_CREDENTIAL_ID,
        "Credential-Secret": BENCH_CREDENTIAL_SECRET,
        "Hadoop-Eco-Api-Key": BENCH_API_KEY,
        "Content-Type": "application/json",
    }


def cluster_config(cluster_id: str, duration: float, outcome: str) -> dict[str, Any]:
    return {
        "cluster_id": cluster_id,
        "name": f"sysbench-{cluster_id}",
        "job_type": "hive",
        "credential_id": BENCH_CREDENTIAL_ID,
        "credential_secret": BENCH_CREDENTIAL_SECRET,
        "api_key": BENCH_API_KEY,
        "duration": duration,
        "outcomes": [outcome],
    }
