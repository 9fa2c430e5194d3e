"""What a request status means, and the shape of the trigger's event: one place for each rule.

The API documents only ``requestStatus`` ``Terminate`` and ``requestResult`` ``Success`` / ``Failure``.
Every other value, including ``null``, a missing key or a value never seen before, means "still running".
Values are compared case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_provider_hadoop_eco.exceptions import HadoopEcoError, HadoopEcoResponseError


class RequestResult(str, Enum):
    """The terminal values of ``requestResult``."""

    SUCCESS = "Success"
    FAILURE = "Failure"


_SUCCESS = RequestResult.SUCCESS.value.lower()
_FAILURE = RequestResult.FAILURE.value.lower()


@dataclass(frozen=True)
class RequestState:
    """The parts of a status response that decide what happens next.

    :param request_status: ``requestStatus`` as sent (``Terminate`` at the end), or None.
    :param request_result: ``requestResult`` as sent (``Success`` or ``Failure`` at the end), or None.
    :param cluster_name: ``clusterName``, for log lines and error messages.
    """

    request_status: str | None
    request_result: str | None
    cluster_name: str | None

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


def _optional_str(payload: dict[str, Any], key: str, where: str) -> str | None:
    value = payload.get(key)
    if value is None or isinstance(value, str):
        return value
    raise HadoopEcoResponseError(
        f"{where}: field {key!r} should be a string or null, got {type(value).__name__}"
    )


def parse_request_state(payload: Any, *, cluster_id: str, request_id: str) -> RequestState:
    """Validate a status response and return its :class:`RequestState`.

    :raises HadoopEcoResponseError: the body is not an object, a field has the wrong type, or the
        response is about another request.
    """
    where = f"Status response for cluster {cluster_id!r}, request {request_id!r}"
    if not isinstance(payload, dict):
        raise HadoopEcoResponseError(f"{where}: expected a JSON object, got {type(payload).__name__}")
    answered_id = _optional_str(payload, "requestId", where)
    if answered_id and answered_id != request_id:
        raise HadoopEcoResponseError(f"{where}: the API answered about another request, {answered_id!r}")
    return RequestState(
        request_status=_optional_str(payload, "requestStatus", where),
        request_result=_optional_str(payload, "requestResult", where),
        cluster_name=_optional_str(payload, "clusterName", where),
    )


def describe_failure(cluster_id: str, request_id: str, response: dict[str, Any] | None) -> str:
    """Build the message for a job that ended in Failure, with what a user needs to act on it.

    Uses the verbose status (``clusterMeta``) when present: job type, termination policy, cluster name.
    """
    response = response or {}
    raw_meta = response.get("clusterMeta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    raw_command = meta.get("user_cluster_exec_command")
    command: dict[str, Any] = raw_command if isinstance(raw_command, dict) else {}
    name = response.get("clusterName") or meta.get("cluster_name") or "unknown"
    parts = [
        f"Hadoop Eco job failed: cluster {name!r} ({cluster_id}), request {request_id}",
        f"requestStatus={response.get('requestStatus')!r}, requestResult={response.get('requestResult')!r}",
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


# --- the trigger's event -------------------------------------------------------------------------

EVENT_SUCCESS = "success"
EVENT_FAILURE = "failure"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"
EVENT_STATUSES = frozenset({EVENT_SUCCESS, EVENT_FAILURE, EVENT_TIMEOUT, EVENT_ERROR})
_EVENT_KEYS = ("status", "cluster_id", "request_id", "message")


def make_event(
    status: str,
    *,
    cluster_id: str,
    request_id: str,
    message: str,
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the payload of the one event :class:`HadoopEcoRequestTrigger` yields."""
    if status not in EVENT_STATUSES:
        raise ValueError(f"unknown event status {status!r}")
    return {
        "status": status,
        "cluster_id": cluster_id,
        "request_id": request_id,
        "message": message,
        "response": response,
    }


def validate_event(event: Any) -> dict[str, Any]:
    """Check an event handed to ``execute_complete``; reject None or anything of another shape.

    :raises HadoopEcoError: the event is missing or malformed, so the task must not be marked a success.
    """
    if event is None:
        raise HadoopEcoError(
            "The trigger returned no event (None); the request's outcome is unknown, so the task fails "
            "rather than report a success it cannot prove."
        )
    if not isinstance(event, dict) or any(key not in event for key in _EVENT_KEYS):
        raise HadoopEcoError(f"The trigger returned an event of unknown shape: {str(event)[:300]!r}")
    if event["status"] not in EVENT_STATUSES:
        raise HadoopEcoError(f"The trigger returned an event with unknown status {event['status']!r}")
    response = event.get("response")
    if response is not None and not isinstance(response, dict):
        raise HadoopEcoError(f"The trigger returned an event whose response is {type(response).__name__}")
    return event
