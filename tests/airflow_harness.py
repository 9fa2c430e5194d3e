"""Run real Airflow (CLI and services) in a throwaway AIRFLOW_HOME, from a given virtual environment.

Every process is started in its own process group, bound to 127.0.0.1, and stopped by PID/process group in
``stop_all()`` (SIGTERM, then SIGKILL). Used by the end-to-end, services and browser tests.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "example_dags"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def airflow_python(major: int) -> str:
    """The interpreter of the venv with Airflow ``major`` installed (set by the Makefile).

    Without the variable, Airflow 3 falls back to the running interpreter when it has Airflow 3. A missing
    interpreter skips the test, unless HADOOP_ECO_REQUIRE_ALL=1 (set by ``make test``) makes it a failure.
    """
    value = os.environ.get(f"HADOOP_ECO_AIRFLOW{major}_PYTHON")
    if value and Path(value).exists():
        return value
    if major == 3 and not value:
        import airflow

        if airflow.__version__.startswith("3."):
            return sys.executable
    message = f"no Airflow {major} interpreter (set HADOOP_ECO_AIRFLOW{major}_PYTHON, or run `make test`)"
    if os.environ.get("HADOOP_ECO_REQUIRE_ALL") == "1":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class AirflowEnv:
    """A throwaway Airflow installation: SQLite, LocalExecutor, our example DAGs, loopback only."""

    python: str
    home: Path
    dags_folder: Path = EXAMPLE_DAGS
    extra_env: dict[str, str] = field(default_factory=dict)
    api_port: int = 0
    services: list[Service] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(exist_ok=True)
        if not self.api_port:
            self.api_port = free_port()

    @functools.cached_property
    def airflow_major(self) -> int:
        """The major version of the Airflow installed beside ``python``."""
        out = subprocess.run(
            [self.python, "-c", "from importlib.metadata import version; print(version('apache-airflow'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(out.strip().split(".")[0])

    @property
    def bin(self) -> Path:
        return Path(self.python).parent

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HADOOP_ECO_AIRFLOW"))}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # Airflow 2 refuses LocalExecutor on SQLite; Airflow 3 runs it fine.
                "AIRFLOW__CORE__EXECUTOR": (
                    "LocalExecutor" if self.airflow_major >= 3 else "SequentialExecutor"
                ),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
                "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(self.api_port),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                "PYTHONUNBUFFERED": "1",
                "NO_PROXY": "*",
            }
        )
        env.update(self.extra_env)
        return env

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the ``airflow`` CLI and return its output (stdout and stderr together)."""
        popen = subprocess.Popen(
            [str(self.bin / "airflow"), *args],
            env=self.env(),
            cwd=self.home,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, _ = popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            stdout, _ = popen.communicate()
            raise AssertionError(
                f"airflow {' '.join(args)} timed out after {timeout:.0f} s:\n{stdout[-6000:]}"
            ) from None
        finally:
            # The whole group: `airflow` may leave children behind, on timeout above all.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            if popen.poll() is None:
                popen.wait(timeout=10)
        proc = subprocess.CompletedProcess(popen.args, popen.returncode, stdout, None)
        if check and proc.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-6000:]}")
        return proc

    def migrate(self) -> None:
        self.run("db", "migrate", timeout=300)

    def start(self, name: str, *args: str) -> Service:
        """Start ``airflow <args>`` in its own process group, with its output in ``<home>/<name>.log``."""
        log_path = self.home / f"{name}.log"
        log_file = log_path.open("ab")
        proc = subprocess.Popen(
            [str(self.bin / "airflow"), *args],
            env=self.env(),
            cwd=self.home,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        service = Service(name, proc, log_path)
        self.services.append(service)
        return service

    def stop(self, service: Service, sig: int = signal.SIGTERM, grace: float = 20.0) -> None:
        """Stop a service's whole process group: ``sig`` first, SIGKILL after ``grace`` seconds."""
        if service.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.proc.wait(timeout=10)
        if service in self.services:
            self.services.remove(service)

    def stop_all(self, grace: float = 20.0) -> None:
        """SIGTERM every service at once (scheduler and triggerer take seconds each), then SIGKILL."""
        for service in self.services:
            if service.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.proc.pid, signal.SIGTERM)
        deadline = time.time() + grace
        for service in list(self.services):
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.proc.wait(timeout=max(deadline - time.time(), 0.1))
        for service in list(reversed(self.services)):
            self.stop(service, sig=signal.SIGKILL, grace=5)

    # --- REST API (Airflow 3) --------------------------------------------------------------------------

    def api(
        self, method: str, path: str, body: Any = None, timeout: float = 30, ok: tuple[int, ...] = ()
    ) -> Any:
        """Call the REST API; raise on an HTTP error unless its status is listed in ``ok``."""
        import requests

        response = requests.request(method, f"{self.api_url}{path}", json=body, timeout=timeout)
        if response.status_code >= 400 and response.status_code not in ok:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, timeout: float = 30) -> str:
        """The whole task log of one try (structured entries, JSON-encoded into one searchable text)."""
        data = self.api(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}?full_content=true",
            timeout=timeout,
        )
        content = data.get("content") if isinstance(data, dict) else data
        if isinstance(content, str):
            return content
        return "\n".join(json.dumps(entry, default=str) for entry in content or [])

    def wait_healthy(self, timeout: float = 120) -> None:
        import requests

        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            for service in self.services:
                if service.proc.poll() is not None:
                    raise AssertionError(f"{service.name} exited early:\n{service.log()[-4000:]}")
            time.sleep(1)
        raise AssertionError("api-server did not become healthy in time")

    def files_containing(self, needle: str) -> list[Path]:
        """Every file under AIRFLOW_HOME whose bytes contain ``needle`` (for leak checks)."""
        data = needle.encode()
        return [p for p in self.home.rglob("*") if p.is_file() and data in p.read_bytes()]


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)
