"""The one event :class:`HadoopEcoRequestTrigger` fires: its shape, its check, and what it means.

The payload is a plain dict ``{"status", "cluster_id", "request_id", "message", "response"}`` (plus
``"deadline"`` on a timeout): ``status`` is ``success``, ``failure``, ``timeout`` or ``error``;
``response`` is the final (verbose) status response, if any; ``deadline`` says which limit ended the wait:
``timeout`` (the sensor's ``timeout`` or the operator's ``wait_timeout``) or ``execution_timeout``. An
``error`` event also names the class of its error (``error_type``, and ``http_status`` for an HTTP error),
so the task raises an error of the same class in the worker.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoError,
    HadoopEcoJobFailedError,
    HadoopEcoTimeoutError,
    rebuild_error,
)

EVENT_SUCCESS = "success"
EVENT_FAILURE = "failure"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"
EVENT_STATUSES = frozenset({EVENT_SUCCESS, EVENT_FAILURE, EVENT_TIMEOUT, EVENT_ERROR})
#: Which limit a timeout event hit.
DEADLINE_TIMEOUT = "timeout"
DEADLINE_EXECUTION_TIMEOUT = "execution_timeout"
_EVENT_KEYS = ("status", "cluster_id", "request_id", "message")


def make_event(
    status: str,
    *,
    cluster_id: str,
    request_id: str,
    message: str,
    response: dict[str, Any] | None = None,
    deadline: str | None = None,
    error: BaseException | None = None,
) -> dict[str, Any]:
    """Build the payload of the trigger's event; an ``error`` event names the class of its error."""
    if status not in EVENT_STATUSES:
        raise ValueError(f"unknown event status {status!r}")
    event = {
        "status": status,
        "cluster_id": cluster_id,
        "request_id": request_id,
        "message": message,
        "response": response,
    }
    if status == EVENT_TIMEOUT:
        event["deadline"] = deadline or DEADLINE_TIMEOUT
    if status == EVENT_ERROR and error is not None:
        event["error_type"] = type(error).__name__
        event["http_status"] = getattr(error, "http_status", None)
    return event


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


def event_error(event: dict[str, Any]) -> BaseException | None:
    """The error a (validated) event stands for, or None for a success.

    A timeout at ``execution_timeout`` is Airflow's own task timeout (the task's retries apply); any other
    timeout is :class:`HadoopEcoTimeoutError`, which a sensor turns into a sensor timeout.
    """
    status, message = event["status"], event["message"]
    if status == EVENT_SUCCESS:
        return None
    if status == EVENT_FAILURE:
        return HadoopEcoJobFailedError(message)
    if status == EVENT_TIMEOUT:
        if event.get("deadline") == DEADLINE_EXECUTION_TIMEOUT:
            from airflow.providers.common.compat.sdk import AirflowTaskTimeout

            return AirflowTaskTimeout(message)
        return HadoopEcoTimeoutError(message)
    return rebuild_error(
        event.get("error_type"), message, http_status=event.get("http_status"), cluster_id=event["cluster_id"]
    )
