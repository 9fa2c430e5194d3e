"""Reliability against the emulator's faults: transient bursts, lost POST answers, redirects, plain http."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest_helpers import run_trigger
from fake_context import make_context

from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoClusterBusyError,
    HadoopEcoConfigError,
    HadoopEcoJobMayHaveStartedError,
    HadoopEcoUnexpectedStatusError,
)
from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

pytestmark = pytest.mark.hadoop_eco_emulator(time_scale=50)


def burst(emulator, method="GET"):
    """Every transient fault the emulator can throw, in a row."""
    emulator.inject_fault("status", code=500, method=method, count=1)
    emulator.inject_fault("status", code=502, html=True, method=method, count=1)
    emulator.inject_fault("status", code=503, html=True, method=method, count=1)
    emulator.inject_fault("rate_limit", retry_after=0, method=method, count=1)
    emulator.inject_fault("drop", method=method, count=1)
    emulator.inject_fault("status", code=503, method=method, count=1)
    emulator.inject_fault("rate_limit", retry_after=0, method=method, count=1)


def test_deferred_sensor_survives_bursts_of_transient_faults(emulator):
    request_id = HadoopEcoHook().create_cluster(emulator.cluster_id)["requestId"]
    burst(emulator)
    event = run_trigger(
        HadoopEcoRequestTrigger(emulator.cluster_id, request_id, poll_interval=0.05, jitter_first_poll=False)
    )
    assert event["status"] == "success", event
    assert emulator.faults == [], "every fault was consumed"
    result = HadoopEcoRequestSensor(
        task_id="w", cluster_id=emulator.cluster_id, request_id=request_id
    ).execute_complete(make_context(), event)
    assert result["requestResult"] == "Success"


def test_poke_sensor_survives_bursts_of_transient_faults(emulator):
    request_id = HadoopEcoHook().create_cluster(emulator.cluster_id)["requestId"]
    burst(emulator)
    result = HadoopEcoRequestSensor(
        task_id="w",
        cluster_id=emulator.cluster_id,
        request_id=request_id,
        deferrable=False,
        poke_interval=0.05,
        timeout=30,
    ).execute(make_context())
    assert result["requestResult"] == "Success"
    assert emulator.faults == []


def test_unknown_statuses_do_not_end_the_wait(emulator):
    request_id = HadoopEcoHook().create_cluster(emulator.cluster_id)["requestId"]
    emulator.inject_fault("unknown_status", request_status="WEIRD", request_result="SomethingNew", count=3)
    event = run_trigger(
        HadoopEcoRequestTrigger(emulator.cluster_id, request_id, poll_interval=0.05, jitter_first_poll=False)
    )
    assert event["status"] == "success"


def test_lost_post_answer_says_may_have_started_and_the_retry_starts_nothing(emulator, monkeypatch):
    emulator.update_cluster(duration=600)  # the job keeps running for the whole test
    emulator.inject_fault("slow", method="POST", delay=2.0, count=1)  # job starts, answer comes too late
    from airflow_provider_hadoop_eco.hooks import hadoop_eco

    original = hadoop_eco.HadoopEcoHook.__init__
    monkeypatch.setattr(
        hadoop_eco.HadoopEcoHook, "__init__", lambda self, *a, **k: original(self, *a, timeout=0.5, **k)
    )

    first_try = HadoopEcoCreateClusterOperator(task_id="create", cluster_id=emulator.cluster_id)
    with pytest.raises(HadoopEcoJobMayHaveStartedError) as info:
        first_try.execute(make_context())
    text = str(info.value)
    assert "MAY HAVE STARTED" in text and "console" in text and "202" in text
    assert len(emulator.jobs()) == 1, "the job did start on the server"

    retry = HadoopEcoCreateClusterOperator(task_id="create", cluster_id=emulator.cluster_id)
    with pytest.raises(HadoopEcoClusterBusyError, match="already running"):
        retry.execute(make_context())
    import time

    deadline = time.time() + 10
    while len(emulator.posts()) < 2 and time.time() < deadline:  # the slow answer is recorded once sent
        time.sleep(0.1)
    assert len(emulator.posts()) == 2
    assert len(emulator.jobs()) == 1, "the retry did not start a second job"


def test_post_dropped_after_processing_is_not_retried(emulator):
    emulator.inject_fault("drop", method="POST", process=True, count=1)
    with pytest.raises(HadoopEcoJobMayHaveStartedError):
        HadoopEcoHook().create_cluster(emulator.cluster_id)
    assert len(emulator.posts()) == 1
    assert len(emulator.jobs()) == 1


def test_post_5xx_is_not_retried_and_says_may_have_started(emulator):
    emulator.inject_fault("status", code=502, html=True, method="POST", count=1)
    with pytest.raises(HadoopEcoJobMayHaveStartedError, match="MAY HAVE STARTED"):
        HadoopEcoHook().create_cluster(emulator.cluster_id)
    assert len(emulator.posts()) == 1


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_redirects_are_never_followed_with_credentials(emulator, code):
    from airflow_provider_hadoop_eco.emulator.server import Emulator

    with Emulator(port=0) as elsewhere:
        target = f"{elsewhere.url}/hadoop-eco/v1/cluster/{emulator.cluster_id}"
        emulator.inject_fault("redirect", code=code, location=target, count=None)
        hook = HadoopEcoHook()
        with pytest.raises(HadoopEcoUnexpectedStatusError, match="not followed"):
            hook.create_cluster(emulator.cluster_id)
        with pytest.raises(HadoopEcoUnexpectedStatusError, match="not followed"):
            hook.get_request_status(emulator.cluster_id, "req-1")

        async def async_call():
            try:
                await hook.aget_request_status(emulator.cluster_id, "req-1")
            finally:
                await close_shared_session()

        with pytest.raises(HadoopEcoUnexpectedStatusError, match="not followed"):
            asyncio.run(async_call())
        assert elsewhere.requests == [], "nothing, and so no credential, reached the other address"


def test_plain_http_to_a_non_loopback_host_is_refused_before_connecting(monkeypatch, emulator):
    conn = json.loads(emulator.conn_json())
    monkeypatch.setenv(
        "AIRFLOW_CONN_HADOOP_ECO_DEFAULT", json.dumps({**conn, "host": "http://hadoop-eco.example.com"})
    )
    with pytest.raises(HadoopEcoConfigError, match="plain http"):
        HadoopEcoHook().create_cluster(emulator.cluster_id)
    with pytest.raises(HadoopEcoConfigError, match="plain http"):
        HadoopEcoHook().get_request_status(emulator.cluster_id, "req-1")
    assert emulator.requests == []


def test_tls_verification_is_on_by_default(emulator):
    assert HadoopEcoHook().credentials.verify is True
