"""Review defect 1 under real Airflow 3.3 services: clearing a finished create task runs its job again.

The create answer kept in ``task_state_store`` survives ``airflow tasks clear`` and a DAG-run clear. A cleared
task must not take the old request's Success for its own: it must send a new create call. (A *retry* of the
same attempt re-attaches instead; test_services.py covers that with a worker SIGKILL.)

Uses the module's own ``services`` fixture (tests/services/conftest.py) and the DAG in
dags/services_clear_dags.py, which it unpauses itself.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from services_env import TERMINAL_TI_STATES, Services

pytestmark = [pytest.mark.e2e, pytest.mark.airflow3]

DAG_ID = "services_clear_rerun"
TASK_ID = "start_job"
JOB_SECONDS = 3  # real seconds


@pytest.fixture(scope="module")
def clear_dag(services: Services) -> str:
    def parsed() -> bool:
        return services.env.api("GET", f"/api/v2/dags/{DAG_ID}", ok=(404,)).get("dag_id") == DAG_ID

    services.wait_for(f"DAG {DAG_ID} to be parsed", parsed, timeout=120)
    services.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    return DAG_ID


def _finished_try(services: Services, run_id: str, try_number: int, timeout: float = 150) -> dict[str, Any]:
    """Wait until the create task's try ``try_number`` has ended, and the run with it; return the task."""

    def done() -> dict[str, Any] | None:
        ti = services.ti(DAG_ID, run_id, TASK_ID)
        ended = ti.get("try_number", 0) >= try_number and ti.get("state") in TERMINAL_TI_STATES
        if ended and services.run_state(DAG_ID, run_id) in ("success", "failed"):
            return ti
        return None

    return services.wait_for(f"{DAG_ID}/{run_id} try {try_number} to finish", done, timeout, interval=0.5)


def _detail(services: Services, cluster_id: str, run_id: str) -> str:
    tries = services.ti_tries(DAG_ID, run_id, TASK_ID)
    return f"posts={services.posts(cluster_id)}\ntries={tries}\n{services.diagnostics()}"


def _first_run(services: Services) -> tuple[str, str]:
    cluster_id = services.add_cluster("clear", real_duration=JOB_SECONDS)
    run_id = services.trigger(DAG_ID, {"cluster_id": cluster_id})
    ti = _finished_try(services, run_id, 1)
    assert ti["state"] == "success", _detail(services, cluster_id, run_id)
    assert len(services.posts(cluster_id)) == 1, _detail(services, cluster_id, run_id)
    return cluster_id, run_id


def test_clearing_the_create_task_then_its_dag_run_runs_the_job_each_time(services: Services, clear_dag: str):
    cluster_id, run_id = _first_run(services)

    services.api(
        "POST",
        f"/api/v2/dags/{DAG_ID}/clearTaskInstances",
        {"dag_run_id": run_id, "task_ids": [TASK_ID], "only_failed": False, "dry_run": False},
    )
    services.log_event(f"cleared task {TASK_ID} of {run_id}")
    ti = _finished_try(services, run_id, 2)
    posts = services.posts(cluster_id)
    assert len(posts) == 2, "a cleared create task must start the job again\n" + _detail(
        services, cluster_id, run_id
    )
    assert ti["state"] == "success", _detail(services, cluster_id, run_id)
    jobs = services.emulator.jobs(cluster_id)
    assert [j["requestResult"] for j in jobs] == ["Success", "Success"], jobs
    assert services.xcom(DAG_ID, run_id, TASK_ID, "request_id") == jobs[1]["requestId"]

    services.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/clear", {"dry_run": False})
    services.log_event(f"cleared DAG run {run_id}")
    ti = _finished_try(services, run_id, 3)
    posts = services.posts(cluster_id)
    assert len(posts) == 3, "a cleared DAG run must start the job again\n" + _detail(
        services, cluster_id, run_id
    )
    assert ti["state"] == "success", _detail(services, cluster_id, run_id)


def test_clearing_the_dag_run_of_a_finished_job_runs_it_again(services: Services, clear_dag: str):
    cluster_id, run_id = _first_run(services)
    started = time.time()
    services.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/clear", {"dry_run": False})
    services.log_event(f"cleared DAG run {run_id}")
    ti = _finished_try(services, run_id, 2)
    posts = services.posts(cluster_id)
    assert len(posts) == 2, "a cleared DAG run must start the job again\n" + _detail(
        services, cluster_id, run_id
    )
    assert ti["state"] == "success", _detail(services, cluster_id, run_id)
    # the second job really ran: its request was followed to its end after the clear
    log = services.task_log(DAG_ID, run_id, TASK_ID, 2)
    assert "Started Hadoop Eco job" in log, log[-3000:]
    assert time.time() - started >= JOB_SECONDS - 1
