"""What a request status means: the typed status the hook returns, parsed once per response.

The API documents only ``requestStatus`` ``Terminate`` and ``requestResult`` ``Success`` / ``Failure``.
Every other value, including ``null``, a missing key or a value never seen before, means "still running".
Values are compared case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from airflow_provider_hadoop_eco.exceptions import HadoopEcoResponseError


class RequestResult(StrEnum):
    """The terminal values of ``requestResult``."""

    SUCCESS = "Success"
    FAILURE = "Failure"


_SUCCESS = RequestResult.SUCCESS.value.lower()
_FAILURE = RequestResult.FAILURE.value.lower()


class RequestStatus(dict[str, Any]):
    """One status response, as the dict the API sent, with the fields that decide what happens next.

    It is the response itself (JSON-serializable, ``status["requestResult"]`` works), parsed once: the
    attributes below were checked when it was built.

    :param raw: the response as parsed from JSON (with ``clusterMeta`` for a verbose call).
    :param cluster_id: the cluster asked about.
    :param request_id: the request asked about.
    :param request_status: ``requestStatus`` as sent (``Terminate`` at the end), or None.
    :param request_result: ``requestResult`` as sent (``Success`` or ``Failure`` at the end), or None.
    :param cluster_name: ``clusterName``, for log lines and error messages.
    """

    def __init__(
        self,
        raw: dict[str, Any],
        *,
        cluster_id: str,
        request_id: str,
        request_status: str | None,
        request_result: str | None,
        cluster_name: str | None,
    ) -> None:
        super().__init__(raw)
        self.cluster_id = cluster_id
        self.request_id = request_id
        self.request_status = request_status
        self.request_result = request_result
        self.cluster_name = cluster_name

    @property
    def raw(self) -> dict[str, Any]:
        """The response as a plain dict."""
        return dict(self)

    @property
    def is_success(self) -> bool:
        """The job ended with requestResult Success."""
        return (self.request_result or "").strip().lower() == _SUCCESS

    @property
    def is_failure(self) -> bool:
        """The job ended with requestResult Failure."""
        return (self.request_result or "").strip().lower() == _FAILURE

    @property
    def is_terminal(self) -> bool:
        """The job has a final result; anything else is still running."""
        return self.is_success or self.is_failure

    def label(self) -> str:
        """A short text for log lines, e.g. ``Running`` or ``Terminate/Success``."""
        status = self.request_status or "(no status)"
        return f"{status}/{self.request_result}" if self.request_result else status

    def same_outcome(self, other: RequestStatus) -> bool:
        """Whether two responses agree on how the request ended (a verbose one adds ``clusterMeta``)."""
        return (self.is_success, self.is_failure) == (other.is_success, other.is_failure)

    def failure_message(self) -> str:
        """The message for a job that ended in Failure, with what a user needs to act on it."""
        command = exec_command(self.raw)
        name = self.cluster_name or cluster_meta(self.raw).get("cluster_name") or "unknown"
        parts = [
            f"Hadoop Eco job failed: cluster {name!r} ({self.cluster_id}), request {self.request_id}",
            f"requestStatus={self.request_status!r}, requestResult={self.request_result!r}",
        ]
        if command:
            parts.append(
                f"job type={command.get('type')!r}, termination policy={command.get('termination_policy')!r}"
            )
            if command.get("hive_query"):
                query = " ".join(str(command["hive_query"]).split())
                parts.append(f"hive query={query[:200]!r}")
        parts.append(
            "Check the job's logs in the Kakao Cloud console (Hadoop Eco > cluster > job history); "
            "the API reports no failure reason of its own."
        )
        return ". ".join(parts)


def cluster_meta(response: Mapping[str, Any] | None) -> dict[str, Any]:
    """``clusterMeta`` of a verbose status response, or {} when absent or malformed."""
    meta = (response or {}).get("clusterMeta")
    return meta if isinstance(meta, dict) else {}


def exec_command(response: Mapping[str, Any] | None) -> dict[str, Any]:
    """``clusterMeta.user_cluster_exec_command`` (job type, Hive query, termination policy...), or {}."""
    command = cluster_meta(response).get("user_cluster_exec_command")
    return command if isinstance(command, dict) else {}


def _optional_str(payload: dict[str, Any], key: str, where: str) -> str | None:
    value = payload.get(key)
    if value is None or isinstance(value, str):
        return value
    raise HadoopEcoResponseError(
        f"{where}: field {key!r} should be a string or null, got {type(value).__name__}"
    )


def parse_request_status(payload: Any, *, cluster_id: str, request_id: str) -> RequestStatus:
    """Validate a status response and return it typed.

    :raises HadoopEcoResponseError: the body is not an object, a field has the wrong type, or the
        response is about another request.
    """
    where = f"Status response for cluster {cluster_id!r}, request {request_id!r}"
    if not isinstance(payload, dict):
        raise HadoopEcoResponseError(f"{where}: expected a JSON object, got {type(payload).__name__}")
    answered_id = _optional_str(payload, "requestId", where)
    if answered_id and answered_id != request_id:
        raise HadoopEcoResponseError(f"{where}: the API answered about another request, {answered_id!r}")
    return RequestStatus(
        payload,
        cluster_id=cluster_id,
        request_id=request_id,
        request_status=_optional_str(payload, "requestStatus", where),
        request_result=_optional_str(payload, "requestResult", where),
        cluster_name=_optional_str(payload, "clusterName", where),
    )
