"""Re-run the Spark job of a Hadoop Eco job cluster with new settings, then wait for it in the triggerer.

The Open API key is issued per cluster, so this DAG uses its own connection, ``hadoop_eco_spark``.
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

SPARK_CLUSTER_ID = os.environ.get("HADOOP_ECO_SPARK_CLUSTER_ID", "0f6c4a38-2a53-4b0e-9d51-7c1d2e8b9a10")
SPARK_CONN_ID = os.environ.get("HADOOP_ECO_SPARK_CONN_ID", "hadoop_eco_spark")
POLL_INTERVAL = float(os.environ.get("HADOOP_ECO_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="example_hadoop_eco_spark",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["example", "hadoop-eco"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_hadoop_eco_create_spark]
    run_spark_job = HadoopEcoCreateClusterOperator(
        task_id="run_spark_job",
        hadoop_eco_conn_id=SPARK_CONN_ID,
        cluster_id=SPARK_CLUSTER_ID,
        worker_count=4,
        worker_volume_size=100,
        deploy_mode="cluster",
        exec_opts="--driver-cores 1 --driver-memory 1024m --executor-cores 1 --num-executors 4 "
        "--executor-memory 2048m",
        exec_params="-sparkApplicationParams={{ ds }}",
    )
    # [END howto_operator_hadoop_eco_create_spark]

    wait_for_spark_job = HadoopEcoRequestSensor(
        task_id="wait_for_spark_job",
        hadoop_eco_conn_id=SPARK_CONN_ID,
        cluster_id=SPARK_CLUSTER_ID,
        request_id="{{ ti.xcom_pull(task_ids='run_spark_job', key='request_id') }}",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        timeout=6 * 60 * 60,
    )

    run_spark_job >> wait_for_spark_job
