"""The waiting core: one set of rules for every wait on a request, in a worker, a sensor or the triggerer.

:class:`RequestWait` holds no I/O: it is told what each status check returned (a status or an error) and
says what to log, whether to keep waiting, how long to sleep, and which event ends the wait. The drivers
(:func:`wait_in_worker` here, the sensor's ``poke``, and the trigger's async loop) only do the calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_hadoop_eco.defaults import DEFAULT_MAX_CONSECUTIVE_ERRORS
from airflow_provider_hadoop_eco.events import (
    DEADLINE_EXECUTION_TIMEOUT,
    DEADLINE_TIMEOUT,
    EVENT_ERROR,
    EVENT_FAILURE,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    event_error,
    make_event,
)
from airflow_provider_hadoop_eco.exceptions import HadoopEcoError, is_transient

if TYPE_CHECKING:
    import logging

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
    from airflow_provider_hadoop_eco.request_status import RequestStatus


class ErrorBudget:
    """Counts failed status checks in a row (each already retried by the hook).

    :param limit: failed checks in a row that end the wait.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, int(limit))
        self.failures = 0

    def spend(self, err: BaseException) -> bool:
        """Count one failed check; True when the wait must end (a permanent error, or the budget is spent)."""
        if not is_transient(err):
            return True
        self.failures += 1
        return self.failures >= self.limit

    def reset(self) -> None:
        """A check succeeded."""
        self.failures = 0


@dataclass
class RequestWait:
    """The state of one wait for one request, and the rules that drive it.

    :param cluster_id: the cluster's id.
    :param request_id: the request waited for.
    :param poll_interval: seconds between two status checks.
    :param end_time: UNIX time the wait ends at (after one last check), or None.
    :param started_at: UNIX time the wait began, for the elapsed time in messages.
    :param max_consecutive_errors: failed checks in a row that end the wait.
    :param deadline: which limit ``end_time`` is (``timeout`` or ``execution_timeout``), for the event.
    :param last_label: the status already logged (by the task before it deferred), not to be repeated.
    """

    cluster_id: str
    request_id: str
    poll_interval: float
    end_time: float | None = None
    started_at: float = field(default_factory=time.time)
    max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS
    deadline: str = DEADLINE_TIMEOUT
    last_label: str | None = None

    def __post_init__(self) -> None:
        self.budget = ErrorBudget(self.max_consecutive_errors)

    @property
    def where(self) -> str:
        """``cluster c-1, request req-1``: the subject of every message."""
        return f"cluster {self.cluster_id}, request {self.request_id}"

    def elapsed(self) -> float:
        """Seconds since the wait began."""
        return time.time() - self.started_at

    # --- what a check returned -------------------------------------------------------------------------

    def observe(self, status: RequestStatus) -> str | None:
        """Take a status in; return the line to log at INFO when it differs from the last one, else None."""
        self.budget.reset()
        label = status.label()
        if label == self.last_label:
            return None
        self.last_label = label
        return (
            f"Hadoop Eco cluster {status.cluster_name or '?'} ({self.cluster_id}), "
            f"request {self.request_id}: {label} after {self.elapsed():.0f} s"
        )

    def give_up(self, err: BaseException) -> bool:
        """Take a failed check in; True when the wait must end with :meth:`error_event`."""
        return self.budget.spend(err)

    def retry_line(self, err: BaseException) -> str:
        """The WARNING line for a failed check the wait survives."""
        return f"Status check {self.budget.failures}/{self.budget.limit} for {self.where} failed: {err}"

    # --- time -------------------------------------------------------------------------------------------

    def expired(self) -> bool:
        """Whether the deadline has passed (call it after a check: the last check comes at the deadline)."""
        return self.end_time is not None and time.time() >= self.end_time

    def sleep_seconds(self) -> float:
        """How long to sleep before the next check: the poll interval, cut short at the deadline."""
        if self.end_time is None:
            return self.poll_interval
        return max(min(self.poll_interval, self.end_time - time.time()), 0.0)

    # --- how it ends ------------------------------------------------------------------------------------

    def _event(
        self,
        status: str,
        message: str,
        response: dict[str, Any] | None = None,
        error: BaseException | None = None,
    ) -> dict[str, Any]:
        deadline = self.deadline if status == EVENT_TIMEOUT else None
        return make_event(
            status,
            cluster_id=self.cluster_id,
            request_id=self.request_id,
            message=message,
            response=response,
            deadline=deadline,
            error=error,
        )

    def final_event(self, status: RequestStatus, verbose: RequestStatus | None) -> dict[str, Any]:
        """The success or failure event of a terminal status, with the verbose response when it agrees."""
        final = verbose if verbose is not None and verbose.same_outcome(status) else status
        if status.is_success:
            name = status.cluster_name or self.cluster_id
            message = (
                f"Hadoop Eco request {self.request_id} on cluster {name} succeeded after "
                f"{self.elapsed():.0f} s"
            )
            return self._event(EVENT_SUCCESS, message, final.raw)
        return self._event(EVENT_FAILURE, final.failure_message(), final.raw)

    def timeout_event(self) -> dict[str, Any]:
        """The event of a wait that reached its deadline."""
        limit = "execution_timeout" if self.deadline != DEADLINE_TIMEOUT else "timeout"
        return self._event(
            EVENT_TIMEOUT,
            f"Timed out waiting for {self.where} after {self.elapsed():.0f} s ({limit} reached; "
            f"last status: {self.last_label or 'unknown'}). The job may still be running on the cluster: "
            "the API has no cancel call.",
        )

    def error_event(self, err: BaseException) -> dict[str, Any]:
        """The event of a wait ended by an error."""
        if is_transient(err):
            reason = f"after {self.budget.failures} failed status checks in a row; last error: {err}"
        else:
            reason = f"because of an error that retrying cannot fix: {err}"
        return self._event(EVENT_ERROR, f"Stopped waiting for {self.where} {reason}", error=err)


def fetch_verbose(hook: HadoopEcoHook, wait: RequestWait, log: logging.Logger | Any) -> RequestStatus | None:
    """The verbose status for the final message and lineage; None (with a warning) if it cannot be had."""
    try:
        return hook.get_request_status(wait.cluster_id, wait.request_id, verbose=True)
    except HadoopEcoError as err:
        log.warning("Could not fetch the verbose status of request %s: %s", wait.request_id, err)
        return None


def check_once(hook: HadoopEcoHook, wait: RequestWait, log: logging.Logger | Any) -> dict[str, Any] | None:
    """One status check in the worker: the event that ends the wait, or None to keep waiting."""
    try:
        status = hook.get_request_status(wait.cluster_id, wait.request_id, deadline=wait.end_time)
    except HadoopEcoError as err:
        if wait.give_up(err):
            return wait.error_event(err)
        log.warning("%s", wait.retry_line(err))
        return None
    line = wait.observe(status)
    if line:
        log.info("%s", line)
    else:
        log.debug("Hadoop Eco request %s still %s", wait.request_id, wait.last_label)
    if status.is_terminal:
        return wait.final_event(status, fetch_verbose(hook, wait, log))
    return None


def wait_in_worker(hook: HadoopEcoHook, wait: RequestWait, log: logging.Logger | Any) -> dict[str, Any]:
    """Poll in the worker until the wait ends; return the success event, raise for any other.

    The last check comes at the deadline: a job that ended just before it is a success, not a timeout.
    """
    while True:
        event = check_once(hook, wait, log)
        if event is None and wait.expired():
            event = wait.timeout_event()
        if event is not None:
            return raise_for_event(event, log)
        time.sleep(wait.sleep_seconds())


def raise_for_event(event: dict[str, Any], log: logging.Logger | Any) -> dict[str, Any]:
    """Return a success event (logging its message); raise the error any other stands for."""
    error = event_error(event)
    if error is None:
        log.info("%s", event["message"])
        return event
    if event["status"] == EVENT_FAILURE:
        # One readable line first: Airflow follows any failed task with its own traceback.
        log.error("%s", event["message"])
    raise error


def deadline_for(timeout_end: float | None, execution_timeout_end: float | None) -> tuple[float | None, str]:
    """The wait's absolute deadline and which limit it is: the earlier of the two.

    Airflow applies neither the sensor's ``timeout`` nor ``execution_timeout`` while a task is deferred, so
    the trigger carries the earlier one and says which it was.
    """
    limits = [
        (end, kind)
        for end, kind in (
            (timeout_end, DEADLINE_TIMEOUT),
            (execution_timeout_end, DEADLINE_EXECUTION_TIMEOUT),
        )
        if end is not None
    ]
    if not limits:
        return None, DEADLINE_TIMEOUT
    return min(limits)
