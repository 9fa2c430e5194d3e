"""Waiting for a request in a worker, and turning a trigger event into a result.

Shared by the operator, the sensor and the trigger.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoError,
    HadoopEcoJobFailedError,
    HadoopEcoTimeoutError,
)
from airflow_provider_hadoop_eco.request_status import (
    EVENT_FAILURE,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    describe_failure,
    parse_request_state,
    validate_event,
)

if TYPE_CHECKING:
    import logging

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook


def check_request_once(
    hook: HadoopEcoHook,
    cluster_id: str,
    request_id: str,
    last_label: str | None,
    log: logging.Logger | Any,
    started_at: float | None = None,
) -> tuple[bool, dict[str, Any] | None, str]:
    """Check a request once.

    :return: ``(done, final_response, label)``: done is True on Success, with the verbose final response;
        label is the status text, so the caller logs a status only when it changes.
    :raises HadoopEcoJobFailedError: the job ended with Failure.
    """
    response = hook.get_request_status(cluster_id, request_id)
    state = parse_request_state(response, cluster_id=cluster_id, request_id=request_id)
    label = state.label()
    if label != last_label:
        elapsed = f" after {time.time() - started_at:.0f} s" if started_at is not None else ""
        log.info(
            "Hadoop Eco cluster %s (%s), request %s: %s%s",
            state.cluster_name or "?",
            cluster_id,
            request_id,
            label,
            elapsed,
        )
    else:
        log.debug("Hadoop Eco request %s still %s", request_id, label)
    if not state.is_terminal:
        return False, None, label
    try:
        final = hook.get_request_status(cluster_id, request_id, verbose=True)
    except HadoopEcoError as err:
        log.warning("Could not fetch the verbose status of request %s: %s", request_id, err)
        final = response
    if state.is_failure:
        message = describe_failure(cluster_id, request_id, final)
        # One readable line first: Airflow follows any failed task with its own traceback.
        log.error("%s", message)
        raise HadoopEcoJobFailedError(message) from None
    log.info("Hadoop Eco request %s on cluster %s: Success", request_id, state.cluster_name or cluster_id)
    return True, final, label


class TransientErrorBudget:
    """Counts failed status checks in a row (each already retried by the hook) and says when to give up.

    :param limit: failed checks in a row that end the wait.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, int(limit))
        self.failures = 0

    def absorb(self, err: HadoopEcoError, log: logging.Logger | Any, where: str) -> None:
        """Swallow a transient error within the budget; re-raise it otherwise."""
        from airflow_provider_hadoop_eco.hooks.base import is_transient

        if not is_transient(err):
            raise err
        self.failures += 1
        if self.failures >= self.limit:
            raise err
        log.warning("Status check %d/%d for %s failed: %s", self.failures, self.limit, where, err)

    def reset(self) -> None:
        """A check succeeded."""
        self.failures = 0


def wait_in_worker(
    hook: HadoopEcoHook,
    cluster_id: str,
    request_id: str,
    *,
    poll_interval: float,
    end_time: float | None,
    log: logging.Logger | Any,
    started_at: float | None = None,
    max_consecutive_errors: int = 5,
) -> dict[str, Any]:
    """Poll in the worker until Success (return the final response), Failure or the deadline (raise).

    Transient errors are retried inside each status call by the hook; after ``max_consecutive_errors`` such
    calls fail in a row, the wait ends with the last error.
    """
    started_at = started_at if started_at is not None else time.time()
    label: str | None = None
    budget = TransientErrorBudget(max_consecutive_errors)
    while True:
        try:
            done, response, label = check_request_once(hook, cluster_id, request_id, label, log, started_at)
        except HadoopEcoError as err:
            budget.absorb(err, log, f"request {request_id}")
            done, response = False, None
        else:
            budget.reset()
        if done:
            assert response is not None
            return response
        now = time.time()
        if end_time is not None and now >= end_time:
            raise HadoopEcoTimeoutError(
                f"Timed out waiting for cluster {cluster_id}, request {request_id} after "
                f"{now - started_at:.0f} s (last status: {label}). The job may still be running: "
                "the API has no cancel call."
            )
        time.sleep(poll_interval if end_time is None else min(poll_interval, end_time - now))


def raise_for_event(
    event: Any, log: logging.Logger | Any, *, timeout_is_sensor_timeout: bool
) -> dict[str, Any]:
    """Validate a trigger event: return it on success, raise the matching error otherwise.

    :param timeout_is_sensor_timeout: raise ``AirflowSensorTimeout`` on a timeout event (sensors) instead of
        :class:`HadoopEcoTimeoutError` (the operator).
    """
    event = validate_event(event)
    status, message = event["status"], event["message"]
    if status == EVENT_SUCCESS:
        log.info("%s", message)
        return event
    if status == EVENT_FAILURE:
        log.error("%s", message)
        raise HadoopEcoJobFailedError(message)
    if status == EVENT_TIMEOUT:
        if timeout_is_sensor_timeout:
            from airflow.providers.common.compat.sdk import AirflowSensorTimeout

            raise AirflowSensorTimeout(message)
        raise HadoopEcoTimeoutError(message)
    raise HadoopEcoError(message)
