"""Re-run the Hive job of a Hadoop Eco job cluster, then wait for it in the triggerer.

Set ``HADOOP_ECO_HIVE_CLUSTER_ID`` (or edit the default) and create the ``hadoop_eco_default`` connection
with that cluster's Open API key.
"""

from __future__ import annotations

import os
from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

HIVE_CLUSTER_ID = os.environ.get("HADOOP_ECO_HIVE_CLUSTER_ID", "58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf")
# Seconds between status checks; the emulator-driven demo and tests shorten it.
POLL_INTERVAL = float(os.environ.get("HADOOP_ECO_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="example_hadoop_eco_hive",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["example", "hadoop-eco"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_hadoop_eco_create_hive]
    run_hive_job = HadoopEcoCreateClusterOperator(
        task_id="run_hive_job",
        cluster_id=HIVE_CLUSTER_ID,
        worker_count=2,
        hdfs_replication=2,
        exec_opts="--hiveconf hive.tez.container.size=2048",
    )
    # [END howto_operator_hadoop_eco_create_hive]

    # [START howto_sensor_hadoop_eco_request_deferrable]
    wait_for_hive_job = HadoopEcoRequestSensor(
        task_id="wait_for_hive_job",
        cluster_id=HIVE_CLUSTER_ID,
        request_id="{{ ti.xcom_pull(task_ids='run_hive_job', key='request_id') }}",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        timeout=6 * 60 * 60,
    )
    # [END howto_sensor_hadoop_eco_request_deferrable]

    run_hive_job >> wait_for_hive_job
