"""Review defect 2: settings Airflow resolves later (an XComArg from TaskFlow or ``.output``) are accepted at DAG
parse time and checked once rendered; literals are still checked at parse time.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from review_support import airflow_version

from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator

pytestmark = pytest.mark.timeout(30)

if airflow_version() >= (3, 0):
    from airflow.sdk import DAG, task
else:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef]
    from airflow.decorators import task  # type: ignore[no-redef]


def dag(dag_id: str) -> DAG:
    return DAG(dag_id=dag_id, start_date=datetime(2025, 1, 1), schedule=None, catchup=False)


@task
def pick_worker_count() -> int:
    return 3


@task
def pick_exec_opts() -> str:
    return "--hiveconf hive.tez.container.size=2048"


@task
def pick_settings() -> dict:
    return {"workers": 4, "replication": 2}


def test_taskflow_return_values_are_accepted_at_parse_time():
    with dag("review_taskflow_values"):
        workers, opts = pick_worker_count(), pick_exec_opts()
        create = HadoopEcoCreateClusterOperator(
            task_id="create", cluster_id="c-1", worker_count=workers, exec_opts=opts
        )
    # Airflow wires the XComArgs as upstream tasks; the values are resolved when the task runs.
    assert {"pick_worker_count", "pick_exec_opts"} <= set(create.upstream_task_ids)


def test_an_operator_output_and_a_keyed_xcomarg_are_accepted_at_parse_time():
    with dag("review_output_values"):
        settings = pick_settings()
        upstream = HadoopEcoCreateClusterOperator(task_id="upstream", cluster_id="c-0")
        HadoopEcoCreateClusterOperator(
            task_id="create",
            cluster_id=upstream.output["clusterId"],
            worker_count=settings["workers"],
            hdfs_replication=settings["replication"],
        )


def test_a_bad_literal_still_fails_at_parse_time_inside_a_dag():
    with dag("review_bad_literal"), pytest.raises(HadoopEcoConfigError, match="workerCnt"):
        workers = pick_worker_count()
        HadoopEcoCreateClusterOperator(task_id="create", cluster_id="c-1", worker_count=0, exec_opts=workers)
