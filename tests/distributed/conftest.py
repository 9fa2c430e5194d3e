"""The production topology, started once for the module (see dist_env.py for the pieces).

PostgreSQL and Redis from Debian's packages; Airflow 3.3 with the CeleryExecutor from its own venv with the
provider installed from its wheel; api-server, dag-processor, two schedulers, two Celery workers and two
triggerers; the emulator (in this process) as the API. Everything on 127.0.0.1, stopped at the end by
process group and PID, pass or fail.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from dist_env import (
    DAGS,
    EVENTS,
    SCHEDULER_HEALTH_CHECK_THRESHOLD,
    TASK_HEARTBEAT_TIMEOUT,
    TASK_QUEUED_TIMEOUT,
    TRIGGERER_HEALTH_CHECK_THRESHOLD,
    WORKER_CONCURRENCY,
    DistributedAirflow,
    EmulatorFrontends,
    Postgres,
    Redis,
    Topology,
    distributed_python,
    fail_or_skip,
    postgres_bin,
    provider_wheel,
    start_triggerer,
    start_worker,
    stop_processes,
    wait_for,
    wait_worker_ready,
)
from tests_support import ACCESS_KEY_ID, CANARY_API_KEY, CANARY_SECRET, conn_json

MARKER = "distributed"
DAG_IDS = (
    "distributed_warmup",
    "distributed_load",
    "distributed_sensor_timeout",
    "distributed_db_connection",
    "distributed_reattach",
)

FIGURES: dict[str, Any] = {}
SUITE_STARTED = time.time()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: the production-topology suite (PostgreSQL, CeleryExecutor on Redis, two schedulers, "
        "workers and triggerers; `make test-distributed`)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(MARKER)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    FIGURES["suite_seconds"] = round(time.time() - SUITE_STARTED, 1)
    terminalreporter.section("distributed topology: figures")
    for line in EVENTS:
        terminalreporter.write_line(f"  {line}")
    for key, value in FIGURES.items():
        terminalreporter.write_line(f"{key}: {value}")
    out = Path(__file__).resolve().parents[2] / "artifacts" / "distributed-figures.json"
    with contextlib.suppress(OSError):
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(FIGURES, indent=1, default=str) + "\n")
        terminalreporter.write_line(f"(also written to {out})")


def _prerequisites() -> Path:
    pg = postgres_bin()
    missing = []
    if pg is None:
        missing.append("postgresql (initdb)")
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        missing.append("redis-server/redis-cli")
    if missing:
        fail_or_skip(f"missing {', '.join(missing)}: run scripts/install-system-packages.sh postgresql redis")
    assert pg is not None
    return pg


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@pytest.fixture(scope="module")
def topology(request: pytest.FixtureRequest) -> Iterator[Topology]:
    pg_bin = _prerequisites()
    started = time.time()
    failed_before = request.session.testsfailed
    passed = False
    wheel = provider_wheel()
    python = distributed_python(wheel)
    FIGURES["provider_wheel"] = wheel.name
    FIGURES["venv_ready_seconds"] = round(time.time() - started, 1)

    from airflow_provider_hadoop_eco.emulator import Emulator

    # Not under pytest's basetemp: concurrent pytest sessions rotate those away, logs included.
    home = Path(tempfile.mkdtemp(prefix="hadoop-eco-distributed-"))
    # PostgreSQL's directory must be reachable by the postgres user: not under pytest's private tmp.
    pg_root = Path(tempfile.mkdtemp(prefix="hadoop-eco-pg-"))
    postgres = Postgres(pg_bin, pg_root)
    redis = Redis(home / "redis")
    credentials = {
        "credential_id": ACCESS_KEY_ID,
        "credential_secret": CANARY_SECRET,
        "api_key": CANARY_API_KEY,
    }
    emulator = Emulator(host="127.0.0.1", port=0, time_scale=1.0, clusters=[])
    frontend_names = ["control", "db", "worker-0", "worker-1", "worker-2", "triggerer-0", "triggerer-1"]
    frontends = EmulatorFrontends(emulator, frontend_names)
    airflow: DistributedAirflow | None = None
    try:
        postgres.start()
        redis.start()
        emulator.start()
        frontends.start()
        fernet_key = _fernet_key()
        # Each process reaches the emulator through its own port (see EmulatorFrontends); the scheduler,
        # api-server and dag-processor get the "control" port, which must never see an API call.
        service_env = {
            name: {"AIRFLOW_CONN_HADOOP_ECO_DEFAULT": conn_json(frontends.url(port))}
            for name, port in [
                ("api-server", "control"), ("dag-processor", "control"), ("scheduler-0", "control"),
                ("scheduler-1", "control"), ("cli", "control"), ("worker-0", "worker-0"),
                ("worker-1", "worker-1"), ("worker-2", "worker-2"), ("triggerer-0", "triggerer-0"),
                ("triggerer-1", "triggerer-1"),
            ]
        }  # fmt: skip
        airflow = DistributedAirflow(
            python,
            home,
            dags_folder=DAGS,
            service_env=service_env,
            extra_env={
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.url,
                "AIRFLOW__CELERY__BROKER_URL": redis.url,
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + postgres.url,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
                "AIRFLOW__API__WORKERS": "2",
                # Workers' and triggerers' calls to the execution API time out after 5 s by default and are
                # retried; on a saturated 2-core host an XCom POST took 7 s, its retry got HTTP 409 (the first
                # one had been stored) and the task failed. Airflow's advice for high load: a longer timeout.
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
                "AIRFLOW__CORE__FERNET_KEY": fernet_key,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "distributed_component.hostname",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(TRIGGERER_HEALTH_CHECK_THRESHOLD),
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(TASK_HEARTBEAT_TIMEOUT),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(SCHEDULER_HEALTH_CHECK_THRESHOLD),
                "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
                # A scheduler SIGKILLed between queueing a task and publishing it to Redis leaves a task that
                # the survivor adopts as queued (Celery: PENDING) though no worker will ever get it (seen in
                # CI: 2 of 100 creates). Airflow's remedy is to requeue what stays queued too long: default
                # 600 s, shortened here so scenario 4 ends in minutes (docs/deployment.md).
                "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(TASK_QUEUED_TIMEOUT),
                "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "10",
                # Airflow's own deferral-timeout check is pushed out of reach, so that only the provider's
                # trigger (its absolute deadline) can end scenario 5's wait: a stricter test of the provider.
                "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "3600",
            },
        )
        airflow.write_hostname_module()
        t0 = time.time()
        print(f">> AIRFLOW_HOME {home}", flush=True)
        airflow.run_cli("db", "migrate", timeout=300)
        FIGURES["db_migrate_seconds"] = round(time.time() - t0, 1)
        airflow.start_as("api-server", "api-server")
        airflow.start_as("dag-processor", "dag-processor")
        for i in range(2):
            airflow.start_as(f"scheduler-{i}", "scheduler", "--skip-serve-logs")
        # triggerer-1 is started by the campaign, once triggerer-0 runs the first triggers (see there).
        start_triggerer(airflow, "triggerer-0")
        topo = Topology(
            airflow,
            postgres,
            redis,
            emulator,
            frontends,
            fernet_key,
            (CANARY_SECRET, CANARY_API_KEY),
            credentials,
        )
        for i in range(2):
            start_worker(topo, f"worker-{i}")
        airflow.wait_healthy(timeout=120)
        # The execution API (what workers and triggerers call) is built on its first request, which takes
        # ~10 s: long enough for the first task's client to time out and retry. Warm it up here.
        requests.get(f"{airflow.api_url}/execution/health", timeout=120).raise_for_status()
        topo.log_event("api-server healthy")
        for dag_id in DAG_IDS:
            wait_for(topo, f"DAG {dag_id} to be parsed", lambda d=dag_id: _dag_exists(topo, d), 120)
        topo.log_event("DAGs parsed")
        wait_for(topo, "both schedulers and triggerer-0 to heartbeat", lambda: _jobs_alive(topo), 60)
        topo.log_event("schedulers and triggerer-0 heartbeating")
        for i in range(2):
            wait_worker_ready(topo, f"worker-{i}")
        topo.log_event("workers ready")
        # The connection of scenario 6, stored in the metadata database (Fernet-encrypted) through the API.
        topo.api(
            "POST",
            "/api/v2/connections",
            {
                "connection_id": "hadoop_eco_db",
                "conn_type": "hadoop_eco",
                "host": frontends.url("db"),
                "login": ACCESS_KEY_ID,
                "password": CANARY_SECRET,
                "extra": json.dumps({"api_key": CANARY_API_KEY}),
            },
        )
        FIGURES["startup_seconds"] = round(time.time() - started, 1)
        topo.figures = FIGURES
        topo.log_event(
            f"topology ready after {time.time() - started:.0f} s (venv, PostgreSQL, Redis, Airflow)"
        )
        yield topo
        passed = request.session.testsfailed == failed_before
    finally:
        if airflow is not None:
            stop_processes([s.proc for s in airflow.services], grace=15)
        redis.stop()
        postgres.stop()
        frontends.stop()
        emulator.stop()
        shutil.rmtree(pg_root, ignore_errors=True)
        # Kept for a post-mortem when something failed (its path is printed above), else removed.
        if passed:
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f">> kept AIRFLOW_HOME {home} (logs of every process, tasks and triggers)", flush=True)


def _dag_exists(topo: Topology, dag_id: str) -> bool:
    import requests

    return requests.get(f"{topo.airflow.api_url}/api/v2/dags/{dag_id}", timeout=30).status_code == 200


def _jobs_alive(topo: Topology) -> bool:
    return all(
        topo.job_alive(job_type, name)
        for job_type, name in (("SchedulerJob", "scheduler-0"), ("SchedulerJob", "scheduler-1"),
                               ("TriggererJob", "triggerer-0"))
    )  # fmt: skip
