"""OpenLineage facets for Hadoop Eco jobs.

Imported only when the OpenLineage provider asks an operator or sensor for lineage, so that without that
provider installed nothing of OpenLineage is ever imported.
"""

from __future__ import annotations

from typing import Any

import attr
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.generated.base import JobFacet
from openlineage.client.generated.sql_job import SQLJobFacet

from airflow_provider_hadoop_eco.request_status import exec_command


@attr.define
class HadoopEcoJobFacet(JobFacet):
    """What the Hadoop Eco status API tells about a job run.

    :param clusterId: the Hadoop Eco cluster id.
    :param clusterName: the cluster's name.
    :param requestId: the create request that ran the job.
    :param jobType: ``hive`` or ``spark``.
    :param requestResult: ``Success`` or ``Failure`` once ended.
    :param terminationPolicy: ``always``, ``onSuccess`` or ``never``.
    :param execOpts: the Hive or Spark job options.
    :param execParams: the job application parameters.
    """

    # OpenLineage facets use camelCase field names.
    clusterId: str
    clusterName: str | None = None
    requestId: str | None = None
    jobType: str | None = None
    requestResult: str | None = None
    terminationPolicy: str | None = None
    execOpts: str | None = None
    execParams: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return "https://pypi.org/project/airflow-provider-hadoop-eco/#HadoopEcoJobFacet"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def build_lineage(
    cluster_id: str,
    request_id: str | None,
    status: dict[str, Any] | None = None,
    created: dict[str, Any] | None = None,
) -> OperatorLineage:
    """Lineage from the (verbose) status response, or from the create answer when that is all there is."""
    status = status or {}
    created = created or {}
    command = exec_command(status)
    settings = created.get("clusterMainSettingValues")
    settings = settings if isinstance(settings, dict) else {}
    job_type = _str(command.get("type")) or _str(settings.get("jobType"))
    facets: dict[str, Any] = {
        "hadoopEco": HadoopEcoJobFacet(
            clusterId=cluster_id,
            clusterName=_str(status.get("clusterName")) or _str(created.get("clusterName")),
            requestId=request_id,
            jobType=job_type.lower() if job_type else None,
            requestResult=_str(status.get("requestResult")),
            terminationPolicy=_str(command.get("termination_policy")),
            execOpts=_str(command.get("exec_opts")) or _str(settings.get("userTaskExecOpts")),
            execParams=_str(command.get("exec_params")) or _str(settings.get("userTaskExecParams")),
        )
    }
    if _str(command.get("hive_query")):
        facets["sql"] = SQLJobFacet(query=command["hive_query"], dialect="hive")
    return OperatorLineage(job_facets=facets)
