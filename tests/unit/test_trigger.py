"""The trigger: serialisation round trip, and its run() over real HTTP against a scripted fake."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from tests_support import CANARY_API_KEY, CANARY_SECRET
from tests_support import status_body as status

from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

CLUSTER = "c-1"


def trigger(**kwargs) -> HadoopEcoRequestTrigger:
    kwargs.setdefault("poll_interval", 0.01)
    kwargs.setdefault("jitter_first_poll", False)
    return HadoopEcoRequestTrigger(CLUSTER, "req-1", **kwargs)


def collect(trig: HadoopEcoRequestTrigger) -> list[dict]:
    async def go():
        try:
            return [event.payload async for event in trig.run()]
        finally:
            await close_shared_session()

    return asyncio.run(go())


@pytest.fixture(autouse=True)
def _fast_retries(fast_retries):
    fast_retries(retry_limit=2)


def test_serialize_round_trips_every_argument_as_plain_json():
    original = HadoopEcoRequestTrigger(
        cluster_id=CLUSTER,
        request_id="req-1",
        hadoop_eco_conn_id="other_conn",
        poll_interval=12.5,
        end_time=1_900_000_000.5,
        max_consecutive_errors=9,
        started_at=1_800_000_000.0,
        jitter_first_poll=False,
    )
    classpath, kwargs = original.serialize()
    assert classpath == "airflow_provider_hadoop_eco.triggers.hadoop_eco.HadoopEcoRequestTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    import inspect

    params = set(inspect.signature(HadoopEcoRequestTrigger.__init__).parameters) - {"self"}
    assert set(kwargs) == params, "every constructor argument must be serialized"
    module, _, name = classpath.rpartition(".")
    import importlib

    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert CANARY_SECRET not in json.dumps(kwargs) and CANARY_API_KEY not in json.dumps(kwargs)


def test_success_after_several_polls_then_one_verbose_call(hadoop_eco_conn):
    api = hadoop_eco_conn
    api.add(200, status(None, "Pending")).add(200, status(None, "Running")).add(200, status(None, "Running"))
    api.add(200, status("Success", "Terminate"))
    api.add(200, status("Success", "Terminate", clusterMeta={"user_cluster_exec_command": {"type": "hive"}}))
    [event] = collect(trigger())
    assert event["status"] == "success"
    assert event["response"]["clusterMeta"]["user_cluster_exec_command"]["type"] == "hive"
    assert [r.path.endswith("verbose=true") for r in api.requests] == [False] * 4 + [True]


def test_failure_event_carries_the_reason(hadoop_eco_conn):
    meta = {
        "cluster_name": "etl",
        "user_cluster_exec_command": {"type": "spark", "termination_policy": "onSuccess"},
    }
    hadoop_eco_conn.add(200, status("Failure", "Terminate")).add(
        200, status("Failure", "Terminate", clusterMeta=meta)
    )
    [event] = collect(trigger())
    assert event["status"] == "failure"
    assert "Hadoop Eco job failed" in event["message"]
    assert "'spark'" in event["message"] and "'onSuccess'" in event["message"] and "'etl'" in event["message"]


@pytest.mark.parametrize("weird", ["SUCCESS", "success", " Success "])
def test_results_compare_case_insensitively(hadoop_eco_conn, weird):
    hadoop_eco_conn.add(200, status(weird, "TERMINATE")).add(200, status(weird, "TERMINATE"))
    assert collect(trigger())[0]["status"] == "success"


def test_unknown_values_mean_still_running(hadoop_eco_conn):
    api = hadoop_eco_conn
    api.add(200, status("Processing", "WeirdNewStatus")).add(200, {"requestId": "req-1"}).add(
        200, status("", "X")
    )
    api.add(200, status("Failure", "Terminate")).add(200, status("Failure", "Terminate"))
    [event] = collect(trigger())
    assert event["status"] == "failure"
    assert len(api.requests) == 5


def test_deadline_gives_a_timeout_event(hadoop_eco_conn):
    hadoop_eco_conn.default = (200, {}, json.dumps(status()).encode())
    start = time.time()
    [event] = collect(trigger(poll_interval=0.05, end_time=time.time() + 0.5))
    assert event["status"] == "timeout"
    assert "Timed out" in event["message"] and "may still be running" in event["message"]
    assert time.time() - start < 5


def test_deadline_in_the_past_fires_after_one_last_check(hadoop_eco_conn):
    # The last check comes at the deadline (issue 11 item 9), even one already passed when the trigger
    # starts (a triggerer that was down): a job that ended before it is a success, not a timeout.
    hadoop_eco_conn.add(200, status(None, "Running"))
    [event] = collect(trigger(end_time=time.time() - 1))
    assert event["status"] == "timeout"
    assert len(hadoop_eco_conn.requests) == 1


def test_transient_errors_are_survived_within_the_budget(hadoop_eco_conn):
    api = hadoop_eco_conn
    for _ in range(4):  # two polls' worth of retried 5xx (retry_limit=2)
        api.add(503, raw=b"<html>busy</html>")
    api.add_drop().add(200, status("Success", "Terminate")).add(200, status("Success", "Terminate"))
    [event] = collect(trigger(max_consecutive_errors=5))
    assert event["status"] == "success"


def test_a_run_of_errors_beyond_the_budget_ends_with_an_error_event(hadoop_eco_conn):
    hadoop_eco_conn.default = (500, {}, b"<html>down</html>")
    [event] = collect(trigger(max_consecutive_errors=3))
    assert event["status"] == "error"
    assert "3 failed status checks in a row" in event["message"]
    assert len(hadoop_eco_conn.requests) == 6  # 3 polls x 2 attempts


@pytest.mark.parametrize(
    ("code", "words"), [(401, "Authentication failed"), (403, "Open API key"), (404, "Not found")]
)
def test_permanent_errors_end_at_once(hadoop_eco_conn, code, words):
    hadoop_eco_conn.add(code, {"m": "x"}).add(code, {"m": "x"})
    [event] = collect(trigger())
    assert event["status"] == "error"
    assert words in event["message"]


def test_malformed_body_is_an_error_event_not_a_crash(hadoop_eco_conn):
    hadoop_eco_conn.add(200, raw=b'{"requestResult": 42}')
    [event] = collect(trigger())
    assert event["status"] == "error" and "requestResult" in event["message"]


def test_cancellation_propagates(hadoop_eco_conn):
    hadoop_eco_conn.default = (200, {}, json.dumps(status()).encode())

    async def go():
        task = asyncio.ensure_future(trigger(poll_interval=0.05).run().__anext__())
        await asyncio.sleep(0.3)
        task.cancel()
        try:
            await task
        finally:
            await close_shared_session()

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(go())


def test_jittered_first_poll_waits_less_than_one_interval(hadoop_eco_conn, monkeypatch):
    import random

    monkeypatch.setattr(random, "uniform", lambda a, b: b * 0.5)
    hadoop_eco_conn.add(200, status("Success", "Terminate")).add(200, status("Success", "Terminate"))
    start = time.time()
    collect(HadoopEcoRequestTrigger(CLUSTER, "req-1", poll_interval=0.4))
    assert 0.15 <= time.time() - start < 2


def test_the_last_trigger_of_a_loop_closes_the_shared_session(hadoop_eco_conn):
    from airflow_provider_hadoop_eco.hooks import async_http

    hadoop_eco_conn.add(200, status("Success", "Terminate")).add(200, status("Success", "Terminate"))
    seen = {}

    async def go():
        events = [event.payload async for event in trigger().run()]  # no explicit close here
        loop = asyncio.get_running_loop()
        seen["session"] = async_http._sessions.get(loop)
        return events

    [event] = asyncio.run(go())
    assert event["status"] == "success"
    assert seen["session"] is None, "the shared session was closed and dropped when the trigger ended"


@pytest.mark.parametrize(
    ("poll_interval", "end_in", "asked", "grid"),
    [
        (30.0, None, 30.0, 0.05),  # production: a 50 ms grid
        (0.4, None, 0.4, 0.02),  # short polls: at most 1/20 of the interval
        (30.0, 7.3, 30.0, 0.05),  # the deadline comes first: the wait ends at most one slot after it
    ],
)
def test_wake_ups_are_aligned_to_a_shared_grid(monkeypatch, poll_interval, end_in, asked, grid):
    slept: list[tuple[float, float]] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append((asyncio.get_running_loop().time(), seconds))

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    end_time = time.time() + end_in if end_in is not None else None
    trig = trigger(poll_interval=poll_interval, end_time=end_time)

    asks = [asked + i * 0.0137 for i in range(20)]  # unaligned on purpose

    async def go() -> None:
        for seconds in asks:
            await trig._sleep(seconds)

    asyncio.run(go())
    assert len(slept) == len(asks)
    for ask, (now, seconds) in zip(asks, slept, strict=True):
        base = min(ask, end_in) if end_in is not None else ask
        assert base - 0.01 <= seconds < base + grid + 0.001, (seconds, base, grid)
        offset = (now + seconds) % grid
        # `now` is read a few microseconds after the wake-up time was computed
        assert min(offset, grid - offset) < 0.001, f"wake-up {now + seconds} is not on the {grid} s grid"
