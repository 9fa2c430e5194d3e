"""The DAG file of the system benchmark, copied into its AIRFLOW_HOME once per DAG (not an example DAG).

The copy's name says which DAG it defines: ``sysbench_<mode>.py`` for ``mode`` in poke, reschedule,
deferrable, sft (start_from_trigger) and capacity. One DAG per file, as in most deployments: a task process
parses only its own DAG's file, and that parse is part of what a worker run costs.

``sysbench_<mode>``: each run holds ``SYSBENCH_PAIRS`` pairs of a create task and its sensor, the clusters
coming from the run's conf (``{"clusters": [...]}``), so that every job runs on its own emulated cluster.
Sensors outrank creates (absolute priority weights): a free worker slot goes to a waiting sensor first, so
in poke mode a job is started only when a slot can hold its sensor.

``sysbench_capacity``: ``SYSBENCH_CAPACITY_SENSORS`` sensors started from the triggerer per run, each on a
job the orchestrator started itself (``{"jobs": [[cluster, request], ...]}``).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

MODE = Path(__file__).stem.removeprefix("sysbench_")
PAIRS = int(os.environ.get("SYSBENCH_PAIRS", "10"))
CAPACITY_SENSORS = int(os.environ.get("SYSBENCH_CAPACITY_SENSORS", "20"))
#: The sensors' poke_interval; SYSBENCH_POKE_INTERVAL_<MODE> overrides it for one mode.
POKE_INTERVAL = float(
    os.environ.get(f"SYSBENCH_POKE_INTERVAL_{MODE.upper()}", os.environ.get("SYSBENCH_POKE_INTERVAL", "30"))
)
#: The sensors' timeout: far beyond any wait of the benchmark, so that none ends by timing out.
TIMEOUT = float(os.environ.get("SYSBENCH_SENSOR_TIMEOUT", str(6 * 3600)))

SENSOR_MODES: dict[str, dict[str, object]] = {
    "poke": {"mode": "poke"},
    "reschedule": {"mode": "reschedule"},
    "deferrable": {"deferrable": True},
    "sft": {"start_from_trigger": True},
}

with DAG(
    dag_id=f"sysbench_{MODE}",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    max_active_runs=100_000,
    max_active_tasks=100_000,
    tags=["system-benchmark"],
    default_args={"retries": 0, "weight_rule": "absolute"},
):
    if MODE == "capacity":
        for i in range(CAPACITY_SENSORS):
            HadoopEcoRequestSensor(
                task_id=f"wait_{i:03d}",
                cluster_id=f"{{{{ dag_run.conf['jobs'][{i}][0] }}}}",
                request_id=f"{{{{ dag_run.conf['jobs'][{i}][1] }}}}",
                poke_interval=POKE_INTERVAL,
                timeout=TIMEOUT,
                start_from_trigger=True,
            )
    elif MODE in SENSOR_MODES:
        for i in range(PAIRS):
            cluster_id = f"{{{{ dag_run.conf['clusters'][{i}] }}}}"
            create = HadoopEcoCreateClusterOperator(
                task_id=f"create_{i:03d}", cluster_id=cluster_id, priority_weight=1
            )
            HadoopEcoRequestSensor(
                task_id=f"wait_{i:03d}",
                cluster_id=cluster_id,
                request_id=create.output["requestId"],  # type: ignore[index]
                poke_interval=POKE_INTERVAL,
                timeout=TIMEOUT,
                priority_weight=10,
                **SENSOR_MODES[MODE],  # type: ignore[arg-type]
            )
