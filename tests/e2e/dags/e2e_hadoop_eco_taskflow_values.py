"""A DAG whose create task takes its settings from upstream TaskFlow tasks (XComArgs resolved at run time).

Used by tests/e2e/test_e2e_taskflow_values.py with ``airflow dags test`` on Airflow 3.3 and 2.11.
"""

from __future__ import annotations

import os
from datetime import datetime

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]
    from airflow.decorators import task  # type: ignore[no-redef]

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

CLUSTER_ID = os.environ.get("HADOOP_ECO_HIVE_CLUSTER_ID", "58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf")
POLL_INTERVAL = float(os.environ.get("HADOOP_ECO_EXAMPLE_POLL_INTERVAL", "30"))


@task
def pick_worker_count() -> int:
    return 3


@task
def pick_exec_opts() -> str:
    return "--hiveconf hive.tez.container.size=4096"


with DAG(
    dag_id="e2e_hadoop_eco_taskflow_values",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["e2e", "hadoop-eco"],
):
    run_job = HadoopEcoCreateClusterOperator(
        task_id="run_job",
        cluster_id=CLUSTER_ID,
        worker_count=pick_worker_count(),
        exec_opts=pick_exec_opts(),
    )
    wait_for_job = HadoopEcoRequestSensor(
        task_id="wait_for_job",
        cluster_id=CLUSTER_ID,
        request_id="{{ ti.xcom_pull(task_ids='run_job', key='request_id') }}",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        timeout=600,
    )
    run_job >> wait_for_job
