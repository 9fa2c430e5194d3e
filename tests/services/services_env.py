"""Helpers of the services tests: constants, and :class:`Services` (REST API, emulator and process helpers).

Kept out of ``conftest.py`` so that the test module can import them by a unique name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_harness import REPO, AirflowEnv, Service

HERE = Path(__file__).resolve().parent
SERVICE_DAGS = HERE / "dags"
HIVE_EXAMPLE = REPO / "example_dags" / "example_hadoop_eco_hive.py"

#: Emulated seconds per real second: a "5-minute" emulated job takes 30 s of real time.
TIME_SCALE = 10.0
#: Seconds between status checks of the example DAG's sensor.
EXAMPLE_POLL_INTERVAL = 2

HIVE_EXAMPLE_DAG = "example_hadoop_eco_hive"
DEFERRED_DAG = "services_deferred_wait"
TIMEOUT_DAG = "services_sensor_timeout"
RESUME_DAG = "services_resume_after_crash"
SFT_OUTPUT_DAG = "services_sft_output"
SFT_JINJA_DAG = "services_sft_jinja"
SFT_TIMEOUT_DAG = "services_sft_timeout"
SFT_MAPPED_DAG = "services_sft_mapped"
ALL_DAGS = (
    HIVE_EXAMPLE_DAG,
    DEFERRED_DAG,
    TIMEOUT_DAG,
    RESUME_DAG,
    SFT_OUTPUT_DAG,
    SFT_JINJA_DAG,
    SFT_TIMEOUT_DAG,
    SFT_MAPPED_DAG,
)

TERMINAL_RUN_STATES = ("success", "failed")
TERMINAL_TI_STATES = ("success", "failed", "skipped", "upstream_failed", "removed")


def emulated(real_seconds: float) -> float:
    """Emulated job duration that lasts ``real_seconds`` of wall-clock time."""
    return real_seconds * TIME_SCALE


@dataclass
class Services:
    """The running services plus helpers for the REST API, the emulator and the processes."""

    env: AirflowEnv
    emulator: Any
    canaries: tuple[str, ...]
    cluster_credentials: dict[str, str]
    hive_cluster: str = ""
    triggerer: Service | None = None
    triggerers_started: int = 0
    events: list[str] = field(default_factory=list)

    # --- emulator ------------------------------------------------------------------------------------
    def add_cluster(self, prefix: str, real_duration: float, **fields: Any) -> str:
        """Register a new emulated cluster whose job lasts ``real_duration`` seconds; return its id."""
        cluster_id = f"{prefix}-{uuid.uuid4()}"
        self.emulator.add_cluster(
            cluster_id=cluster_id,
            name=f"{prefix}-cluster",
            duration=emulated(real_duration),
            **self.cluster_credentials,
            **fields,
        )
        return cluster_id

    def posts(self, cluster_id: str) -> list[dict[str, Any]]:
        return self.emulator.posts(cluster_id=cluster_id)

    # --- REST API ------------------------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None) -> Any:
        return self.env.api(method, path, body)

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a run through the REST API; return its run id."""
        body: dict[str, Any] = {"logical_date": None}
        if conf is not None:
            body["conf"] = conf
        run = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)
        self.log_event(f"triggered {dag_id} run {run['dag_run_id']} conf={conf}")
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def ti(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")

    def ti_tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        data = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries")
        return list(data.get("task_instances", []))

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The whole task log of one try (structured entries, JSON-encoded into one searchable text)."""
        return self.env.task_log(dag_id, run_id, task_id, try_number)

    def trigger_log_files(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> list[Path]:
        """The triggerer's log files of one try (``attempt=<n>.log.trigger.<triggerer job id>.log``)."""
        folder = self.env.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return sorted(folder.glob(f"attempt={try_number}.log.trigger.*.log"))

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        """An XCom value, or None while it does not exist."""
        import requests

        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        response = requests.get(f"{self.env.api_url}{path}", timeout=30)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json().get("value")

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
        """Call ``check`` until it returns a truthy value; fail with ``what`` after ``timeout`` seconds."""
        deadline = time.time() + timeout
        while True:
            value = check()
            if value:
                return value
            self.assert_services_alive()
            if time.time() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting for {what}\n{self.diagnostics()}"
                )
            time.sleep(interval)

    def wait_run_done(self, dag_id: str, run_id: str, timeout: float) -> str:
        return str(
            self.wait_for(
                f"run {dag_id}/{run_id} to finish",
                lambda: (s := self.run_state(dag_id, run_id)) in TERMINAL_RUN_STATES and s,
                timeout,
            )
        )

    # --- processes -----------------------------------------------------------------------------------
    def assert_services_alive(self) -> None:
        for service in self.env.services:
            if service.proc.poll() is not None:
                raise AssertionError(
                    f"service {service.name} exited with {service.proc.returncode}:\n{service.log()[-4000:]}"
                )

    def start_triggerer(self) -> Service:
        index = self.triggerers_started
        self.triggerers_started += 1
        self.triggerer = self.env.start(f"triggerer-{index}", "triggerer", "--skip-serve-logs")
        self.log_event(f"started triggerer-{index} pid {self.triggerer.proc.pid}")
        return self.triggerer

    def kill_triggerer(self) -> None:
        """SIGKILL the triggerer's whole process group (no graceful shutdown, no trigger clean-up)."""
        assert self.triggerer is not None
        service = self.triggerer
        self.log_event(f"SIGKILL triggerer process group {service.proc.pid}")
        os.killpg(service.proc.pid, signal.SIGKILL)
        service.proc.wait(timeout=30)
        self.env.stop(service)  # reaps and forgets it (the group is already gone)
        self.triggerer = None

    def task_processes(self, ti_id: str) -> list[Any]:
        """The processes running one task instance: the task runner titled ``airflow worker -- <ti id>``.

        Only descendants of the services started here are considered.
        """
        needle = f"airflow worker -- {ti_id}"
        return [p for p in self.descendants() if needle in _cmdline(p)]

    def descendants(self) -> list[Any]:
        import psutil

        found: list[Any] = []
        for service in self.env.services:
            with contextlib.suppress(psutil.NoSuchProcess):
                found.extend(psutil.Process(service.proc.pid).children(recursive=True))
        return found

    def log_event(self, message: str) -> None:
        self.events.append(f"{time.strftime('%H:%M:%S')} {message}")

    def service_logs(self) -> dict[str, str]:
        return {p.name: p.read_text(errors="replace") for p in sorted(self.env.home.glob("*.log"))}

    def diagnostics(self) -> str:
        """Recent events, emulator jobs and the tail of every service log, for failure messages."""
        parts = ["events:", *self.events, "emulator jobs:"]
        parts += [json.dumps(job, default=str) for job in self.emulator.jobs()]
        for name, text in self.service_logs().items():
            parts.append(f"--- {name} (tail) ---\n{text[-2500:]}")
        return "\n".join(parts)


def _cmdline(process: Any) -> str:
    try:
        return " ".join(process.cmdline())
    except Exception:  # the process ended, or is a zombie
        return ""
