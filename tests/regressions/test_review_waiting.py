"""Review defects 7, 9, 14, 17 and 18, and test gaps (b), (c), (d): waiting for a request, in the worker and
in the triggerer. Every wait here is bounded, so that a broken rule fails in seconds instead of hanging.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, TaskDeferred
from fake_context import make_context
from review_support import CREATED, ByMethod, answer, run_one_event, run_trigger_events
from tests_support import conn_json as conn
from tests_support import status_body as status

from airflow_provider_hadoop_eco.exceptions import HadoopEcoError, HadoopEcoTimeoutError
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

pytestmark = pytest.mark.timeout(30)

CLUSTER = "c-1"
CONN_ENV = "AIRFLOW_CONN_HADOOP_ECO_DEFAULT"
RUNNING = json.dumps(status(None, "Running")).encode()
DONE = json.dumps(status("Success", "Terminate")).encode()


def trigger(**kwargs) -> HadoopEcoRequestTrigger:
    kwargs.setdefault("poll_interval", 0.01)
    kwargs.setdefault("jitter_first_poll", False)
    return HadoopEcoRequestTrigger(CLUSTER, "req-1", **kwargs)


def op(**kwargs) -> HadoopEcoCreateClusterOperator:
    kwargs.setdefault("poll_interval", 0.01)
    return HadoopEcoCreateClusterOperator(task_id="create", cluster_id=CLUSTER, **kwargs)


# --- defect 7: the deferrable operator's first check absorbs transient errors ---------------------------------


def test_deferrable_operator_defers_when_its_first_check_gets_only_503(hadoop_eco_conn, fast_retries):
    fast_retries(retry_limit=2)
    hadoop_eco_conn.add(200, CREATED)
    hadoop_eco_conn.default = (503, {"Content-Type": "text/html"}, b"<html>busy</html>")
    task = op(wait_for_completion=True, deferrable=True, wait_timeout=timedelta(hours=1), poll_interval=15)
    with pytest.raises(TaskDeferred) as info:
        task.execute(make_context())
    assert isinstance(info.value.trigger, HadoopEcoRequestTrigger)
    methods = [r.method for r in hadoop_eco_conn.requests]
    assert methods[0] == "POST" and methods.count("POST") == 1, methods
    assert methods.count("GET") >= 2, "the first check was retried by the hook before deferring"


# --- defect 9: one last status call at the deadline ----------------------------------------------------------


def test_trigger_makes_one_last_call_at_the_deadline(hadoop_eco_conn):
    """Running at the first poll; the job succeeds just before the deadline: a success, not a timeout."""
    api = hadoop_eco_conn.add(200, status(None, "Running"))
    api.default = (200, {"Content-Type": "application/json"}, DONE)
    start = time.time()
    event = run_one_event(trigger(poll_interval=30, end_time=time.time() + 0.5), timeout=10)
    assert event["status"] == "success", event
    assert time.time() - start < 5, "the wait must not outlast its deadline by a poll interval"


def test_trigger_whose_deadline_passes_during_the_first_jitter_still_calls_once(hadoop_eco_conn, monkeypatch):
    """A trigger that never polled before its deadline (jittered first poll) asks once before timing out."""
    import random

    monkeypatch.setattr(random, "uniform", lambda a, b: b)  # the longest jitter: past the deadline
    hadoop_eco_conn.default = (200, {"Content-Type": "application/json"}, DONE)
    event = run_one_event(
        trigger(poll_interval=30, end_time=time.time() + 0.3, jitter_first_poll=True), timeout=10
    )
    assert event["status"] == "success", event
    assert hadoop_eco_conn.requests, "the trigger timed out without a single status call"


def test_guard_the_in_worker_wait_makes_one_last_call_at_the_deadline(hadoop_eco_conn):
    """Guard (passes today: the worker loop polls once more after sleeping to the deadline)."""
    api = hadoop_eco_conn.add(200, CREATED).add(200, status(None, "Running"))
    api.default = (200, {"Content-Type": "application/json"}, DONE)
    start = time.time()
    result = op(wait_for_completion=True, deferrable=False, poll_interval=30, wait_timeout=0.5).execute(
        make_context()
    )
    assert result == CREATED
    assert time.time() - start < 5


# --- defect 14: the in-worker wait re-reads the connection once after 401/403 ---------------------------------

ROTATED_SECRET = "ROTATED-SECRET-0b7e4f1a93"
ROTATED_API_KEY = "ROTATED-APIKEY-6c2d9e8b15"


def rotating_server(api, field: str):
    """401/403 for the old credentials, after switching the connection to the new ones (a key rotated while
    the wait ran); the new credentials see the job running once, then done."""
    old_url = api.url
    new = {"password": ROTATED_SECRET} if field == "password" else {"api_key": ROTATED_API_KEY}
    header, value = (
        ("Credential-Secret", ROTATED_SECRET)
        if field == "password"
        else ("Hadoop-Eco-Api-Key", ROTATED_API_KEY)
    )
    code = 401 if field == "password" else 403
    fresh = ByMethod(gets=[answer(200, status(None, "Running"))])

    def handler(request):
        if request.method == "POST":
            return answer(200, CREATED)
        if request.headers.get(header) == value:
            return fresh(request)
        os.environ[CONN_ENV] = conn(old_url, **new)  # the key is rotated now
        return answer(code, {"message": "credentials refused"})

    api.handler = handler
    return header, value


@pytest.mark.parametrize("field", ["password", "api_key"])
def test_in_worker_wait_rereads_the_connection_after_401_or_403(programmable_api, monkeypatch, field):
    monkeypatch.setenv(CONN_ENV, conn(programmable_api.url))
    header, value = rotating_server(programmable_api, field)
    result = op(wait_for_completion=True, deferrable=False, wait_timeout=20).execute(make_context())
    assert result == CREATED
    gets = [r for r in programmable_api.requests if r.method == "GET"]
    assert any(r.headers.get(header) == value for r in gets), "the new credentials were never used"


@pytest.mark.parametrize("field", ["password", "api_key"])
def test_gap_b_the_trigger_rereads_the_connection_after_401_or_403(programmable_api, monkeypatch, field):
    """Gap (b): fails if the trigger's credential refresh after 401/403 is removed."""
    monkeypatch.setenv(CONN_ENV, conn(programmable_api.url))
    header, value = rotating_server(programmable_api, field)
    event = run_one_event(trigger(poll_interval=0.05, max_consecutive_errors=2), timeout=10)
    assert event["status"] == "success", event
    gets = [r for r in programmable_api.requests if r.method == "GET"]
    assert gets[0].headers.get(header) != value and gets[1].headers.get(header) == value


# --- defect 17: a failed connection lookup in the trigger goes through the error budget ----------------------


def test_a_missing_connection_ends_the_trigger_with_an_error_event_naming_it(fast_retries):
    fast_retries(retry_limit=1)
    event = run_one_event(
        trigger(hadoop_eco_conn_id="hadoop_eco_nowhere", max_consecutive_errors=2), timeout=10
    )
    assert event["status"] == "error", event
    assert "hadoop_eco_nowhere" in event["message"], event["message"]


def test_a_failed_connection_lookup_is_retried_within_the_budget(hadoop_eco_conn, monkeypatch, fast_retries):
    """The lookup fails (secrets backend down, connection not there yet), then works: the trigger carries on."""
    import asyncio

    fast_retries(retry_limit=1)
    monkeypatch.delenv("AIRFLOW_CONN_HADOOP_ECO_LATE", raising=False)
    hadoop_eco_conn.default = (200, {"Content-Type": "application/json"}, DONE)
    good = conn(hadoop_eco_conn.url)

    async def go():
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, os.environ.__setitem__, "AIRFLOW_CONN_HADOOP_ECO_LATE", good)
        trig = trigger(hadoop_eco_conn_id="hadoop_eco_late", poll_interval=0.6, max_consecutive_errors=5)
        try:
            return [e.payload async for e in trig.run()]
        finally:
            os.environ.pop("AIRFLOW_CONN_HADOOP_ECO_LATE", None)
            from review_support import close_shared_session

            await close_shared_session()

    events = asyncio.run(asyncio.wait_for(go(), 15))
    assert [e["status"] for e in events] == ["success"], events


# --- defect 18: Retry-After never pushes a wait past its deadline ---------------------------------------------

RATE_LIMITED = (429, {"Content-Type": "application/json", "Retry-After": "600"}, b'{"message": "slow down"}')


def test_retry_after_does_not_outlast_the_triggers_deadline(hadoop_eco_conn):
    hadoop_eco_conn.default = RATE_LIMITED
    start = time.time()
    event = run_one_event(
        trigger(poll_interval=0.05, end_time=time.time() + 1, max_consecutive_errors=100), 10
    )
    assert event["status"] == "timeout", event
    assert time.time() - start < 6


@pytest.mark.timeout(20, method="signal")
def test_retry_after_does_not_outlast_the_sensors_timeout_in_poke_mode(hadoop_eco_conn):
    hadoop_eco_conn.default = RATE_LIMITED
    start = time.time()
    sensor = HadoopEcoRequestSensor(
        task_id="wait",
        cluster_id=CLUSTER,
        request_id="req-1",
        deferrable=False,
        mode="poke",
        poke_interval=0.05,
        timeout=1,
        max_consecutive_errors=100,
    )
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute(make_context())
    assert time.time() - start < 6


@pytest.mark.timeout(20, method="signal")
def test_retry_after_does_not_outlast_the_operators_wait_timeout(hadoop_eco_conn):
    hadoop_eco_conn.add(200, CREATED)
    hadoop_eco_conn.default = RATE_LIMITED
    start = time.time()
    with pytest.raises(HadoopEcoTimeoutError):
        op(
            wait_for_completion=True,
            deferrable=False,
            poll_interval=0.05,
            wait_timeout=1,
            max_consecutive_errors=100,
        ).execute(make_context())
    assert time.time() - start < 6


# --- gap (c): the trigger's deadline holds ---------------------------------------------------------------------


@pytest.mark.parametrize("poll_interval", [0.05, 30.0])
def test_gap_c_the_trigger_times_out_at_its_deadline(hadoop_eco_conn, poll_interval):
    """Fails in seconds (not hangs) if the trigger ignores end_time, whatever the poll interval."""
    hadoop_eco_conn.default = (200, {"Content-Type": "application/json"}, RUNNING)
    start = time.time()
    events = run_trigger_events(trigger(poll_interval=poll_interval, end_time=time.time() + 0.5), timeout=8)
    assert [e["status"] for e in events] == ["timeout"], events
    assert time.time() - start < 5


# --- gap (d): the error budget runs out ------------------------------------------------------------------------


def test_gap_d_the_triggers_error_budget_runs_out(hadoop_eco_conn, fast_retries):
    fast_retries(retry_limit=2)
    hadoop_eco_conn.default = (500, {"Content-Type": "text/html"}, b"<html>down</html>")
    events = run_trigger_events(trigger(max_consecutive_errors=3), timeout=8)
    assert [e["status"] for e in events] == ["error"], events
    assert len(hadoop_eco_conn.requests) == 6, "3 failed polls of 2 attempts each"


@pytest.mark.timeout(15, method="signal")
def test_gap_d_the_poke_sensors_error_budget_runs_out(hadoop_eco_conn, fast_retries):
    fast_retries(retry_limit=1)
    hadoop_eco_conn.default = (500, {"Content-Type": "text/html"}, b"<html>down</html>")
    sensor = HadoopEcoRequestSensor(
        task_id="wait",
        cluster_id=CLUSTER,
        request_id="req-1",
        deferrable=False,
        mode="poke",
        poke_interval=0.01,
        timeout=3600,
        max_consecutive_errors=3,
    )
    with pytest.raises(HadoopEcoError):
        sensor.execute(make_context())
    assert len(hadoop_eco_conn.requests) == 3


@pytest.mark.timeout(15, method="signal")
def test_gap_d_the_in_worker_error_budget_runs_out(hadoop_eco_conn, fast_retries):
    fast_retries(retry_limit=1)
    hadoop_eco_conn.add(200, CREATED)
    hadoop_eco_conn.default = (500, {"Content-Type": "text/html"}, b"<html>down</html>")
    with pytest.raises(HadoopEcoError) as info:
        op(wait_for_completion=True, deferrable=False, wait_timeout=3600, max_consecutive_errors=3).execute(
            make_context()
        )
    assert not isinstance(info.value, HadoopEcoTimeoutError)
    assert [r.method for r in hadoop_eco_conn.requests] == ["POST", "GET", "GET", "GET"]
