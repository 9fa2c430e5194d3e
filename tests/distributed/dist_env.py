"""The distributed topology of tests/distributed: PostgreSQL, Redis, the emulator and Airflow's processes.

Everything listens on 127.0.0.1 only, on free ports; every process is started in its own process group
with its PID recorded, and stopped by process group (then leftover descendants by PID) at the end.

* :func:`provider_wheel` and :func:`distributed_python`: the provider's wheel (``make dist``) installed into
  its own Airflow venv (``apache-airflow``, ``apache-airflow-providers-celery``, ``psycopg2-binary``),
  cached between runs by a stamp;
* :class:`Postgres` and :class:`Redis`: servers from Debian's packages, data in temp directories;
* :class:`EmulatorFrontends`: one emulator (one state: clusters, jobs, request record) served on one port
  per Airflow component, so that every recorded request names the process that sent it;
* :class:`Topology`: Airflow 3.3 with the CeleryExecutor, and helpers (REST API, SQL, process kills).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import fcntl
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from airflow_harness import REPO, AirflowEnv, Service, free_port

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"

AIRFLOW_VERSION = os.environ.get("HADOOP_ECO_DISTRIBUTED_AIRFLOW", "3.3.2")
#: What the distributed Airflow needs beside apache-airflow and the provider's wheel: the CeleryExecutor
#: (with the Redis client), and both PostgreSQL drivers: Airflow 3.3 opens its metadata database with
#: psycopg2 and, for its async engine, with asyncpg (without it no Airflow command starts on PostgreSQL).
EXTRA_PACKAGES = ("apache-airflow-providers-celery", "psycopg2-binary", "asyncpg")
VENV = REPO / ".venvs" / f"distributed-airflow-{AIRFLOW_VERSION}"
PROVIDER_DIST = "airflow-provider-hadoop-eco"

#: Seconds without a heartbeat after which a triggerer's triggers go to another triggerer.
TRIGGERER_HEALTH_CHECK_THRESHOLD = 10
#: Seconds without a task heartbeat after which the scheduler fails (and retries) a task whose worker died.
TASK_HEARTBEAT_TIMEOUT = 30
#: Seconds without a heartbeat after which a scheduler counts as dead and its tasks are adopted.
SCHEDULER_HEALTH_CHECK_THRESHOLD = 20
#: Task slots of each Celery worker.
WORKER_CONCURRENCY = 8
#: ``[scheduler] task_queued_timeout``: a task queued but never sent to Celery is requeued after this.
TASK_QUEUED_TIMEOUT = 120

#: The component name of each Airflow process, given to it as its hostname (``[core] hostname_callable``),
#: so that job rows (schedulers, triggerers) and task instances (workers) say which process they are.
COMPONENT_ENV = "HADOOP_ECO_DIST_COMPONENT"
_HOSTNAME_MODULE = '''
"""[core] hostname_callable of the distributed test: the component name, set per process."""
import os
import socket


def hostname():
    return os.environ.get("{env}") or socket.getfqdn()
'''


#: What the suite did, in order (printed in the terminal summary, pass or fail).
EVENTS: list[str] = []


def fail_or_skip(message: str) -> None:
    """Fail under ``make test`` (HADOOP_ECO_REQUIRE_ALL=1), skip otherwise."""
    if os.environ.get("HADOOP_ECO_REQUIRE_ALL") == "1":
        pytest.fail(message)
    pytest.skip(message)


# --- the provider's wheel and the distributed venv ------------------------------------------------------
def _source_files() -> Iterator[Path]:
    yield REPO / "pyproject.toml"
    for path in (REPO / "airflow_provider_hadoop_eco").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            yield path


def _newest_wheel() -> Path | None:
    wheels = sorted(
        (REPO / "dist").glob("airflow_provider_hadoop_eco-*.whl"), key=lambda p: p.stat().st_mtime
    )
    return wheels[-1] if wheels else None


def provider_wheel() -> Path:
    """The wheel built by ``make dist`` (``HADOOP_ECO_WHEEL`` overrides); rebuilt when the source is newer."""
    explicit = os.environ.get("HADOOP_ECO_WHEEL")
    if explicit:
        path = Path(explicit).resolve()
        assert path.is_file(), f"HADOOP_ECO_WHEEL={explicit} does not exist"
        return path
    wheel = _newest_wheel()
    if wheel is None or any(p.stat().st_mtime > wheel.stat().st_mtime for p in _source_files()):
        print(">> the provider wheel is missing or older than the source: running `make dist`", flush=True)
        subprocess.run(["make", "-C", str(REPO), "dist"], check=True, stdout=sys.stderr)
        wheel = _newest_wheel()
    assert wheel is not None, "make dist built no wheel in dist/"
    return wheel


def _find_uv() -> str | None:
    candidates = [REPO / ".venvs" / ".bootstrap" / "bin" / "uv", Path(sys.executable).parent / "uv"]
    found = shutil.which("uv")
    for candidate in [*candidates, Path(found) if found else None]:
        if candidate is not None and candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    # Like scripts/make-venv.sh: a bootstrap venv with uv from PyPI.
    boot = REPO / ".venvs" / ".bootstrap"
    python = os.environ.get("PYTHON", "python3")
    with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
        subprocess.run([python, "-m", "venv", str(boot)], check=True, capture_output=True)
        subprocess.run([str(boot / "bin" / "pip"), "install", "-q", "uv"], check=True, capture_output=True)
        return str(boot / "bin" / "uv")
    return None


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def distributed_python(wheel: Path) -> str:
    """The interpreter of the distributed Airflow venv, with ``wheel`` installed (built or reused).

    The venv (Airflow, Celery provider, psycopg2) is reused while its stamp matches; the provider alone is
    reinstalled when the wheel's hash changes. uv makes a fresh build take well under a minute.
    """
    python = os.environ.get("PYTHON", "python3")
    VENV.parent.mkdir(parents=True, exist_ok=True)
    lock_path = VENV.parent / f".{VENV.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base_stamp = f"airflow={AIRFLOW_VERSION} packages={','.join(EXTRA_PACKAGES)} python={python} pyc=1"
        provider_stamp = f"wheel={_sha256(wheel)}"
        bin_python = VENV / "bin" / "python"
        stamp_file, provider_file = VENV / ".stamp", VENV / ".provider-stamp"
        fresh = not (bin_python.exists() and stamp_file.exists() and stamp_file.read_text() == base_stamp)
        if not fresh and provider_file.exists() and provider_file.read_text() == provider_stamp:
            return str(bin_python)
        uv = _find_uv()
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "VIRTUAL_ENV": str(VENV)}
        env.pop("PYTHONPATH", None)
        started = time.time()
        if fresh:
            shutil.rmtree(VENV, ignore_errors=True)
            print(f">> creating {VENV} (apache-airflow=={AIRFLOW_VERSION}, {', '.join(EXTRA_PACKAGES)})")
            if uv:
                subprocess.run([uv, "venv", "-q", "--seed", "-p", python, str(VENV)], check=True, env=env)
            else:
                subprocess.run([python, "-m", "venv", str(VENV)], check=True, env=env)
        packages = [f"apache-airflow=={AIRFLOW_VERSION}", *EXTRA_PACKAGES, str(wheel)]
        reinstall = [] if fresh else ["--reinstall-package", PROVIDER_DIST]
        if uv:
            # Compiled to .pyc at install: with PYTHONDONTWRITEBYTECODE set (as on these machines) every one of
            # the ~10 Airflow processes would otherwise compile Airflow's source at each start (minutes of CPU).
            command = [uv, "pip", "install", "-q", "--compile-bytecode", *reinstall, *packages]
        elif fresh:
            command = [str(VENV / "bin" / "pip"), "install", "-q", *packages]
        else:
            command = [
                str(VENV / "bin" / "pip"),
                "install",
                "-q",
                "--force-reinstall",
                "--no-deps",
                str(wheel),
            ]
        subprocess.run(command, check=True, env=env, cwd=tempfile.gettempdir())
        # Installed from the wheel, not from the source tree (no editable install, nothing on the path).
        where = subprocess.run(
            [str(bin_python), "-c", "import airflow_provider_hadoop_eco as p; print(p.__file__)"],
            check=True, capture_output=True, text=True, cwd=tempfile.gettempdir(), env=env,
        ).stdout.strip()  # fmt: skip
        assert where.startswith(str(VENV)), f"the provider was not installed from the wheel: {where}"
        stamp_file.write_text(base_stamp)
        provider_file.write_text(provider_stamp)
        print(
            f">> {VENV.name}: provider from {wheel.name} ready in {time.time() - started:.0f} s", flush=True
        )
        return str(bin_python)


# --- processes -----------------------------------------------------------------------------------------
def kill_tree(pid: int, sig: int = signal.SIGKILL) -> list[int]:
    """Send ``sig`` to a process group and every descendant of its leader (found first); return the PIDs."""
    import psutil

    pids = [pid]
    with contextlib.suppress(psutil.NoSuchProcess):
        pids += [p.pid for p in psutil.Process(pid).children(recursive=True)]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    for child in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, sig)
    return pids


def stop_processes(procs: Iterable[subprocess.Popen], grace: float) -> None:
    """SIGTERM every group at once, SIGKILL what is left after ``grace`` seconds (with descendants)."""
    import psutil

    procs = list(procs)
    leftovers: list[Any] = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            leftovers += psutil.Process(proc.pid).children(recursive=True)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.time() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(deadline - time.time(), 0.1))
    for proc in procs:
        kill_tree(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    for process in leftovers:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(leftovers, timeout=10)


def _wait(what: str, check: Callable[[], Any], timeout: float, proc: subprocess.Popen | None = None) -> Any:
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {proc.returncode}")
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


# --- PostgreSQL ----------------------------------------------------------------------------------------
def postgres_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass
class Postgres:
    """A PostgreSQL server of its own: ``initdb`` into a temp dir, 127.0.0.1 only, trust auth, no socket.

    As root the server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
    """

    bin: Path
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    user: str = "airflow"
    database: str = "airflow"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _as_owner(self) -> dict[str, Any]:
        return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, cwd=self.root, **self._as_owner(),
        )  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-h", "127.0.0.1", "-k", "",
                 "-c", "max_connections=400", "-c", "shared_buffers=256MB",
                 # A throwaway test database: durability is not under test, speed on 2 cores is.
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root,
                **self._as_owner(),
            )  # fmt: skip
        _wait(
            "PostgreSQL to accept connections",
            lambda: (
                subprocess.run(
                    [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
                ).returncode
                == 0
            ),
            60,
            self.proc,
        )
        self.psql(f"CREATE DATABASE {self.database}", database="postgres")

    def psql(self, sql: str, database: str | None = None) -> str:
        out = subprocess.run(
            [str(self.bin / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", self.user, "-d", database or self.database, "-c", sql],
            check=False, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if out.returncode != 0:
            raise AssertionError(f"psql failed ({out.returncode}): {out.stderr.strip()}\n{sql}")
        return out.stdout

    def query(self, sql: str) -> list[dict[str, str]]:
        """Rows of ``sql`` as dicts of strings (empty string for NULL)."""
        text = self.psql(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)")
        return list(csv.DictReader(io.StringIO(text)))

    def dump(self) -> bytes:
        return subprocess.run(
            [str(self.bin / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
             "--no-owner", self.database],
            check=True, capture_output=True, timeout=120,
        ).stdout  # fmt: skip

    def stop(self) -> None:
        if self.proc is None:
            return
        # SIGINT is PostgreSQL's "fast" shutdown (SIGTERM would wait for every client to leave).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        kill_tree(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


# --- Redis ---------------------------------------------------------------------------------------------
@dataclass
class Redis:
    """A Redis server of its own on 127.0.0.1 (no persistence), plus ``redis-cli monitor`` recording
    every command it receives, with arguments, for the in-transit secret check."""

    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    monitor: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.root / "redis.log"

    @property
    def monitor_path(self) -> Path:
        return self.root / "redis-monitor.txt"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args: str, timeout: float = 60) -> bytes:
        return subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
            check=True, capture_output=True, timeout=timeout,
        ).stdout  # fmt: skip

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--protected-mode", "yes",
                 "--save", "", "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no",
                 "--unixsocket", ""],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root,
            )  # fmt: skip

        def ping() -> bool:
            try:
                return self.cli("ping", timeout=5).strip() == b"PONG"
            except subprocess.SubprocessError:
                return False

        _wait("Redis to answer PING", ping, 30, self.proc)
        with self.monitor_path.open("wb") as out:
            self.monitor = subprocess.Popen(
                ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "monitor"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        _wait("redis-cli monitor to start", lambda: self.monitor_path.stat().st_size > 0, 10, self.monitor)

    def scan_all(self) -> dict[bytes, bytes]:
        """Every key (``redis-cli --scan``) with its whole value, read according to its type."""
        keys = [k for k in self.cli("--scan").split(b"\n") if k]
        values: dict[bytes, bytes] = {}
        for key in keys:
            kind = self.cli("type", key.decode()).strip()
            read = {
                b"string": ["get"],
                b"list": ["lrange", key.decode(), "0", "-1"],
                b"hash": ["hgetall"],
                b"set": ["smembers"],
                b"zset": ["zrange", key.decode(), "0", "-1", "withscores"],
                b"stream": ["xrange", key.decode(), "-", "+"],
            }.get(kind)
            if read is None:
                values[key] = b""
                continue
            args = read if len(read) > 1 else [read[0], key.decode()]
            values[key] = self.cli(*args)
        return values

    def stop(self) -> None:
        procs = [p for p in (self.monitor, self.proc) if p is not None]
        stop_processes(procs, grace=5)


# --- emulator front-ends -------------------------------------------------------------------------------
class EmulatorFrontends:
    """One emulator (:class:`Emulator`, its one state) served on one extra loopback port per component.

    The connection each Airflow process gets points at its own port, so the ``Host`` header of each
    recorded request says which process sent it (``component_of``): which triggerer polled a request,
    which worker posted it.
    """

    def __init__(self, emulator: Any, names: Iterable[str]) -> None:
        self.emulator = emulator
        self.names = list(names)
        self.ports: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[Any] = []

    def start(self) -> None:
        from aiohttp import web

        from airflow_provider_hadoop_eco.emulator import create_app

        state = getattr(self.emulator, "state", None)
        assert state is not None, "Emulator.state is gone: the front-ends need the emulator's state"
        ready = threading.Event()
        errors: list[BaseException] = []

        async def serve() -> None:
            for name in self.names:
                runner = web.AppRunner(create_app(state), access_log=None, handle_signals=False)
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
                await site.start()
                self._runners.append(runner)
                self.ports[name] = int(runner.addresses[0][1])

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(serve())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            for runner in self._runners:
                loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="emulator-frontends", daemon=True)
        self._thread.start()
        ready.wait(20)
        if errors:
            raise errors[0]
        assert set(self.ports) == set(self.names), self.ports

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def component_of(self, record: dict[str, Any]) -> str:
        headers = {str(k).lower(): str(v) for k, v in (record.get("headers") or {}).items()}
        port = int(headers.get("host", ":0").rsplit(":", 1)[-1] or 0)
        if port == self.emulator.port:
            return "emulator"
        return next((name for name, p in self.ports.items() if p == port), f"port-{port}")

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


# --- Airflow -------------------------------------------------------------------------------------------
class DistributedAirflow(AirflowEnv):
    """:class:`AirflowEnv` with per-process environment (component name, connection)."""

    def __init__(self, *args: Any, service_env: dict[str, dict[str, str]] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.service_env = service_env or {}
        self.started: dict[str, Service] = {}
        self.pids: dict[str, int] = {}

    def env_for(self, name: str) -> dict[str, str]:
        env = self.env()
        env.pop("PYTHONPATH", None)
        env.update({"PYTHONPATH": str(self.home / "pylib"), COMPONENT_ENV: name})
        env.update(self.service_env.get(name, {}))
        return env

    def start_as(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> Service:
        log_path = self.home / f"{name}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [str(self.bin / "airflow"), *args],
                env={**self.env_for(name), **(extra_env or {})},
                cwd=self.home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        service = Service(name, proc, log_path)
        self.services.append(service)
        self.started[name] = service
        self.pids[name] = proc.pid
        return service

    def run_cli(self, *args: str, timeout: float = 300) -> str:
        popen = subprocess.run(
            [str(self.bin / "airflow"), *args],
            env=self.env_for("cli"), cwd=self.home, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if popen.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} exited {popen.returncode}:\n{popen.stdout[-4000:]}"
                f"\n{popen.stderr[-4000:]}"
            )
        return popen.stdout

    def write_hostname_module(self) -> None:
        (self.home / "pylib").mkdir(exist_ok=True)
        (self.home / "pylib" / "distributed_component.py").write_text(
            _HOSTNAME_MODULE.format(env=COMPONENT_ENV)
        )


@dataclass
class Kill:
    """One SIGKILL of a component: what, when, which PIDs."""

    component: str
    at: float
    pids: list[int]
    note: str = ""


@dataclass
class Topology:
    """The running distributed deployment and the helpers the scenarios use."""

    airflow: DistributedAirflow
    postgres: Postgres
    redis: Redis
    emulator: Any
    frontends: EmulatorFrontends
    fernet_key: str
    canaries: tuple[str, ...]
    credentials: dict[str, str]
    kills: list[Kill] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    # --- emulator
    def add_cluster(self, prefix: str, duration: float, outcome: str = "Success") -> str:
        cluster_id = f"{prefix}-{uuid.uuid4()}"
        self.emulator.add_cluster(
            cluster_id=cluster_id, name=f"{prefix}-cluster", duration=duration, outcomes=[outcome],
            **self.credentials,
        )  # fmt: skip
        return cluster_id

    # --- REST API
    def api(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        return self.airflow.api(method, path, body, timeout=60, ok=ok)

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        run = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})
        return str(run["dag_run_id"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        return self.airflow.task_log(dag_id, run_id, task_id, try_number, timeout=60)

    # --- metadata database
    def sql(self, query: str) -> list[dict[str, str]]:
        return self.postgres.query(query)

    def task_instances(self, dag_ids: Iterable[str] = ()) -> list[dict[str, str]]:
        """Every task instance (current try) with its trigger's triggerer and the job that queued it."""
        where = ""
        ids = list(dag_ids)
        if ids:
            where = "WHERE ti.dag_id IN (" + ",".join(f"'{d}'" for d in ids) + ")"
        return self.sql(
            "SELECT ti.dag_id, ti.run_id, ti.task_id, ti.state, ti.try_number, ti.hostname, ti.id,"
            " ti.queued_by_job_id, t.triggerer_id, extract(epoch from ti.start_date) AS start_ts,"
            " extract(epoch from ti.end_date) AS end_ts, extract(epoch from ti.queued_dttm) AS queued_ts"
            f" FROM task_instance ti LEFT JOIN trigger t ON t.id = ti.trigger_id {where}"
        )

    def jobs(self, job_type: str) -> dict[str, dict[str, str]]:
        """Job rows of one type by component name (hostname), latest job first wins."""
        rows = self.sql(
            "SELECT id, hostname, state, extract(epoch from latest_heartbeat) AS heartbeat_ts"
            f" FROM job WHERE job_type = '{job_type}' ORDER BY id"
        )
        return {row["hostname"]: row for row in rows}

    def job_alive(self, job_type: str, name: str, within: float = 10.0) -> bool:
        row = self.jobs(job_type).get(name)
        return bool(row and row["heartbeat_ts"] and time.time() - float(row["heartbeat_ts"]) < within)

    # --- processes
    def service(self, name: str) -> Service:
        return self.airflow.started[name]

    def alive(self, name: str) -> bool:
        service = self.airflow.started.get(name)
        return service is not None and service.proc.poll() is None

    def kill(self, name: str, note: str = "") -> Kill:
        """SIGKILL a component's process group and every descendant (no clean-up, like a lost machine)."""
        service = self.service(name)
        pids = kill_tree(service.proc.pid)
        at = time.time()
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.proc.wait(timeout=30)
        kill = Kill(name, at, pids, note)
        self.kills.append(kill)
        self.log_event(f"SIGKILL {name} (pids {pids}) {note}")
        return kill

    def listening(self) -> list[tuple[str, str, int]]:
        """Every listening TCP socket of the suite's processes: (process, address, port)."""
        import psutil

        roots = {s.name: s.proc.pid for s in self.airflow.services}
        roots.update({"postgres": self.postgres.proc.pid, "redis": self.redis.proc.pid})  # type: ignore[union-attr]
        owner: dict[int, str] = {os.getpid(): "pytest (emulator)"}
        for name, pid in roots.items():
            with contextlib.suppress(psutil.NoSuchProcess):
                owner[pid] = name
                for child in psutil.Process(pid).children(recursive=True):
                    owner[child.pid] = name
        return sorted(
            (owner[c.pid], c.laddr.ip, c.laddr.port)
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.pid in owner
        )

    def assert_alive(self, names: Iterable[str]) -> None:
        for name in names:
            service = self.airflow.started[name]
            if service.proc.poll() is not None:
                raise AssertionError(
                    f"{name} exited with {service.proc.returncode}:\n{service.log()[-4000:]}"
                )

    def log_event(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        self.events.append(line)
        EVENTS.append(line)
        print(f">> {line}", flush=True)

    def log_files(self) -> list[Path]:
        """Every log file: Airflow's (services, tasks, triggers), PostgreSQL's and Redis'."""
        files = [p for p in self.airflow.home.rglob("*") if p.is_file() and p.suffix in (".log", ".txt", "")]
        files += [p for p in self.airflow.home.rglob("*.log*") if p.is_file()]
        files += [self.postgres.log_path, self.redis.log_path]
        return sorted(set(files))

    def diagnostics(self) -> str:
        parts = ["events:", *self.events]
        for service in self.airflow.services:
            parts.append(f"--- {service.name} (tail) ---\n{service.log()[-2000:]}")
        return "\n".join(parts)


# --- secrets -------------------------------------------------------------------------------------------
def secret_forms(secret: str) -> list[bytes]:
    """``secret`` as plain bytes and as it shows inside base64 at each of the three alignments.

    Celery's Redis transport base64-encodes message bodies, so a plain search would miss a leaked secret.
    """
    raw = secret.encode()
    forms = [raw]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        # Drop the characters that depend on the unknown neighbours (leading and trailing).
        start = (shift * 4 + 2) // 3 if shift else 0
        end = len(encoded) - (4 if (shift + len(raw)) % 3 else 0)
        core = encoded[start:end].rstrip(b"=")
        if len(core) >= 8:
            forms.append(core)
            forms.append(core.replace(b"+", b"-").replace(b"/", b"_"))
    return forms


def find_secret(blob: bytes, secrets: Iterable[str]) -> list[str]:
    """Which of ``secrets`` occur in ``blob`` (plain or base64-encoded)."""
    return [s for s in secrets if any(form in blob for form in secret_forms(s))]


def parse_ts(value: str) -> float | None:
    return float(value) if value not in ("", None) else None


def first_log_timestamp(text: str, needle: str) -> float | None:
    """The timestamp of the first JSON log line of ``text`` that contains ``needle``."""
    for line in text.splitlines():
        if needle in line:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                stamp = json.loads(line)["timestamp"]
                return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
            match = re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?", line)
            if match:
                stamp = match.group(0).replace("Z", "+00:00")
                return datetime.fromisoformat(stamp).timestamp()
    return None


def start_triggerer(airflow: DistributedAirflow, name: str) -> Service:
    return airflow.start_as(name, "triggerer", "--skip-serve-logs")


def start_worker(topo: Topology, name: str) -> None:
    topo.airflow.start_as(
        name, "celery", "worker", "--skip-serve-logs", "-H", name, "-c", str(WORKER_CONCURRENCY),
        "--without-mingle", "--without-gossip",
    )  # fmt: skip
    topo.log_event(f"started {name} pid {topo.airflow.pids[name]}")


def wait_worker_ready(topo: Topology, name: str, timeout: float = 90) -> None:
    service = topo.service(name)
    wait_for(topo, f"{name} to be ready", lambda: f"@{name} ready" in service.log(), timeout)


def wait_for(topo: Topology, what: str, check: Callable[[], Any], timeout: float) -> None:
    """Call ``check`` until it is truthy; fail if a service that was not killed on purpose exits."""
    deadline = time.time() + timeout
    while not check():
        killed = {k.component for k in topo.kills}
        topo.assert_alive(n for n in topo.airflow.started if n not in killed)
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{topo.diagnostics()}")
        time.sleep(0.5)
