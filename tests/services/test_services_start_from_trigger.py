"""A sensor that starts in the triggerer (``start_from_trigger=True``) under real Airflow 3.3 services.

No try of the sensor may run on a worker on the success path: the scheduler defers it straight to the
trigger, the triggerer renders ``request_id`` (a ``task.output[...]`` value or a Jinja XCom pull) and the
trigger ends the task with its final status as the return value. A timeout still ends as a sensor timeout,
also when the triggerer holding the wait is SIGKILLed and replaced; a failed job still fails the task. Runs
overlap in time to keep the module short (the restart hits every run that waits at that moment).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from services_env import SFT_JINJA_DAG, SFT_MAPPED_DAG, SFT_OUTPUT_DAG, SFT_TIMEOUT_DAG, Services

pytestmark = [pytest.mark.e2e, pytest.mark.airflow3]
SENSOR = "wait_for_job"
#: ``timeout`` of the sensor in services_sft_timeout (dags/services_start_from_trigger_dags.py).
SFT_TIMEOUT = 60
#: Seconds after the timeout run's trigger starts when its triggerer is SIGKILLed.
KILL_AFTER = 35
#: When the timeout run's trigger was first seen in the triggerer, and when that triggerer was killed.
RESTART: dict[str, float] = {}


def _sensor_logs(
    services: Services, dag_id: str, run_id: str, map_index: int = -1
) -> tuple[list[Path], list[Path]]:
    """(worker log files, triggerer log files) of the sensor's tries: a worker writes ``attempt=N.log``."""
    folder = services.env.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={SENSOR}"
    if map_index >= 0:
        folder = folder / f"map_index={map_index}"
    files = sorted(folder.glob("attempt=*")) if folder.exists() else []
    worker = [p for p in files if p.name.endswith(".log") and ".trigger." not in p.name]
    trigger = [p for p in files if ".trigger." in p.name]
    return worker, trigger


@pytest.fixture(scope="module")
def sft_runs(services: Services) -> dict[str, tuple[str, str]]:
    """Start every run of this module at once: {name: (run_id, cluster_id)}."""
    runs = {}
    for name, dag_id, duration, fields in (
        ("output", SFT_OUTPUT_DAG, 20, {}),
        ("jinja", SFT_JINJA_DAG, 20, {}),
        ("failure", SFT_JINJA_DAG, 20, {"outcomes": ["Failure"]}),
        ("timeout", SFT_TIMEOUT_DAG, 600, {}),
    ):
        cluster = services.add_cluster(f"sft-{name}", real_duration=duration, **fields)
        runs[name] = (services.trigger(dag_id, {"cluster_id": cluster}), cluster)
    clusters = [services.add_cluster(f"sft-mapped{i}", real_duration=20) for i in range(2)]
    runs["mapped"] = (services.trigger(SFT_MAPPED_DAG, {"clusters": clusters}), ",".join(clusters))
    # SIGKILL the triggerer while the timeout run's sensor waits in it, and start another one: the deadline
    # lives in the database, so the wait must neither be lost nor get a new deadline.
    timeout_run = runs["timeout"][0]
    services.wait_for(
        "the timeout run's sensor to start in the triggerer",
        lambda: services.trigger_log_files(SFT_TIMEOUT_DAG, timeout_run, SENSOR, 1),
        timeout=120,
        interval=0.5,
    )
    RESTART["first_seen"] = time.time()
    time.sleep(KILL_AFTER)
    services.kill_triggerer()
    RESTART["killed_at"] = time.time()
    services.start_triggerer()
    return runs


@pytest.mark.parametrize(("name", "dag_id"), [("output", SFT_OUTPUT_DAG), ("jinja", SFT_JINJA_DAG)])
def test_sensor_starts_in_the_triggerer_and_never_runs_on_a_worker(services, sft_runs, name, dag_id) -> None:
    run_id, cluster = sft_runs[name]
    state = services.wait_run_done(dag_id, run_id, timeout=180)
    assert state == "success", f"{dag_id}/{run_id}: {state}\n{services.diagnostics()}"
    worker_logs, trigger_logs = _sensor_logs(services, dag_id, run_id)
    assert trigger_logs, "the sensor never ran in the triggerer"
    assert not worker_logs, f"a try of the sensor ran on a worker: {worker_logs}"
    trigger_text = "".join(p.read_text() for p in trigger_logs)
    [job] = services.emulator.jobs(cluster)
    request_id = job["requestId"]
    # The triggerer rendered the request id (from the create task's output / XCom) and saw the job end.
    assert f"request {request_id}: Terminate/Success" in trigger_text, trigger_text[-3000:]
    ti = services.ti(dag_id, run_id, SENSOR)
    assert ti["state"] == "success" and ti["try_number"] == 1, ti
    # The trigger ended the task with the final (verbose) status as its return value.
    result = services.api(
        "GET",
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{SENSOR}/xcomEntries/return_value?deserialize=true",
    )["value"]
    assert result and result["requestId"] == request_id and result["requestResult"] == "Success", result
    assert "clusterMeta" in result
    assert len(services.posts(cluster)) == 1


def test_a_failed_job_fails_the_task_with_the_reason(services, sft_runs) -> None:
    run_id, _ = sft_runs["failure"]
    state = services.wait_run_done(SFT_JINJA_DAG, run_id, timeout=180)
    assert state == "failed", services.diagnostics()
    ti = services.ti(SFT_JINJA_DAG, run_id, SENSOR)
    assert ti["state"] == "failed", ti
    log = services.task_log(SFT_JINJA_DAG, run_id, SENSOR, ti["try_number"])
    assert "Hadoop Eco job failed" in log and "HadoopEcoJobFailedError" in log, log[-3000:]


def test_timeout_still_ends_as_a_sensor_timeout_across_a_triggerer_restart(services, sft_runs) -> None:
    run_id, _ = sft_runs["timeout"]
    state = services.wait_run_done(SFT_TIMEOUT_DAG, run_id, timeout=240)
    assert state == "failed", services.diagnostics()
    ti = services.ti(SFT_TIMEOUT_DAG, run_id, SENSOR)
    assert ti["state"] == "failed", ti
    log = services.task_log(SFT_TIMEOUT_DAG, run_id, SENSOR, ti["try_number"])
    assert "AirflowSensorTimeout" in log, log[-3000:]
    # The wait was in the first triggerer when it died (the failure came after the kill, from the deadline).
    ended = datetime.fromisoformat(ti["end_date"]).timestamp()
    assert RESTART["killed_at"] - RESTART["first_seen"] >= KILL_AFTER
    assert ended > RESTART["killed_at"], (ti["end_date"], RESTART)
    # The deadline counts from the deferral (before first_seen), not from the restart: it falls due by
    # first_seen + 60 s; then Airflow's check (every 5 s) and a worker that fails the task (25 s allowed on a
    # busy machine). A deadline restarted with the new triggerer would end at killed_at + 60 s or later,
    # that is at first_seen + 95 s at the earliest.
    assert ended < RESTART["first_seen"] + SFT_TIMEOUT + 5 + 25, (ended - RESTART["first_seen"], RESTART)


def test_mapped_sensor_falls_back_to_deferring_from_a_worker(services, sft_runs) -> None:
    run_id, clusters = sft_runs["mapped"]
    state = services.wait_run_done(SFT_MAPPED_DAG, run_id, timeout=180)
    assert state == "success", services.diagnostics()
    for index, cluster in enumerate(clusters.split(",")):
        worker_logs, trigger_logs = _sensor_logs(services, SFT_MAPPED_DAG, run_id, index)
        assert worker_logs and trigger_logs, (worker_logs, trigger_logs)
        [job] = services.emulator.jobs(cluster)
        assert job["requestResult"] == "Success"
        assert len(services.posts(cluster)) == 1
