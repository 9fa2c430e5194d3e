"""DAGs of the distributed suite (tests/distributed): PostgreSQL + CeleryExecutor + two of everything.

Each run names its own emulated cluster in its conf (``{"cluster_id": ...}``): the API answers 202 to a
second job on a busy cluster, so concurrent runs of one DAG need one cluster each.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

CLUSTER_ID = "{{ dag_run.conf['cluster_id'] }}"
REQUEST_ID = "{{ ti.xcom_pull(task_ids='start_job', key='request_id') }}"
#: Seconds between two status checks of the deferred sensors (in the triggerers).
POLL_INTERVAL = 3
#: The timeout of the sensor in ``distributed_sensor_timeout`` (scenario 5); its job never ends in time.
SENSOR_TIMEOUT = 300
COMMON = {
    "start_date": datetime(2025, 1, 1),
    "schedule": None,
    "catchup": False,
    "tags": ["distributed-test"],
    # Scenario 1 starts 100 runs of one DAG at once: no per-DAG cap may hold any of them back.
    "max_active_runs": 500,
    "max_active_tasks": 1000,
}


def create_then_wait(timeout: float, conn_id: str = "hadoop_eco_default", deferrable: bool = True) -> None:
    start = HadoopEcoCreateClusterOperator(
        task_id="start_job", cluster_id=CLUSTER_ID, hadoop_eco_conn_id=conn_id
    )
    wait = HadoopEcoRequestSensor(
        task_id="wait_for_job",
        cluster_id=CLUSTER_ID,
        request_id=REQUEST_ID,
        hadoop_eco_conn_id=conn_id,
        deferrable=deferrable,
        poke_interval=POLL_INTERVAL if deferrable else 5,
        timeout=timeout,
    )
    start >> wait


# Scenario 1 (load), 2 (triggerer failover) and 4 (scheduler failover): create -> deferrable sensor.
with DAG(dag_id="distributed_load", **COMMON):
    create_then_wait(timeout=20 * 60)

# The first waits of the campaign: they run in triggerer-0, the only triggerer at that moment, beside the
# timeout sensors of scenario 5 (so that those are known to be in the triggerer that will be killed).
with DAG(dag_id="distributed_warmup", **COMMON):
    create_then_wait(timeout=20 * 60)

# Scenario 5: a deferred sensor whose deadline must hold across the death of its triggerer.
with DAG(dag_id="distributed_sensor_timeout", **COMMON):
    create_then_wait(timeout=SENSOR_TIMEOUT)

# Scenario 6: with the connection stored in the metadata database (Fernet-encrypted) instead of an
# environment variable, the secret travels from PostgreSQL through the api-server to the workers. The sensor
# waits in its worker (poke mode): in a triggerer, the first trigger that needs the API (here: a connection
# from the database) makes Airflow 3.3.2 build the triggerer's in-process execution API, a stall of 10-35 s
# without heartbeats that moves all of that triggerer's triggers (see docs/deployment.md). Kept out of the
# triggerers so that the failover figures measure the failover.
with DAG(dag_id="distributed_db_connection", **COMMON):
    create_then_wait(timeout=20 * 60, conn_id="hadoop_eco_db", deferrable=False)

# Scenario 3: the create task waits in its Celery worker; a retry after the worker's death must re-attach.
with DAG(dag_id="distributed_reattach", **COMMON):
    HadoopEcoCreateClusterOperator(
        task_id="start_job",
        cluster_id=CLUSTER_ID,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=2,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
