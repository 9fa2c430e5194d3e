"""Review defects 12, 15 and 16: dot-segment ids, raw exceptions from odd input, and async calls made outside a
trigger.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
import warnings
import weakref

import pytest
from fake_context import make_context
from review_support import arun, run_one_event
from tests_support import status_body as status

from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError, HadoopEcoResponseError
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

pytestmark = pytest.mark.timeout(30)

CLUSTER = "c-1"
DOT_IDS = [".", ".."]


def hook() -> HadoopEcoHook:
    return HadoopEcoHook(retry_delay=0.01, retry_max_delay=0.05, timeout=5, connect_timeout=2)


# --- defect 12: "." and ".." are not ids ------------------------------------------------------------------------


@pytest.mark.parametrize("dot", DOT_IDS)
def test_hook_create_rejects_a_dot_cluster_id(hadoop_eco_conn, dot):
    with pytest.raises(HadoopEcoConfigError, match="cluster_id"):
        hook().create_cluster(dot)
    assert hadoop_eco_conn.requests == []


@pytest.mark.parametrize("dot", DOT_IDS)
@pytest.mark.parametrize(
    ("which", "ids"), [("cluster_id", ("{dot}", "req-1")), ("request_id", (CLUSTER, "{dot}"))]
)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_hook_status_rejects_dot_ids(hadoop_eco_conn, dot, which, ids, kind):
    cluster_id, request_id = (value.format(dot=dot) for value in ids)
    with pytest.raises(HadoopEcoConfigError, match=which):
        if kind == "sync":
            hook().get_request_status(cluster_id, request_id)
        else:
            arun(hook().aget_request_status(cluster_id, request_id))
    assert hadoop_eco_conn.requests == []


@pytest.mark.parametrize("dot", DOT_IDS)
def test_operator_rejects_a_dot_cluster_id(hadoop_eco_conn, dot):
    with pytest.raises(HadoopEcoConfigError, match="cluster_id"):
        HadoopEcoCreateClusterOperator(task_id="create", cluster_id=dot).execute(make_context())
    assert hadoop_eco_conn.requests == []


@pytest.mark.parametrize("dot", DOT_IDS)
@pytest.mark.parametrize("which", ["cluster_id", "request_id"])
def test_sensor_rejects_dot_ids(hadoop_eco_conn, dot, which):
    ids = {"cluster_id": CLUSTER, "request_id": "req-1", which: dot}
    with pytest.raises(HadoopEcoConfigError, match=which):
        HadoopEcoRequestSensor(task_id="wait", **ids).poke(make_context())
    assert hadoop_eco_conn.requests == []


@pytest.mark.parametrize("dot", DOT_IDS)
def test_trigger_rejects_a_dot_request_id_with_an_error_event(hadoop_eco_conn, dot):
    trigger = HadoopEcoRequestTrigger(
        CLUSTER, dot, poll_interval=0.01, jitter_first_poll=False, end_time=time.time() + 2
    )
    event = run_one_event(trigger)
    assert event["status"] == "error", event
    assert "request_id" in event["message"], event["message"]
    assert hadoop_eco_conn.requests == []


# --- defect 15: raw exceptions from odd input --------------------------------------------------------------------

ODD_NUMBERS = {"superscript-two": "²", "digits-over-the-int-limit": "1" * 5000, "circled-one": "①"}


@pytest.mark.parametrize("value", sorted(ODD_NUMBERS))
def test_an_odd_numeric_setting_is_a_config_error_at_parse_time(value):
    with pytest.raises(HadoopEcoConfigError, match="worker_count"):
        HadoopEcoCreateClusterOperator(task_id="create", cluster_id=CLUSTER, worker_count=ODD_NUMBERS[value])


@pytest.mark.parametrize("value", sorted(ODD_NUMBERS))
def test_an_odd_numeric_setting_rendered_from_a_template_is_a_config_error(hadoop_eco_conn, value):
    task = HadoopEcoCreateClusterOperator(
        task_id="create", cluster_id=CLUSTER, hdfs_block_size="{{ params.x }}"
    )
    task.hdfs_block_size = ODD_NUMBERS[value]  # what rendering left in the field
    with pytest.raises(HadoopEcoConfigError, match="hdfs_block_size"):
        task.execute(make_context())
    assert hadoop_eco_conn.requests == []


@pytest.mark.parametrize("value", sorted(ODD_NUMBERS))
def test_an_odd_numeric_setting_given_to_the_hook_is_a_config_error(hadoop_eco_conn, value):
    with pytest.raises(HadoopEcoConfigError, match="worker_volume_size"):
        hook().create_cluster(CLUSTER, worker_volume_size=ODD_NUMBERS[value])
    assert hadoop_eco_conn.requests == []


DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
HUGE_NUMBER = b'{"requestId": "req-1", "requestStatus": ' + b"1" * 5000 + b"}"
ODD_BODIES = {"deep-arrays": DEEP, "deep-objects": DEEP_OBJECT, "huge-number": HUGE_NUMBER}


@pytest.mark.parametrize("body", sorted(ODD_BODIES))
@pytest.mark.parametrize("kind", ["create", "status", "async"])
def test_an_odd_response_body_is_a_response_error(hadoop_eco_conn, body, kind):
    hadoop_eco_conn.default = (200, {"Content-Type": "application/json"}, ODD_BODIES[body])
    with pytest.raises(Exception) as info:
        if kind == "create":
            hook().create_cluster(CLUSTER)
        elif kind == "status":
            hook().get_request_status(CLUSTER, "req-1")
        else:
            arun(hook().aget_request_status(CLUSTER, "req-1"))
    assert isinstance(info.value, HadoopEcoResponseError), (
        f"{type(info.value).__name__}: {str(info.value)[:300]}"
    )


@pytest.mark.parametrize("body", sorted(ODD_BODIES))
def test_an_odd_response_body_ends_the_trigger_with_an_error_event(hadoop_eco_conn, body):
    hadoop_eco_conn.default = (200, {"Content-Type": "application/json"}, ODD_BODIES[body])
    event = run_one_event(
        HadoopEcoRequestTrigger(CLUSTER, "req-1", poll_interval=0.01, jitter_first_poll=False)
    )
    assert event["status"] == "error", event
    assert len(event["message"]) < 2000, "the error quotes the whole body"


# --- defect 16: an async call outside a trigger leaves nothing behind ---------------------------------------------


def test_async_status_calls_outside_a_trigger_leave_no_session_and_no_loop_behind(hadoop_eco_conn, caplog):
    caplog.set_level(logging.DEBUG)
    hadoop_eco_conn.default = (
        200,
        {"Content-Type": "application/json"},
        json.dumps(status("Success", "Terminate")).encode(),
    )
    loops: list[weakref.ref] = []

    async def one_call() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        await HadoopEcoHook().aget_request_status(CLUSTER, "req-1")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            asyncio.run(one_call())  # no clean-up call of any kind
        gc.collect()
        gc.collect()

    assert len(hadoop_eco_conn.requests) == 3
    unclosed = [str(w.message) for w in caught if "nclosed" in str(w.message)]
    unclosed += [r.getMessage() for r in caplog.records if "nclosed" in r.getMessage()]
    assert unclosed == [], unclosed
    alive = [ref for ref in loops if ref() is not None]
    assert alive == [], f"{len(alive)} finished event loops are still referenced"


def test_guard_the_async_call_itself_works_outside_a_trigger(hadoop_eco_conn):
    hadoop_eco_conn.default = (200, {"Content-Type": "application/json"}, json.dumps(status(None)).encode())
    asyncio.run(HadoopEcoHook().aget_request_status(CLUSTER, "req-1"))
    assert len(hadoop_eco_conn.requests) == 1
