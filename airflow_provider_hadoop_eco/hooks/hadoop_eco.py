"""Hook for the Kakao Cloud Hadoop Eco job cluster API: create (re-run a job cluster) and request status."""

from __future__ import annotations

from typing import Any

from airflow_provider_hadoop_eco.cluster_settings import build_create_body, validate_identifier
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoClusterBusyError,
    HadoopEcoConnectError,
    HadoopEcoError,
    HadoopEcoJobMayHaveStartedError,
    HadoopEcoNotFoundError,
    HadoopEcoResponseError,
    HadoopEcoServerError,
    HadoopEcoTransportError,
)
from airflow_provider_hadoop_eco.hooks.base import BaseHadoopEcoHook
from airflow_provider_hadoop_eco.hooks.responses import ApiRequest, ApiResponse, body_excerpt, parse_json
from airflow_provider_hadoop_eco.request_status import RequestStatus, parse_request_status

# Used by test_connection: a request id that cannot exist, so the call can never touch a job.
_PROBE_REQUEST_ID = "req-airflow-connection-test"
_PROBE_CLUSTER_ID = "airflow-connection-test"
_UNFOLLOWABLE = (
    "the job cannot be followed, and it may have started: check the cluster's request history in the "
    "Kakao Cloud console before running the task again"
)


class HadoopEcoHook(BaseHadoopEcoHook):
    """Interact with the Kakao Cloud Hadoop Eco job cluster API.

    The connection (type ``hadoop_eco``) holds the access key ID as Login, the secret access key as
    Password, and the cluster's Open API key as the extra ``api_key``. The Open API key is issued per
    cluster: use one connection per cluster. The extra ``region`` (``kr-central-1`` or ``kr-central-2``)
    picks the API's host and paths.

    :param hadoop_eco_conn_id: the Airflow connection to use.
    :param timeout: seconds to wait for an answer to one HTTP request.
    :param connect_timeout: seconds to wait for a connection.
    :param retry_limit: attempts for a status call before a transient error is raised.
    :param retry_delay: first backoff delay in seconds between attempts.
    :param retry_max_delay: cap on one backoff delay in seconds.
    """

    def create_cluster(self, cluster_id: str, **settings: Any) -> dict[str, Any]:
        """Bring the cluster up again and run its job once; return the API's answer.

        Only the settings given (not None) are sent, under the API's names: ``worker_count`` (workerCnt),
        ``worker_volume_size`` (workerVolumeSize), ``hdfs_replication`` (configHdfsReplication),
        ``hdfs_block_size`` (configHdfsBlockSize), ``deploy_mode`` (userTaskDeployMode), ``exec_opts``
        (userTaskExecOpts), ``exec_params`` (userTaskExecParams) and ``instance_specs`` (instanceSpecs).
        The API names are accepted too.

        This call is never repeated once it may have reached the API: the API has no idempotency key. Any
        2xx answer with a ``requestId`` means the job started; HTTP 202 means the cluster is busy.

        :param cluster_id: the id of the Hadoop Eco cluster whose job to run.
        :param settings: settings to change for this run; see above.
        :return: the response: ``clusterId``, ``clusterName``, ``requestId``, ``clusterMainSettingValues``.
        :raises HadoopEcoClusterBusyError: HTTP 202, a job of this cluster is still running.
        :raises HadoopEcoJobMayHaveStartedError: the call was sent but its answer was lost, a 5xx, or not
            usable.
        """
        cluster_id = validate_identifier("cluster_id", cluster_id)
        body = build_create_body(settings)
        url = self.credentials.endpoint.create_url(cluster_id)
        request = ApiRequest("POST", url, "Create cluster", cluster_id, body=body)
        try:
            response = self.request(request)
        except (HadoopEcoServerError, HadoopEcoTransportError) as err:
            if isinstance(err, HadoopEcoConnectError):
                raise
            raise HadoopEcoJobMayHaveStartedError(_may_have_started(request, str(err))) from None
        return self._started_job(request, response)

    def _started_job(self, request: ApiRequest, response: ApiResponse) -> dict[str, Any]:
        scrub = self.credentials.scrub
        if response.status == 202:
            raise HadoopEcoClusterBusyError(
                "An operation on this cluster is already in progress, so no new job was started",
                http_status=202,
                cluster_id=request.cluster_id,
                body=body_excerpt(response.content, scrub),
            )
        try:
            answer = parse_json(response, request, scrub)
        except HadoopEcoResponseError as err:
            raise HadoopEcoResponseError(f"{err}; {_UNFOLLOWABLE}") from None
        request_id = answer.get("requestId") if isinstance(answer, dict) else None
        if not isinstance(request_id, str) or not request_id.strip():
            excerpt = body_excerpt(response.content, scrub)
            raise HadoopEcoResponseError(
                f"{request.describe()}: the answer (HTTP {response.status}) has no requestId: {excerpt}; "
                f"{_UNFOLLOWABLE}"
            )
        return answer

    def get_request_status(
        self, cluster_id: str, request_id: str, verbose: bool = False, *, deadline: float | None = None
    ) -> RequestStatus:
        """Return the status of a create request, parsed once.

        :param cluster_id: the cluster's id.
        :param request_id: the ``requestId`` returned by :meth:`create_cluster`.
        :param verbose: also return ``clusterMeta`` (nodes, job type, Hive query, termination policy).
        :param deadline: UNIX time no retry may wait past (the caller's own deadline).
        """
        request = self._status_request(cluster_id, request_id, verbose)
        return self._status(request, self.request(request, deadline=deadline))

    async def aget_request_status(
        self, cluster_id: str, request_id: str, verbose: bool = False, *, deadline: float | None = None
    ) -> RequestStatus:
        """Async twin of :meth:`get_request_status`, for triggers: never blocks the event loop."""
        credentials = await self.aget_credentials()
        request = self._status_request(cluster_id, request_id, verbose, credentials.endpoint)
        response = await self.arequest(request, deadline=deadline)
        return self._status(request, response, credentials.scrub)

    def _status_request(
        self, cluster_id: str, request_id: str, verbose: bool, endpoint: Any = None
    ) -> ApiRequest:
        cluster_id = validate_identifier("cluster_id", cluster_id)
        request_id = validate_identifier("request_id", request_id)
        endpoint = endpoint or self.credentials.endpoint
        url = endpoint.status_url(cluster_id, request_id, verbose)
        return ApiRequest("GET", url, "Request status", cluster_id, request_id)

    def _status(self, request: ApiRequest, response: ApiResponse, scrub: Any = None) -> RequestStatus:
        scrub = scrub or self.credentials.scrub
        payload = parse_json(response, request, scrub)
        assert request.request_id is not None
        try:
            return parse_request_status(payload, cluster_id=request.cluster_id, request_id=request.request_id)
        except HadoopEcoResponseError as err:  # it may quote what the server sent, a secret echoed included
            raise HadoopEcoResponseError(scrub(str(err))) from None

    def test_connection(self) -> tuple[bool, str]:
        """Check that the API is reachable and the credentials are accepted, without starting any job.

        It asks the connection's cluster (extra ``cluster_id``) for the status of a request id that cannot
        exist: a read-only call, sent once. Credentials are checked per cluster, so without ``cluster_id``
        the test cannot vouch for them and fails with a message saying so.
        """
        cluster_id: str | None = None
        try:
            credentials = self.credentials
            cluster_id = credentials.test_cluster_id
            request = self._status_request(cluster_id or _PROBE_CLUSTER_ID, _PROBE_REQUEST_ID, False)
            self._with_fresh_credentials(lambda creds: self._send(request, creds, None))
        except HadoopEcoNotFoundError as err:
            if not cluster_id:
                return False, (
                    f"Reached {credentials.base_url} (region {credentials.endpoint.region}), but the "
                    "credentials could not be checked: the Open API key belongs to one cluster. Set the "
                    "extra 'cluster_id' to this connection's cluster and test again."
                )
            return True, (
                f"Reached {credentials.base_url} (region {credentials.endpoint.region}): the credentials and "
                f"Open API key were not refused for cluster {cluster_id!r} (the probe request id is unknown, "
                f"as expected: {err.body or 'HTTP 404'})"
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
        """Extra fields of the connection form in the Airflow 2 UI, built from the same field list.

        Airflow 2 accepts only text, password, integer and boolean fields, so a choice (the region) is a
        text field whose description lists the choices; a wrong value is refused when the connection is
        read, naming the choices.
        """
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, PasswordField, StringField

        from airflow_provider_hadoop_eco.get_provider_info import CONN_FIELDS

        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            label = lazy_gettext(spec["label"])
            description = str(spec.get("description", ""))
            schema = spec.get("schema", {})
            types = schema.get("type", [])
            if schema.get("format") == "password":
                widgets[name] = PasswordField(label, widget=BS3PasswordFieldWidget(), description=description)
            elif "boolean" in types:
                widgets[name] = BooleanField(label, default=False, description=description)
            else:
                if "enum" in schema:
                    description += " One of: " + ", ".join(c for c in schema["enum"] if c is not None) + "."
                widgets[name] = StringField(label, widget=BS3TextFieldWidget(), description=description)
        return widgets


def _may_have_started(request: ApiRequest, reason: str) -> str:
    return (
        f"{request.describe()} was sent, but no usable answer came back ({reason}). "
        "The job MAY HAVE STARTED. It was not resubmitted, because the API has no idempotency key and a "
        "second call could run the job twice. Check the cluster in the Kakao Cloud console (Hadoop Eco > "
        "cluster > request history) before retrying; while that job runs, a new create call is answered "
        "with HTTP 202 and starts nothing."
    )
