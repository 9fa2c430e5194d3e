"""OpenLineage facets when the OpenLineage provider is installed; nothing imported when it is not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fake_context import make_context

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

VERBOSE = {
    "clusterId": "c-1",
    "clusterName": "etl",
    "requestId": "req-1",
    "requestStatus": "Terminate",
    "requestResult": "Success",
    "clusterMeta": {
        "cluster_name": "etl",
        "user_cluster_exec_command": {
            "type": "hive",
            "termination_policy": "always",
            "hive_query": "show databases;",
            "exec_opts": "--hiveconf a=b",
            "exec_params": "",
        },
    },
}
CREATED = {
    "clusterId": "c-1",
    "clusterName": "etl",
    "requestId": "req-1",
    "clusterMainSettingValues": {"jobType": "hive", "userTaskExecOpts": "--hiveconf a=b"},
}


def openlineage_or_skip():
    try:
        import airflow.providers.openlineage  # noqa: F401
    except ImportError:
        if (
            os.environ.get("HADOOP_ECO_REQUIRE_ALL") == "1"
            and os.environ.get("HADOOP_ECO_EXPECT_OPENLINEAGE") == "1"
        ):
            pytest.fail("the OpenLineage provider should be installed in this environment")
        pytest.skip("the OpenLineage provider is not installed here")


def test_importing_the_provider_does_not_import_openlineage():
    code = (
        "import sys, airflow_provider_hadoop_eco.operators.hadoop_eco, airflow_provider_hadoop_eco.sensors.hadoop_eco, "
        "airflow_provider_hadoop_eco.hooks.hadoop_eco; "
        "print(sorted(m for m in sys.modules if m.startswith(('airflow_provider_hadoop_eco.openlineage', 'aiohttp', "
        "'airflow_provider_hadoop_eco.emulator'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_sensor_reports_job_type_query_and_cluster():
    openlineage_or_skip()
    sensor = HadoopEcoRequestSensor(task_id="w", cluster_id="c-1", request_id="req-1")
    event = {
        "status": "success",
        "cluster_id": "c-1",
        "request_id": "req-1",
        "message": "ok",
        "response": VERBOSE,
    }
    sensor.execute_complete(make_context(), event)
    lineage = sensor.get_openlineage_facets_on_complete(None)
    facet = lineage.job_facets["hadoopEco"]
    assert (facet.clusterId, facet.clusterName, facet.requestId) == ("c-1", "etl", "req-1")
    assert (facet.jobType, facet.terminationPolicy, facet.requestResult) == ("hive", "always", "Success")
    assert lineage.job_facets["sql"].query == "show databases;"
    from openlineage.client.serde import Serde

    assert "HadoopEcoJobFacet" in Serde.to_json(facet)


def test_operator_reports_from_the_create_answer_when_not_waiting():
    openlineage_or_skip()
    task = HadoopEcoCreateClusterOperator(task_id="t", cluster_id="c-1")
    task.get_job_result(CREATED, make_context())
    lineage = task.get_openlineage_facets_on_complete(None)
    facet = lineage.job_facets["hadoopEco"]
    assert (facet.jobType, facet.execOpts, facet.requestId) == ("hive", "--hiveconf a=b", "req-1")
    assert "sql" not in lineage.job_facets


def test_operator_reports_the_final_status_after_waiting():
    openlineage_or_skip()
    task = HadoopEcoCreateClusterOperator(
        task_id="t", cluster_id="c-1", wait_for_completion=True, deferrable=True
    )
    event = {
        "status": "success",
        "cluster_id": "c-1",
        "request_id": "req-1",
        "message": "ok",
        "response": VERBOSE,
    }
    task.execute_complete(make_context(), event, create_response=CREATED)
    lineage = task.get_openlineage_facets_on_complete(None)
    assert lineage.job_facets["hadoopEco"].requestResult == "Success"
    assert lineage.job_facets["sql"].query == "show databases;"
