"""Canary credentials never reach logs, errors, XCom, rendered fields, trigger kwargs or events."""

from __future__ import annotations

import json
import logging

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from conftest_helpers import run_trigger
from fake_context import make_context
from tests_support import CANARY_API_KEY, CANARY_SECRET

from airflow_provider_hadoop_eco.exceptions import HadoopEcoError
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

CANARIES = (CANARY_SECRET, CANARY_API_KEY)
CREATED = {"clusterId": "c-1", "clusterName": "etl", "requestId": "req-1", "clusterMainSettingValues": {}}


def assert_clean(*texts: str) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary not in text


def test_secrets_are_registered_with_the_masker_as_soon_as_read(hadoop_eco_conn):
    from airflow.providers.common.compat.sdk import redact

    HadoopEcoHook().credentials  # noqa: B018 - reading is the point
    assert CANARY_SECRET not in str(redact(f"x {CANARY_SECRET} y"))
    assert CANARY_API_KEY not in str(redact({"k": CANARY_API_KEY}))


def test_no_canary_in_outputs_of_success_and_error_paths(hadoop_eco_conn, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    api = hadoop_eco_conn
    echo = json.dumps({"echo": f"{CANARY_SECRET} {CANARY_API_KEY}"}).encode()
    errors: list[str] = []

    # success, deferral, trigger event
    api.add(200, CREATED).add(200, {**CREATED, "requestStatus": "Running", "requestResult": None})
    context = make_context()
    task = HadoopEcoCreateClusterOperator(
        task_id="t",
        cluster_id="c-1",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.01,
        retry_delay=0,
    )
    with pytest.raises(TaskDeferred) as info:
        task.execute(context)
    _, kwargs = info.value.trigger.serialize()
    api.add(200, {**CREATED, "requestStatus": "Terminate", "requestResult": "Success"})
    api.add(200, {**CREATED, "requestStatus": "Terminate", "requestResult": "Success"})
    event = run_trigger(info.value.trigger)

    # error paths: the server echoes the secrets back in bodies and headers
    for status in (400, 401, 403, 404, 500, 503):
        api.add(status, raw=echo)
        try:
            HadoopEcoHook(retry_limit=1).create_cluster("c-1")
        except HadoopEcoError as err:
            errors.append(str(err))
            errors.append(repr(err))
    api.add(200, raw=echo)  # not a valid status body: an error quoting the body
    try:
        HadoopEcoRequestSensor(task_id="s", cluster_id="c-1", request_id="req-1").poke(make_context())
    except HadoopEcoError as err:
        errors.append(str(err))

    rendered = {name: getattr(task, name) for name in task.template_fields}
    out, err = capfd.readouterr()
    assert_clean(
        json.dumps(kwargs),
        json.dumps(event),
        json.dumps(context["ti"].xcom, default=str),
        json.dumps(rendered),
        *errors,
        out,
        err,
        caplog.text,
        repr(HadoopEcoHook().credentials),
    )
    assert errors, "the error paths ran"
    assert event["status"] == "success"
