"""DAGs of the system benchmark (copied into the benchmark's AIRFLOW_HOME; not an example).

One DAG per waiting mode, each run holding ``SYSBENCH_PAIRS`` pairs of a create task and its sensor, the
clusters coming from the run's conf (``{"clusters": [...]}``), so that every job runs on its own emulated
cluster. Sensors outrank creates (absolute priority weights): a free worker slot goes to a waiting sensor
first, so in poke mode a job is started only when a slot can hold its sensor.

``sysbench_capacity``: sensors only, started from the triggerer; each job (cluster id, request id) comes
from the conf (``{"jobs": [[cluster, request], ...]}``): the orchestrator posts the creates itself.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

PAIRS = int(os.environ.get("SYSBENCH_PAIRS", "10"))
CAPACITY_SENSORS = int(os.environ.get("SYSBENCH_CAPACITY_SENSORS", "50"))
POKE_INTERVAL = float(os.environ.get("SYSBENCH_POKE_INTERVAL", "30"))  # per mode: ..._INTERVAL_<MODE>
#: The sensors' timeout: far beyond any wait of the benchmark, so that none ends by timing out.
TIMEOUT = float(os.environ.get("SYSBENCH_SENSOR_TIMEOUT", str(4 * 3600)))

MODES: dict[str, dict[str, object]] = {
    "poke": {"mode": "poke"},
    "reschedule": {"mode": "reschedule"},
    "deferrable": {"deferrable": True},
    "sft": {"start_from_trigger": True},
}
COMMON = {
    "start_date": datetime(2025, 1, 1),
    "schedule": None,
    "catchup": False,
    "max_active_runs": 100_000,
    "max_active_tasks": 100_000,
    "tags": ["system-benchmark"],
    "default_args": {"retries": 0, "weight_rule": "absolute"},
}

for mode, sensor_kwargs in MODES.items():
    with DAG(dag_id=f"sysbench_{mode}", **COMMON):  # type: ignore[arg-type]
        for i in range(PAIRS):
            cluster_id = f"{{{{ dag_run.conf['clusters'][{i}] }}}}"
            create = HadoopEcoCreateClusterOperator(
                task_id=f"create_{i:03d}", cluster_id=cluster_id, priority_weight=1
            )
            HadoopEcoRequestSensor(
                task_id=f"wait_{i:03d}",
                cluster_id=cluster_id,
                request_id=create.output["requestId"],  # type: ignore[index]
                poke_interval=float(os.environ.get(f"SYSBENCH_POKE_INTERVAL_{mode.upper()}", POKE_INTERVAL)),
                timeout=TIMEOUT,
                priority_weight=10,
                **sensor_kwargs,  # type: ignore[arg-type]
            )

with DAG(dag_id="sysbench_capacity", dagrun_timeout=timedelta(hours=6), **COMMON):  # type: ignore[arg-type]
    for i in range(CAPACITY_SENSORS):
        HadoopEcoRequestSensor(
            task_id=f"wait_{i:03d}",
            cluster_id=f"{{{{ dag_run.conf['jobs'][{i}][0] }}}}",
            request_id=f"{{{{ dag_run.conf['jobs'][{i}][1] }}}}",
            poke_interval=POKE_INTERVAL,
            timeout=TIMEOUT,
            start_from_trigger=True,
        )
