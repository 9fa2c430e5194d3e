"""DAGs whose sensor starts in the triggerer (``start_from_trigger=True``), for tests/services.

The cluster id comes from the run's conf, so runs can overlap on their own emulated clusters.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

CLUSTER_ID = "{{ dag_run.conf['cluster_id'] }}"
COMMON = {"start_date": datetime(2025, 1, 1), "schedule": None, "catchup": False, "tags": ["services-test"]}

# request_id from the create task's return value (TaskFlow style): rendered by the triggerer.
with DAG(dag_id="services_sft_output", **COMMON):
    start = HadoopEcoCreateClusterOperator(task_id="start_job", cluster_id=CLUSTER_ID)
    HadoopEcoRequestSensor(
        task_id="wait_for_job",
        cluster_id=CLUSTER_ID,
        request_id=start.output["requestId"],
        start_from_trigger=True,
        poke_interval=2,
        timeout=15 * 60,
    )

# request_id as a Jinja XCom pull, and a short timeout for the timeout run (long enough for a triggerer restart).
for dag_id, timeout in (("services_sft_jinja", 15 * 60), ("services_sft_timeout", 60)):
    with DAG(dag_id=dag_id, **COMMON):
        start = HadoopEcoCreateClusterOperator(task_id="start_job", cluster_id=CLUSTER_ID)
        wait = HadoopEcoRequestSensor(
            task_id="wait_for_job",
            cluster_id=CLUSTER_ID,
            # map_indexes=-1: the 3.3 triggerer serves single XCom reads only.
            request_id="{{ ti.xcom_pull(task_ids='start_job', key='request_id', map_indexes=-1) }}",
            start_from_trigger=True,
            poke_interval=2,
            timeout=timeout,
        )
        start >> wait

# Mapped over several clusters: Airflow 3.3's scheduler does not start mapped tasks from the triggerer, so
# these start on a worker and defer from there (the documented fallback).
with DAG(dag_id="services_sft_mapped", **COMMON):
    starts = HadoopEcoCreateClusterOperator.partial(task_id="start_job").expand(
        cluster_id=["{{ dag_run.conf['clusters'][0] }}", "{{ dag_run.conf['clusters'][1] }}"]
    )
    HadoopEcoRequestSensor.partial(
        task_id="wait_for_job", start_from_trigger=True, poke_interval=2, timeout=15 * 60
    ).expand_kwargs(starts.output.map(lambda a: {"cluster_id": a["clusterId"], "request_id": a["requestId"]}))
