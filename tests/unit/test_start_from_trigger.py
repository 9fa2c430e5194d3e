"""start_from_trigger: what the sensor hands the scheduler on Airflow 3.3+, and the fallback below it."""

from __future__ import annotations

from datetime import datetime, timedelta

import airflow
import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from fake_context import make_context
from tests_support import status_body as status

from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

AIRFLOW_33 = tuple(int(x) for x in airflow.__version__.split(".")[:2]) >= (3, 3)
TRIGGER = "airflow_provider_hadoop_eco.triggers.hadoop_eco.HadoopEcoRequestTrigger"


def _dag():
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2
        from airflow import DAG
    return DAG(dag_id="sft", start_date=datetime(2025, 1, 1), schedule=None)


@pytest.mark.skipif(not AIRFLOW_33, reason="the triggerer renders templated trigger kwargs from Airflow 3.3")
def test_the_scheduler_gets_the_trigger_with_templates_left_for_the_triggerer():
    with _dag():
        create = HadoopEcoCreateClusterOperator(task_id="start_job", cluster_id="{{ params.c }}")
        sensor = HadoopEcoRequestSensor(
            task_id="wait",
            cluster_id="{{ params.c }}",
            request_id=create.output["requestId"],
            start_from_trigger=True,
            poke_interval=7,
            timeout=600,
            hook_params={"retry_limit": 2},
        )
    args = sensor.start_trigger_args
    assert sensor.start_from_trigger is True
    assert args.trigger_cls == TRIGGER and args.next_method == "execute_complete"
    assert args.timeout == timedelta(seconds=600), "Airflow's trigger timeout is the sensor's deadline"
    kwargs = args.trigger_kwargs
    assert kwargs["cluster_id"] == "{{ params.c }}"
    # task.output[...] becomes a single-index XCom pull: the 3.3 triggerer serves nothing else.
    assert kwargs["request_id"] == "{{ ti.xcom_pull(task_ids='start_job', key='requestId', map_indexes=-1) }}"
    assert kwargs["end_from_trigger"] is True and kwargs["end_time"] is None
    assert "started_at" not in kwargs, "a parse-time timestamp would be stale when the task starts"
    assert kwargs["poll_interval"] == 7 and kwargs["hook_params"] == {"retry_limit": 2}
    # Every kwarg rebuilds the trigger, as the triggerer will.
    assert isinstance(HadoopEcoRequestTrigger(**kwargs), HadoopEcoRequestTrigger)
    # The class attribute is untouched: other sensors keep starting on a worker.
    assert HadoopEcoRequestSensor.start_trigger_args is None
    assert create.multiple_outputs is True, "output['requestId'] needs each answer key as an XCom"


@pytest.mark.skipif(not AIRFLOW_33, reason="Airflow 3.3+")
def test_values_the_triggerer_cannot_render_are_refused_at_parse_time():
    with _dag(), pytest.raises(HadoopEcoConfigError, match="start_from_trigger needs request_id"):
        HadoopEcoRequestSensor(task_id="wait", cluster_id="c-1", request_id=object(), start_from_trigger=True)


@pytest.mark.skipif(AIRFLOW_33, reason="documents the fallback below Airflow 3.3")
def test_below_33_the_flag_falls_back_to_a_classic_deferral_with_one_warning(hadoop_eco_conn, caplog):
    with _dag():
        sensor = HadoopEcoRequestSensor(
            task_id="wait", cluster_id="c-1", request_id="req-1", start_from_trigger=True, poke_interval=5
        )
    assert sensor.start_from_trigger is False and sensor.deferrable is True
    assert sum("start_from_trigger needs Airflow 3.3" in r.getMessage() for r in caplog.records) == 1
    hadoop_eco_conn.add(200, status(None, "Running"))
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(make_context())
    assert isinstance(info.value.trigger, HadoopEcoRequestTrigger)


def test_trigger_ends_the_task_itself_only_on_success():
    from conftest_helpers import run_trigger  # noqa: F401 - the helper's module is importable here

    trigger = HadoopEcoRequestTrigger("c-1", "req-1", end_from_trigger=True)
    success = trigger._ending(
        {
            "status": "success",
            "cluster_id": "c-1",
            "request_id": "req-1",
            "message": "ok",
            "response": {"a": 1},
        }
    )
    failure = trigger._ending(
        {"status": "failure", "cluster_id": "c-1", "request_id": "req-1", "message": "no", "response": None}
    )
    assert type(success).__name__ == "TaskSuccessEvent" and success.xcoms == {"return_value": {"a": 1}}
    assert type(failure).__name__ == "TriggerEvent", "a failure resumes the task: retries and callbacks apply"
    classic = HadoopEcoRequestTrigger("c-1", "req-1")._ending(
        {"status": "success", "cluster_id": "c-1", "request_id": "req-1", "message": "ok", "response": {}}
    )
    assert type(classic).__name__ == "TriggerEvent"
