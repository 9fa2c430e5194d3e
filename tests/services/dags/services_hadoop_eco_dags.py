"""DAGs for the services tests (tests/services): scenarios the example DAGs do not cover.

The cluster id comes from the run's conf (``{"cluster_id": ...}``), so that several runs of one DAG can run at
once, each on its own emulated cluster (the API answers 202 to a second job on a busy cluster).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

CLUSTER_ID = "{{ dag_run.conf['cluster_id'] }}"
REQUEST_ID = "{{ ti.xcom_pull(task_ids='start_job', key='request_id') }}"
COMMON = {"start_date": datetime(2025, 1, 1), "schedule": None, "catchup": False, "tags": ["services-test"]}

# Test 2: a deferred sensor that must survive a SIGKILL of the triggerer.
with DAG(dag_id="services_deferred_wait", **COMMON):
    start = HadoopEcoCreateClusterOperator(task_id="start_job", cluster_id=CLUSTER_ID)
    wait = HadoopEcoRequestSensor(
        task_id="wait_for_job",
        cluster_id=CLUSTER_ID,
        request_id=REQUEST_ID,
        deferrable=True,
        poke_interval=2,
        timeout=15 * 60,
    )
    start >> wait

# Test 3: a deferred sensor whose short timeout must hold across a triggerer restart.
with DAG(dag_id="services_sensor_timeout", **COMMON):
    start = HadoopEcoCreateClusterOperator(task_id="start_job", cluster_id=CLUSTER_ID)
    wait = HadoopEcoRequestSensor(
        task_id="wait_for_job",
        cluster_id=CLUSTER_ID,
        request_id=REQUEST_ID,
        deferrable=True,
        poke_interval=2,
        timeout=45,
    )
    start >> wait

# Test 4: waiting in the worker; a retry after a worker crash must re-attach to the running request.
with DAG(dag_id="services_resume_after_crash", **COMMON):
    HadoopEcoCreateClusterOperator(
        task_id="start_job",
        cluster_id=CLUSTER_ID,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=1,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
