"""DAG for tests/services/test_services_clear.py: a create task that waits for its job in the worker.

Clearing it (the task, or its DAG run) must run the job again; the cluster id comes from the run's conf.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator

with DAG(
    dag_id="services_clear_rerun",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["services-test"],
):
    HadoopEcoCreateClusterOperator(
        task_id="start_job",
        cluster_id="{{ dag_run.conf['cluster_id'] }}",
        worker_count=2,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=1,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
