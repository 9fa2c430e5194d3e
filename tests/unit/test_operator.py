"""The create operator: validation before HTTP, XCom, waiting in the worker or deferred, busy policy."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import airflow
import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from fake_context import FakeTaskStateStore, make_context
from tests_support import status_body as status

from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoClusterBusyError,
    HadoopEcoConfigError,
    HadoopEcoError,
    HadoopEcoJobFailedError,
    HadoopEcoTimeoutError,
)
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

CLUSTER = "c-1"
CREATED = {"clusterId": CLUSTER, "clusterName": "etl", "requestId": "req-1", "clusterMainSettingValues": {}}
AIRFLOW_33 = tuple(int(x) for x in airflow.__version__.split(".")[:2]) >= (3, 3)


def op(**kwargs) -> HadoopEcoCreateClusterOperator:
    kwargs.setdefault("poll_interval", 0.01)
    return HadoopEcoCreateClusterOperator(task_id="create", cluster_id=CLUSTER, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"worker_count": 0}, "worker_count (workerCnt) must be an integer from 1 to 1000, got 0"),
        ({"worker_count": 1001}, "from 1 to 1000"),
        (
            {"worker_volume_size": 49},
            "worker_volume_size (workerVolumeSize) must be an integer from 50 to 5120",
        ),
        ({"hdfs_replication": 501}, "configHdfsReplication"),
        ({"hdfs_block_size": 2048}, "configHdfsBlockSize"),
        ({"deploy_mode": "yarn"}, "deploy_mode (userTaskDeployMode) must be one of 'client', 'cluster'"),
        ({"worker_count": True}, "workerCnt"),
        ({"exec_opts": 5}, "userTaskExecOpts"),
        ({"on_busy": "retry"}, "on_busy"),
        ({"poll_interval": 0}, "poll_interval"),
    ],
)
def test_bad_literal_arguments_fail_at_dag_parse_time(kwargs, words):
    with pytest.raises(HadoopEcoConfigError) as info:
        op(**kwargs)
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"worker_count": "three"},
            "worker_count (workerCnt) must be an integer from 1 to 1000, got 'three'",
        ),
        ({"worker_count": "0"}, "got '0'"),
        ({"hdfs_block_size": "12.5"}, "configHdfsBlockSize"),
        ({"cluster_id": ""}, "cluster_id must be a non-empty string"),
        ({"cluster_id": "   "}, "cluster_id must be a non-empty string"),
    ],
)
def test_bad_templated_values_fail_before_any_http_call(hadoop_eco_conn, kwargs, words):
    templated = {key: "{{ params.value }}" for key in kwargs}
    task = HadoopEcoCreateClusterOperator(task_id="create", **{"cluster_id": CLUSTER, **templated})
    for key, rendered in kwargs.items():  # what template rendering leaves in the field
        setattr(task, key, rendered)
    with pytest.raises(HadoopEcoConfigError) as info:
        task.execute(make_context())
    assert words in str(info.value)
    assert hadoop_eco_conn.requests == []


def test_templated_numbers_are_converted(hadoop_eco_conn):
    hadoop_eco_conn.add(200, CREATED)
    task = op(worker_count="{{ params.n }}", hdfs_replication="2")
    task.worker_count = " 7 "
    task.execute(make_context())
    assert json.loads(hadoop_eco_conn.requests[0].body) == {"workerCnt": 7, "configHdfsReplication": 2}


def test_fire_and_forget_returns_the_answer_and_pushes_request_id_and_link(hadoop_eco_conn):
    hadoop_eco_conn.add(200, CREATED)
    context = make_context()
    assert op().execute(context) == CREATED
    assert context["ti"].xcom["request_id"] == "req-1"
    assert context["ti"].xcom["hadoop_eco_cluster_url"].endswith(f"/hadoop-eco/clusters/{CLUSTER}")
    assert [r.method for r in hadoop_eco_conn.requests] == ["POST"]


def test_wait_in_worker_until_success(hadoop_eco_conn):
    api = hadoop_eco_conn.add(200, CREATED)
    api.add(200, status(None, "Pending")).add(200, status(None, "Running"))
    api.add(200, status("Success", "Terminate")).add(200, status("Success", "Terminate"))
    context = make_context()
    assert op(wait_for_completion=True, deferrable=False).execute(context) == CREATED
    assert [r.method for r in api.requests] == ["POST", "GET", "GET", "GET", "GET"]


def test_wait_in_worker_failure_fails_the_task(hadoop_eco_conn):
    api = hadoop_eco_conn.add(200, CREATED)
    api.add(200, status("Failure", "Terminate")).add(200, status("Failure", "Terminate"))
    with pytest.raises(HadoopEcoJobFailedError, match="Hadoop Eco job failed"):
        op(wait_for_completion=True, deferrable=False).execute(make_context())


def test_wait_in_worker_timeout(hadoop_eco_conn):
    hadoop_eco_conn.add(200, CREATED)
    hadoop_eco_conn.default = (200, {}, json.dumps(status()).encode())
    start = time.time()
    with pytest.raises(HadoopEcoTimeoutError, match="Timed out"):
        op(wait_for_completion=True, deferrable=False, wait_timeout=0.5, poll_interval=0.1).execute(
            make_context()
        )
    assert time.time() - start < 5


def test_deferrable_wait_checks_once_then_defers(hadoop_eco_conn):
    hadoop_eco_conn.add(200, CREATED).add(200, status(None, "Running"))
    context = make_context()
    task = op(wait_for_completion=True, deferrable=True, wait_timeout=timedelta(hours=1), poll_interval=15)
    with pytest.raises(TaskDeferred) as info:
        task.execute(context)
    assert context["ti"].xcom["request_id"] == "req-1", "request id is pushed before waiting"
    trig = info.value.trigger
    assert isinstance(trig, HadoopEcoRequestTrigger)
    _, kwargs = trig.serialize()
    assert kwargs["poll_interval"] == 15 and kwargs["request_id"] == "req-1"
    assert time.time() + 3500 < kwargs["end_time"] <= time.time() + 3600
    assert info.value.kwargs["submitted"]["answer"] == CREATED
    ok = {"status": "success", "cluster_id": CLUSTER, "request_id": "req-1", "message": "ok", "response": {}}
    assert task.execute_complete(context, ok, create_response=CREATED) == CREATED
    with pytest.raises(HadoopEcoTimeoutError):
        task.execute_complete(context, {**ok, "status": "timeout"}, create_response=CREATED)
    with pytest.raises(HadoopEcoError):
        task.execute_complete(context, None, create_response=CREATED)


def test_busy_cluster_fails_clearly_by_default(hadoop_eco_conn):
    hadoop_eco_conn.add(202, {"message": "operation in progress"})
    with pytest.raises(HadoopEcoClusterBusyError) as info:
        op().execute(make_context())
    assert "already running" in str(info.value) and "on_busy='wait'" in str(info.value)
    assert len(hadoop_eco_conn.requests) == 1


def test_busy_cluster_waits_then_submits_with_on_busy_wait(hadoop_eco_conn):
    hadoop_eco_conn.add(202, {}).add(202, {}).add(200, CREATED)
    assert op(on_busy="wait").execute(make_context()) == CREATED
    assert [r.method for r in hadoop_eco_conn.requests] == ["POST"] * 3


def test_busy_cluster_wait_is_bounded(hadoop_eco_conn):
    hadoop_eco_conn.default = (202, {}, b"{}")
    with pytest.raises(HadoopEcoTimeoutError, match="stayed busy"):
        op(on_busy="wait", wait_timeout=0.3, poll_interval=0.05).execute(make_context())


@pytest.mark.skipif(not AIRFLOW_33, reason="ResumableJobMixin (task_state_store) arrived in Airflow 3.3")
def test_retry_reattaches_to_the_running_request_instead_of_posting(hadoop_eco_conn):
    store = FakeTaskStateStore()
    hadoop_eco_conn.add(200, CREATED)
    op().execute(make_context(store))
    assert store.data, "the first try persisted the request"
    # second try: the request is still running -> no POST, waits for it
    hadoop_eco_conn.add(200, status(None, "Running"))
    hadoop_eco_conn.add(200, status(None, "Running")).add(200, status("Success", "Terminate"))
    hadoop_eco_conn.add(200, status("Success", "Terminate"))
    context = make_context(store)
    assert op(wait_for_completion=True, deferrable=False).execute(context) == CREATED
    assert [r.method for r in hadoop_eco_conn.requests] == ["POST", "GET", "GET", "GET", "GET"]
    assert context["ti"].xcom["request_id"] == "req-1"


@pytest.mark.skipif(not AIRFLOW_33, reason="ResumableJobMixin (task_state_store) arrived in Airflow 3.3")
def test_retry_after_a_failed_request_submits_a_new_one(hadoop_eco_conn):
    store = FakeTaskStateStore()
    store.set(HadoopEcoCreateClusterOperator.external_id_key, CREATED)
    second = {**CREATED, "requestId": "req-2"}
    hadoop_eco_conn.add(200, status("Failure", "Terminate")).add(200, second)
    assert op().execute(make_context(store)) == second
    assert [r.method for r in hadoop_eco_conn.requests] == ["GET", "POST"]


@pytest.mark.skipif(AIRFLOW_33, reason="documents the behaviour below Airflow 3.3")
def test_before_airflow_33_every_try_posts_and_a_running_job_answers_busy(hadoop_eco_conn):
    hadoop_eco_conn.add(200, CREATED).add(202, {})
    op().execute(make_context())
    with pytest.raises(HadoopEcoClusterBusyError):
        op().execute(make_context())
    assert [r.method for r in hadoop_eco_conn.requests] == ["POST", "POST"]


def test_template_fields_cover_cluster_and_every_setting():
    assert set(HadoopEcoCreateClusterOperator.template_fields) == {
        "cluster_id",
        "worker_count",
        "worker_volume_size",
        "hdfs_replication",
        "hdfs_block_size",
        "deploy_mode",
        "exec_opts",
        "exec_params",
        "instance_specs",
    }


@pytest.mark.skipif(not AIRFLOW_33, reason="ResumableJobMixin (task_state_store) arrived in Airflow 3.3")
def test_reattached_retry_keeps_the_original_wait_deadline(hadoop_eco_conn):
    store = FakeTaskStateStore()
    hadoop_eco_conn.add(200, CREATED)
    op().execute(make_context(store))
    stored = store.data[HadoopEcoCreateClusterOperator.external_id_key]
    stored["submitted_at"] = time.time() - 3600  # the first try started an hour ago
    hadoop_eco_conn.default = (200, {}, json.dumps(status()).encode())
    start = time.time()
    with pytest.raises(HadoopEcoTimeoutError):
        op(wait_for_completion=True, deferrable=False, wait_timeout=1800).execute(make_context(store))
    assert time.time() - start < 5, "the deadline counted from the first try, so it had already passed"
    assert [r.method for r in hadoop_eco_conn.requests].count("POST") == 1


def test_a_failure_to_store_the_console_link_does_not_fail_a_started_job(hadoop_eco_conn):
    # Seen under load on a distributed Airflow: the XCom write of the link timed out after the POST.
    hadoop_eco_conn.add(200, CREATED)
    context = make_context()
    real_push = context["ti"].xcom_push

    def push(key, value):
        if key == "hadoop_eco_cluster_url":
            raise RuntimeError("XCom write timed out")
        real_push(key, value)

    context["ti"].xcom_push = push
    assert op().execute(context) == CREATED
    assert context["ti"].xcom["request_id"] == "req-1"
    assert [r.method for r in hadoop_eco_conn.requests] == ["POST"]
