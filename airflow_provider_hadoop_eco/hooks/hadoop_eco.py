"""Hook for the Kakao Cloud Hadoop Eco job cluster API: create (re-run a job cluster) and request status."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow_provider_hadoop_eco.cluster_settings import build_create_body, validate_identifier
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoError,
    HadoopEcoNotFoundError,
    HadoopEcoResponseError,
)
from airflow_provider_hadoop_eco.hooks.base import BaseHadoopEcoHook
from airflow_provider_hadoop_eco.request_status import parse_request_state

CREATE_PATH = "/hadoop-eco/v1/cluster/{cluster_id}"
STATUS_PATH = "/hadoop-eco/v1/cluster/{cluster_id}/request-id/{request_id}"

# Used by test_connection: a request id that cannot exist, so the call can never touch a job.
_PROBE_REQUEST_ID = "req-airflow-connection-test"
_PROBE_CLUSTER_ID = "airflow-connection-test"


class HadoopEcoHook(BaseHadoopEcoHook):
    """Interact with the Kakao Cloud Hadoop Eco job cluster API.

    The connection (type ``hadoop_eco``) holds the access key ID as Login, the secret access key as
    Password, and the cluster's Open API key as the extra ``api_key``. The Open API key is issued per
    cluster: use one connection per cluster.

    :param hadoop_eco_conn_id: the Airflow connection to use.
    :param timeout: seconds to wait for an answer to one HTTP request.
    :param connect_timeout: seconds to wait for a connection.
    :param retry_limit: attempts for a status call before a transient error is raised.
    :param retry_delay: first backoff delay in seconds between attempts.
    :param retry_max_delay: cap on one backoff delay in seconds.
    """

    #: Path templates, overridable in a subclass for another API host or version.
    create_path_template: str = CREATE_PATH
    status_path_template: str = STATUS_PATH

    def create_cluster(self, cluster_id: str, **settings: Any) -> dict[str, Any]:
        """Bring the cluster up again and run its job once; return the API's answer.

        Only the settings given (not None) are sent, under the API's names: ``worker_count`` (workerCnt),
        ``worker_volume_size`` (workerVolumeSize), ``hdfs_replication`` (configHdfsReplication),
        ``hdfs_block_size`` (configHdfsBlockSize), ``deploy_mode`` (userTaskDeployMode), ``exec_opts``
        (userTaskExecOpts), ``exec_params`` (userTaskExecParams). The API names are accepted too.

        This call is never repeated once it may have reached the API: the API has no idempotency key.

        :param cluster_id: the id of the Hadoop Eco cluster whose job to run.
        :param settings: settings to change for this run; see above.
        :return: the response: ``clusterId``, ``clusterName``, ``requestId``, ``clusterMainSettingValues``.
        :raises HadoopEcoClusterBusyError: HTTP 202, a job of this cluster is still running.
        :raises HadoopEcoJobMayHaveStartedError: the call was sent but its answer was lost or a 5xx.
        """
        cluster_id = validate_identifier("cluster_id", cluster_id)
        body = build_create_body(settings)
        path = self.create_path_template.format(cluster_id=quote(cluster_id, safe=""))
        response = self._call("POST", path, cluster_id=cluster_id, what="Create cluster", json_body=body)
        request_id = response.get("requestId") if isinstance(response, dict) else None
        if not isinstance(request_id, str) or not request_id:
            raise HadoopEcoResponseError(
                f"Create cluster for cluster {cluster_id!r}: the answer has no requestId, so the job cannot "
                f"be followed; the job may have started. Answer: {str(response)[:300]!r}"
            )
        return response

    def get_request_status(self, cluster_id: str, request_id: str, verbose: bool = False) -> dict[str, Any]:
        """Return the status of a create request (``requestStatus``, ``requestResult``...).

        :param cluster_id: the cluster's id.
        :param request_id: the ``requestId`` returned by :meth:`create_cluster`.
        :param verbose: also return ``clusterMeta`` (nodes, job type, Hive query, termination policy).
        """
        path, params = self._status_call(cluster_id, request_id, verbose)
        response = self._call("GET", path, cluster_id=cluster_id, what="Request status", params=params)
        parse_request_state(response, cluster_id=cluster_id, request_id=request_id)
        return response

    async def aget_request_status(
        self, cluster_id: str, request_id: str, verbose: bool = False
    ) -> dict[str, Any]:
        """Async twin of :meth:`get_request_status`, for triggers: never blocks the event loop."""
        path, params = self._status_call(cluster_id, request_id, verbose)
        # The query goes into the path: aiohttp then parses one URL string instead of merging a params dict
        # into a parsed URL on every poll (the values are plain ASCII, nothing to encode).
        path = f"{path}?verbose={params['verbose']}"
        response = await self._acall_get(path, cluster_id=cluster_id, what="Request status")
        parse_request_state(response, cluster_id=cluster_id, request_id=request_id)
        return response

    def _status_call(self, cluster_id: str, request_id: str, verbose: bool) -> tuple[str, dict[str, str]]:
        cluster_id = validate_identifier("cluster_id", cluster_id)
        request_id = validate_identifier("request_id", request_id)
        path = self.status_path_template.format(
            cluster_id=quote(cluster_id, safe=""), request_id=quote(request_id, safe="")
        )
        return path, {"verbose": "true" if verbose else "false"}

    def test_connection(self) -> tuple[bool, str]:
        """Check that the API is reachable and the credentials are accepted, without starting any job.

        It asks the connection's cluster (extra ``cluster_id``) for the status of a request id that cannot
        exist: a read-only call. Credentials are checked per cluster, so without ``cluster_id`` the test
        cannot vouch for them and fails with a message saying so.
        """
        cluster_id: str | None = None
        try:
            credentials = self.credentials
            extras = self.get_connection(self.hadoop_eco_conn_id).extra_dejson or {}
            cluster_id = extras.get("cluster_id") or extras.get("extra__hadoop_eco__cluster_id") or None
            probe_cluster = cluster_id or _PROBE_CLUSTER_ID
            path, params = self._status_call(probe_cluster, _PROBE_REQUEST_ID, False)
            self._send_sync("GET", path, cluster_id=probe_cluster, what="Test connection", params=params)
        except HadoopEcoNotFoundError as err:
            if cluster_id:
                return True, (
                    f"Reached {credentials.base_url}: the credentials and Open API key were not refused for "
                    f"cluster {cluster_id!r} (the probe request id is unknown, as expected: "
                    f"{err.body or 'HTTP 404'})"
                )
            return False, (
                f"Reached {credentials.base_url}, but the credentials could not be checked: the Open API "
                "key belongs to one cluster. Set the extra 'cluster_id' to this connection's cluster and "
                "test again."
            )
        except HadoopEcoError as err:
            return False, str(err)
        return True, f"Reached {credentials.base_url}; credentials accepted."

    # --- connection form, Airflow 2 (Airflow 3.2+ reads conn-fields from the provider info) -----------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Relabel and hide the standard connection fields in the Airflow 2 UI."""
        from airflow_provider_hadoop_eco.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form in the Airflow 2 UI."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, PasswordField, StringField

        from airflow_provider_hadoop_eco.get_provider_info import CONN_FIELDS

        def label(name: str) -> Any:
            return lazy_gettext(CONN_FIELDS[name]["label"])

        def help_text(name: str) -> str:
            return str(CONN_FIELDS[name].get("description", ""))

        return {
            "api_key": PasswordField(
                label("api_key"), widget=BS3PasswordFieldWidget(), description=help_text("api_key")
            ),
            "cluster_id": StringField(
                label("cluster_id"), widget=BS3TextFieldWidget(), description=help_text("cluster_id")
            ),
            "allow_insecure_http": BooleanField(
                label("allow_insecure_http"), default=False, description=help_text("allow_insecure_http")
            ),
            "verify": StringField(
                label("verify"), widget=BS3TextFieldWidget(), description=help_text("verify")
            ),
        }
