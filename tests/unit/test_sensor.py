"""The sensor in poke and deferrable mode, its deadline, and execute_complete's event validation."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, TaskDeferred
from fake_context import make_context
from tests_support import status_body as status

from airflow_provider_hadoop_eco.exceptions import HadoopEcoError, HadoopEcoJobFailedError
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

CLUSTER = "c-1"


def sensor(**kwargs) -> HadoopEcoRequestSensor:
    kwargs.setdefault("poke_interval", 0.01)
    return HadoopEcoRequestSensor(task_id="wait", cluster_id=CLUSTER, request_id="req-1", **kwargs)


def test_poke_running_is_not_done(hadoop_eco_conn):
    hadoop_eco_conn.add(200, status(None, "Running"))
    assert sensor().poke(make_context()) is False


def test_poke_success_returns_the_verbose_final_response(hadoop_eco_conn):
    final = status("Success", "Terminate", clusterMeta={"cluster_name": "etl"})
    hadoop_eco_conn.add(200, status("Success", "Terminate")).add(200, final)
    result = sensor().poke(make_context())
    assert result.is_done and result.xcom_value == final


def test_poke_failure_raises_with_the_reason(hadoop_eco_conn):
    meta = {
        "user_cluster_exec_command": {
            "type": "hive",
            "termination_policy": "always",
            "hive_query": "select 1",
        }
    }
    hadoop_eco_conn.add(200, status("failure", "Terminate")).add(
        200, status("Failure", "Terminate", clusterMeta=meta)
    )
    with pytest.raises(HadoopEcoJobFailedError) as info:
        sensor().poke(make_context())
    text = str(info.value)
    assert "'etl'" in text and "'hive'" in text and "'always'" in text and "select 1" in text


class RecordingLog:
    def __init__(self):
        self.lines = []

    def info(self, msg, *args):
        self.lines.append(("info", msg % args))

    def debug(self, msg, *args):
        self.lines.append(("debug", msg % args))

    warning = error = info


def test_status_change_logged_once_at_info_and_polls_at_debug(hadoop_eco_conn):
    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
    from airflow_provider_hadoop_eco.waiting import RequestWait, check_once

    for item in [status(None, "Running")] * 3 + [status("Success", "Terminate")] * 2:
        hadoop_eco_conn.add(200, item)
    log = RecordingLog()
    wait = RequestWait(CLUSTER, "req-1", poll_interval=1, started_at=time.time() - 42)
    for _ in range(4):
        event = check_once(HadoopEcoHook(), wait, log)
    done = event is not None and event["status"] == "success"
    assert done
    info = [line for level, line in log.lines if level == "info"]
    assert info[0] == "Hadoop Eco cluster etl (c-1), request req-1: Running after 42 s"
    assert sum("Running" in line for line in info) == 1
    assert any("Terminate/Success" in line for line in info)
    assert sum(level == "debug" for level, _ in log.lines) == 2


def test_poke_mode_execute_runs_to_success(hadoop_eco_conn):
    hadoop_eco_conn.add(200, status(None, "Pending")).add(200, status(None, "Running"))
    hadoop_eco_conn.add(200, status("Success", "Terminate")).add(200, status("Success", "Terminate"))
    assert sensor(deferrable=False).execute(make_context())["requestResult"] == "Success"


def test_poke_mode_timeout_is_a_sensor_timeout(hadoop_eco_conn):
    hadoop_eco_conn.default = (200, {}, json.dumps(status()).encode())
    with pytest.raises(AirflowSensorTimeout):
        sensor(deferrable=False, timeout=0.3, poke_interval=0.05).execute(make_context())


def test_deferrable_checks_once_then_defers_with_deadline(hadoop_eco_conn):
    hadoop_eco_conn.add(200, status(None, "Running"))
    s = sensor(deferrable=True, timeout=600, poke_interval=30)
    before = time.time()
    with pytest.raises(TaskDeferred) as info:
        s.execute(make_context())
    deferred = info.value
    assert deferred.method_name == "execute_complete"
    # Airflow's own deferral timeout is a backstop a minute after the trigger's deadline (the trigger's event
    # says which limit it was); on its own it still ends as a sensor timeout (resume_execution).
    assert timedelta(seconds=659) <= deferred.timeout <= timedelta(seconds=660)
    trig = deferred.trigger
    assert isinstance(trig, HadoopEcoRequestTrigger)
    _, kwargs = trig.serialize()
    assert kwargs["cluster_id"] == CLUSTER and kwargs["request_id"] == "req-1"
    assert kwargs["poll_interval"] == 30
    assert before + 600 <= kwargs["end_time"] <= time.time() + 600
    assert len(hadoop_eco_conn.requests) == 1


def test_deferrable_finishes_inline_when_already_done(hadoop_eco_conn):
    hadoop_eco_conn.add(200, status("Success", "Terminate")).add(200, status("Success", "Terminate"))
    assert sensor(deferrable=True).execute(make_context())["requestResult"] == "Success"


def test_deferrable_already_failed_fails_inline(hadoop_eco_conn):
    hadoop_eco_conn.add(200, status("Failure", "Terminate")).add(200, status("Failure", "Terminate"))
    with pytest.raises(HadoopEcoJobFailedError):
        sensor(deferrable=True).execute(make_context())


def event(status_, **extra):
    return {
        "status": status_,
        "cluster_id": CLUSTER,
        "request_id": "req-1",
        "message": f"msg {status_}",
        "response": extra.get("response"),
    }


def test_execute_complete_success_returns_the_response():
    assert sensor().execute_complete(make_context(), event("success", response={"a": 1})) == {"a": 1}


def test_execute_complete_failure_timeout_error():
    with pytest.raises(HadoopEcoJobFailedError, match="msg failure"):
        sensor().execute_complete(make_context(), event("failure"))
    with pytest.raises(AirflowSensorTimeout, match="msg timeout"):
        sensor().execute_complete(make_context(), event("timeout"))
    with pytest.raises(HadoopEcoError, match="msg error"):
        sensor().execute_complete(make_context(), event("error"))


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {},
        "success",
        {"status": "success"},
        {**event("success"), "status": "SUCCEEDED"},
        {**event("success"), "response": "not a dict"},
        ["success"],
    ],
)
def test_execute_complete_rejects_missing_or_unknown_events(bad):
    with pytest.raises(HadoopEcoError):
        sensor().execute_complete(make_context(), bad)


def test_framework_deferral_timeout_becomes_a_sensor_timeout():
    import airflow

    # What each Airflow's scheduler hands back when the deferral's own timeout expires.
    error = "Trigger timeout" if airflow.__version__.startswith("3.") else "Trigger/execution timeout"
    with pytest.raises(AirflowSensorTimeout, match=r"(?i)time"):
        sensor().resume_execution("__fail__", {"error": error}, make_context())


def test_other_trigger_failures_stay_failures():
    with pytest.raises(Exception) as info:
        sensor().resume_execution("__fail__", {"error": "Trigger failure"}, make_context())
    assert not isinstance(info.value, AirflowSensorTimeout)


def test_templated_fields():
    assert set(HadoopEcoRequestSensor.template_fields) == {"cluster_id", "request_id"}


def test_deferrable_first_check_hit_by_a_transient_error_still_defers(hadoop_eco_conn):
    for _ in range(4):  # every retry of the first check fails
        hadoop_eco_conn.add(503, raw=b"<html>busy</html>")
    with pytest.raises(TaskDeferred):
        sensor(deferrable=True, timeout=600).execute(make_context())
    assert len(hadoop_eco_conn.requests) == 4
