"""Real Airflow 3.3 services (api-server, scheduler, dag-processor, triggerer) against the emulator.

One module-scoped :func:`services` fixture starts everything once: the emulator in a thread of the pytest
process (reachable from the Airflow processes on 127.0.0.1 through ``AIRFLOW_CONN_HADOOP_ECO_DEFAULT``), and
the four Airflow services with SQLite and the LocalExecutor in a throwaway AIRFLOW_HOME. Everything is
stopped by process group (and leftover descendants by PID) at the end, pass or fail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow_harness import AirflowEnv, airflow_python
from services_env import (
    ALL_DAGS,
    EXAMPLE_POLL_INTERVAL,
    HIVE_EXAMPLE,
    SERVICE_DAGS,
    TIME_SCALE,
    Services,
    emulated,
)
from tests_support import ACCESS_KEY_ID, CANARY_API_KEY, CANARY_SECRET, conn_json


def _link_dags(dags_dir: Path) -> None:
    """One DAGs folder with the Hive example DAG and this suite's own DAGs (as symlinks)."""
    dags_dir.mkdir(parents=True, exist_ok=True)
    for source in [HIVE_EXAMPLE, *sorted(SERVICE_DAGS.glob("*.py"))]:
        target = dags_dir / source.name
        if not target.exists():
            target.symlink_to(source)


def _stop_everything(env: AirflowEnv, grace: float = 15.0) -> None:
    """Stop every service by process group, then any descendant that left its group, by PID.

    SIGTERM goes to all groups at once (the scheduler and triggerer each take up to ~12 s to exit), then
    whatever is left gets SIGKILL through ``AirflowEnv.stop``.
    """
    import psutil

    leftovers: list[Any] = []
    for service in env.services:
        with contextlib.suppress(psutil.NoSuchProcess):
            leftovers.extend(psutil.Process(service.proc.pid).children(recursive=True))
    for service in env.services:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.proc.pid, signal.SIGTERM)
    deadline = time.time() + grace
    for service in env.services:
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.proc.wait(timeout=max(deadline - time.time(), 0.1))
    for service in list(env.services):
        env.stop(service, signal.SIGKILL, grace=0)
    for process in leftovers:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(leftovers, timeout=10)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Emulator + api-server, scheduler, dag-processor and triggerer, started once for the module."""
    python = airflow_python(3)
    probe = subprocess.run(
        [python, "-c", "from importlib.metadata import version; print(version('apache-airflow'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    version = probe.stdout.strip()
    if not version.startswith("3.") or tuple(int(p) for p in version.split(".")[:2]) < (3, 3):
        pytest.skip(f"needs Airflow >= 3.3 (ResumableJobMixin, task_state_store), found {version}")

    from airflow_provider_hadoop_eco.emulator import Emulator

    credentials = {
        "credential_id": ACCESS_KEY_ID,
        "credential_secret": CANARY_SECRET,
        "api_key": CANARY_API_KEY,
    }
    emulator = Emulator(host="127.0.0.1", port=0, time_scale=TIME_SCALE, clusters=[])
    emulator.start()
    home = tmp_path_factory.mktemp("airflow-services")
    env: AirflowEnv | None = None
    try:
        hive_cluster = f"hive-{uuid.uuid4()}"
        _link_dags(home / "dags")
        env = AirflowEnv(
            python,
            home,
            dags_folder=home / "dags",
            extra_env={
                "AIRFLOW_CONN_HADOOP_ECO_DEFAULT": conn_json(emulator.url),
                "HADOOP_ECO_HIVE_CLUSTER_ID": hive_cluster,
                "HADOOP_ECO_EXAMPLE_POLL_INTERVAL": str(EXAMPLE_POLL_INTERVAL),
                # A SIGKILLed triggerer's triggers move to a new triggerer once its heartbeat is this old.
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
                # Airflow checks trigger timeouts often: a sensor started from the triggerer relies on it.
                # A classic deferral's backstop is a minute past the trigger's own deadline, so the timeout
                # test still proves that the provider's trigger (its absolute end_time) ends the wait.
                "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "5",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            },
        )
        services = Services(env, emulator, (CANARY_SECRET, CANARY_API_KEY), credentials, hive_cluster)
        emulator.add_cluster(
            cluster_id=hive_cluster, name="hive-example-cluster", duration=emulated(20), **credentials
        )
        env.migrate()
        env.start("api-server", "api-server")
        env.start("scheduler", "scheduler", "--skip-serve-logs")
        env.start("dag-processor", "dag-processor")
        services.start_triggerer()
        env.wait_healthy(timeout=120)
        for dag_id in ALL_DAGS:
            services.wait_for(f"DAG {dag_id} to be parsed", lambda d=dag_id: _dag_exists(env, d), timeout=120)
            env.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        services.log_event("services ready")
        yield services
    finally:
        if env is not None:
            _stop_everything(env)
        emulator.stop()


def _dag_exists(env: AirflowEnv, dag_id: str) -> bool:
    import requests

    return requests.get(f"{env.api_url}/api/v2/dags/{dag_id}", timeout=30).status_code == 200
