"""Hook, operator, sensor and trigger against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from fake_context import make_context

from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoAuthError,
    HadoopEcoBadRequestError,
    HadoopEcoClusterBusyError,
    HadoopEcoJobFailedError,
    HadoopEcoNotFoundError,
)
from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

pytestmark = pytest.mark.hadoop_eco_emulator(manual_clock=True)


def run_trigger(trigger) -> dict:
    async def go():
        try:
            return [event.payload async for event in trigger.run()]
        finally:
            await close_shared_session()

    [event] = asyncio.run(go())
    return event


def test_hook_create_then_status_lifecycle(emulator):
    hook = HadoopEcoHook()
    created = hook.create_cluster(emulator.cluster_id, worker_count=2, exec_opts="--hiveconf a=b")
    assert created["clusterId"] == emulator.cluster_id
    assert created["requestId"].startswith("req-")
    assert created["clusterMainSettingValues"]["workerCnt"] == 2
    [post] = emulator.posts()
    assert post["body"] == {"workerCnt": 2, "userTaskExecOpts": "--hiveconf a=b"}
    seen = set()
    for _ in range(40):
        status = hook.get_request_status(emulator.cluster_id, created["requestId"])
        seen.add(status["requestStatus"])
        if status["requestResult"]:
            break
        emulator.advance(1)
    assert status["requestStatus"] == "Terminate" and status["requestResult"] == "Success"
    assert len(seen) >= 3, seen
    verbose = hook.get_request_status(emulator.cluster_id, created["requestId"], verbose=True)
    assert verbose["clusterMeta"]["user_cluster_exec_command"]["type"] == "hive"


def test_hook_errors_202_401_403_404_400(emulator, monkeypatch):
    hook = HadoopEcoHook()
    hook.create_cluster(emulator.cluster_id)
    with pytest.raises(HadoopEcoClusterBusyError, match="HTTP 202"):
        hook.create_cluster(emulator.cluster_id)
    with pytest.raises(HadoopEcoNotFoundError, match="HTTP 404"):
        hook.create_cluster("no-such-cluster")
    with pytest.raises(HadoopEcoNotFoundError, match="HTTP 404"):
        hook.get_request_status(emulator.cluster_id, "req-unknown")
    conn = json.loads(emulator.conn_json())
    monkeypatch.setenv("AIRFLOW_CONN_WRONG_KEY", json.dumps({**conn, "extra": {"api_key": "wrong"}}))
    with pytest.raises(HadoopEcoAuthError, match="HTTP 403"):
        HadoopEcoHook("wrong_key").get_request_status(emulator.cluster_id, "req-x")
    monkeypatch.setenv("AIRFLOW_CONN_WRONG_SECRET", json.dumps({**conn, "password": "wrong"}))
    with pytest.raises(HadoopEcoAuthError, match="HTTP 401"):
        HadoopEcoHook("wrong_secret").create_cluster(emulator.cluster_id)
    # the hook validates ranges itself; the emulator's own 400 shows through a subclass that skips it
    from airflow_provider_hadoop_eco.hooks import hadoop_eco

    monkeypatch.setattr(hadoop_eco, "build_create_body", lambda settings: {"workerCnt": 0})
    with pytest.raises(HadoopEcoBadRequestError, match="workerCnt"):
        HadoopEcoHook().create_cluster("58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf")


def _advance_in_background(emulator, seconds_per_tick=5.0, interval=0.02, stop_after=5.0):
    stop = threading.Event()

    def tick():
        deadline = time.time() + stop_after
        while not stop.is_set() and time.time() < deadline:
            emulator.advance(seconds_per_tick)
            time.sleep(interval)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    return stop


def test_operator_waits_in_worker_through_several_polls(emulator):
    stop = _advance_in_background(emulator)
    try:
        context = make_context()
        op = HadoopEcoCreateClusterOperator(
            task_id="t",
            cluster_id=emulator.cluster_id,
            worker_count=3,
            wait_for_completion=True,
            deferrable=False,
            poll_interval=0.05,
        )
        result = op.execute(context)
    finally:
        stop.set()
    assert result["requestId"] == context["ti"].xcom["request_id"]
    assert len(emulator.posts()) == 1
    assert len(emulator.gets()) >= 3


def test_operator_failure_in_worker(emulator):
    emulator.update_cluster(outcomes=["Failure"], duration=0)
    op = HadoopEcoCreateClusterOperator(
        task_id="t",
        cluster_id=emulator.cluster_id,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.05,
    )
    with pytest.raises(HadoopEcoJobFailedError) as info:
        op.execute(make_context())
    assert (
        "hive-job-cluster" in str(info.value)
        and "'hive'" in str(info.value)
        and "'always'" in str(info.value)
    )


def test_deferred_sensor_then_trigger_then_execute_complete(emulator):
    request_id = HadoopEcoHook().create_cluster(emulator.cluster_id)["requestId"]
    sensor = HadoopEcoRequestSensor(
        task_id="wait",
        cluster_id=emulator.cluster_id,
        request_id=request_id,
        deferrable=True,
        poke_interval=0.05,
        timeout=60,
    )
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(make_context())
    stop = _advance_in_background(emulator)
    try:
        event = run_trigger(info.value.trigger)
    finally:
        stop.set()
    assert event["status"] == "success"
    result = sensor.execute_complete(make_context(), event)
    assert result["requestResult"] == "Success" and "clusterMeta" in result
    assert len(emulator.gets(request_id=request_id)) >= 3


def test_trigger_failure_event(emulator):
    emulator.update_cluster(outcomes=["Failure"], duration=0)
    request_id = HadoopEcoHook().create_cluster(emulator.cluster_id)["requestId"]
    from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

    event = run_trigger(
        HadoopEcoRequestTrigger(emulator.cluster_id, request_id, poll_interval=0.05, jitter_first_poll=False)
    )
    assert event["status"] == "failure"
    with pytest.raises(HadoopEcoJobFailedError, match="hive-job-cluster"):
        HadoopEcoRequestSensor(
            task_id="w", cluster_id=emulator.cluster_id, request_id=request_id
        ).execute_complete(make_context(), event)


def test_poke_sensor_against_emulator(emulator):
    request_id = HadoopEcoHook().create_cluster(emulator.cluster_id)["requestId"]
    stop = _advance_in_background(emulator)
    try:
        result = HadoopEcoRequestSensor(
            task_id="w",
            cluster_id=emulator.cluster_id,
            request_id=request_id,
            deferrable=False,
            poke_interval=0.05,
            timeout=30,
        ).execute(make_context())
    finally:
        stop.set()
    assert result["requestResult"] == "Success"


def test_test_connection_against_emulator_never_posts(emulator, monkeypatch):
    conn = json.loads(emulator.conn_json())
    conn["extra"]["cluster_id"] = emulator.cluster_id
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", json.dumps(conn))
    ok, message = HadoopEcoHook().test_connection()
    assert ok, message
    assert "were not refused" in message
    for broken, code in (
        ({"password": "bad-secret"}, "401"),
        ({"extra": {**conn["extra"], "api_key": "bad-key"}}, "403"),
    ):
        monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", json.dumps({**conn, **broken}))
        ok, message = HadoopEcoHook().test_connection()
        assert not ok and code in message
    del conn["extra"]["cluster_id"]
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", json.dumps(conn))
    ok, message = HadoopEcoHook().test_connection()
    assert not ok and "Set the extra 'cluster_id'" in message
    assert emulator.posts() == []
    assert {g["method"] for g in emulator.requests} == {"GET"}
