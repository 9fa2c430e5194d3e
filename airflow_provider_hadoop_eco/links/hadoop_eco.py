"""Extra link from a create task to its cluster in the Kakao Cloud console."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from airflow_provider_hadoop_eco.defaults import CONSOLE_CLUSTER_URL

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context, TaskInstanceKey


class HadoopEcoClusterLink(BaseOperatorLink):
    """'Hadoop Eco Cluster' button on a create task: opens the cluster in the Kakao Cloud console.

    The URL is stored in XCom while the task runs, so the link works on Airflow 2 (where the webserver
    sees only the un-templated operator) and Airflow 3 alike.
    """

    name: ClassVar[str] = "Hadoop Eco Cluster"  # type: ignore[misc]
    key: ClassVar[str] = "hadoop_eco_cluster_url"

    @classmethod
    def persist(cls, context: Context, cluster_id: str) -> str:
        """Store the console URL of ``cluster_id`` for this task instance and return it."""
        url = CONSOLE_CLUSTER_URL.format(cluster_id=quote(cluster_id, safe=""))
        context["ti"].xcom_push(key=cls.key, value=url)
        return url

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        """Return the stored console URL, or an empty string before the task has run."""
        url = XCom.get_value(ti_key=ti_key, key=self.key)
        return url if isinstance(url, str) else ""
