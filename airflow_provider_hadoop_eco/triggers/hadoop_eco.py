"""Trigger that waits in the triggerer for a Hadoop Eco create request to reach Success or Failure."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_hadoop_eco.defaults import (
    DEFAULT_CONN_ID,
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    DEFAULT_POLL_INTERVAL,
)
from airflow_provider_hadoop_eco.events import DEADLINE_TIMEOUT, EVENT_SUCCESS
from airflow_provider_hadoop_eco.exceptions import HadoopEcoError
from airflow_provider_hadoop_eco.tuning import validate_hook_params
from airflow_provider_hadoop_eco.waiting import RequestWait

#: Wake-ups are rounded up to a grid this fine (in seconds, and at most 1/20 of the poll interval), so that
#: the triggers of one triggerer that are due at nearly the same moment share one event-loop wake-up.
WAKE_GRID_SECONDS = 0.05


class HadoopEcoRequestTrigger(BaseTrigger):
    """Poll the status of a create request until it ends, then fire one event.

    The event is a dict ``{"status", "cluster_id", "request_id", "message", "response"}`` where
    ``status`` is ``success``, ``failure``, ``timeout`` or ``error`` and ``response`` is the final
    (verbose) status response, if any (see :mod:`airflow_provider_hadoop_eco.events`).

    :param cluster_id: the Hadoop Eco cluster's id.
    :param request_id: the ``requestId`` returned by the create call.
    :param hadoop_eco_conn_id: the Airflow connection to use (credentials are never put in the kwargs).
    :param poll_interval: seconds between two status calls.
    :param end_time: absolute deadline as a UNIX timestamp; at it the trigger checks one last time, then
        fires a ``timeout`` event. Absolute, so that a triggerer restart does not extend the wait. None
        waits without a deadline.
    :param max_consecutive_errors: failed polls in a row (after the hook's own retries) before the trigger
        gives up with an ``error`` event.
    :param started_at: UNIX timestamp the wait began, for the elapsed time in log lines.
    :param jitter_first_poll: wait a random part of ``poll_interval`` before the first call, so that many
        triggers started together (or resumed after a triggerer restart) do not poll in lock-step.
    :param hook_params: the hook's timeouts and retries (``timeout``, ``connect_timeout``, ``retry_limit``,
        ``retry_delay``, ``retry_max_delay``).
    :param deadline: which limit ``end_time`` is: ``timeout`` or ``execution_timeout``.
    :param last_status: the status the task logged before deferring, so the trigger does not repeat it.
    :param end_from_trigger: on success, end the task from the triggerer (``TaskSuccessEvent`` with the final
        response as its return value) instead of resuming it on a worker; set by a sensor started from the
        triggerer. Any other outcome still resumes the task, so retries and callbacks apply as usual.
    """

    def __init__(
        self,
        cluster_id: str,
        request_id: str,
        hadoop_eco_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        end_time: float | None = None,
        max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        started_at: float | None = None,
        jitter_first_poll: bool = True,
        hook_params: dict[str, Any] | None = None,
        deadline: str = DEADLINE_TIMEOUT,
        last_status: str | None = None,
        end_from_trigger: bool = False,
    ) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self.request_id = request_id
        self.hadoop_eco_conn_id = hadoop_eco_conn_id
        self.poll_interval = float(poll_interval)
        self.end_time = float(end_time) if end_time is not None else None
        self.max_consecutive_errors = int(max_consecutive_errors)
        self.started_at = float(started_at) if started_at is not None else time.time()
        self.jitter_first_poll = bool(jitter_first_poll)
        self.hook_params = dict(hook_params or {})
        self.deadline = deadline
        self.last_status = last_status
        self.end_from_trigger = bool(end_from_trigger)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and plain-JSON kwargs that rebuild this trigger after a restart."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "cluster_id": self.cluster_id,
                "request_id": self.request_id,
                "hadoop_eco_conn_id": self.hadoop_eco_conn_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "max_consecutive_errors": self.max_consecutive_errors,
                "started_at": self.started_at,
                "jitter_first_poll": self.jitter_first_poll,
                "hook_params": self.hook_params,
                "deadline": self.deadline,
                "last_status": self.last_status,
                "end_from_trigger": self.end_from_trigger,
            },
        )

    def _hook(self) -> Any:
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        return HadoopEcoHook(self.hadoop_eco_conn_id, **validate_hook_params(self.hook_params))

    def _wait(self) -> RequestWait:
        return RequestWait(
            cluster_id=self.cluster_id,
            request_id=self.request_id,
            poll_interval=self.poll_interval,
            end_time=self.end_time,
            started_at=self.started_at,
            max_consecutive_errors=self.max_consecutive_errors,
            deadline=self.deadline,
            last_label=self.last_status,
        )

    async def _sleep(self, seconds: float) -> None:
        if self.end_time is not None:
            seconds = min(seconds, max(self.end_time - time.time(), 0.0))
        # A separate wake-up of the loop costs more CPU than the poll it serves; aligning wake-ups to a
        # shared grid lets one wake-up serve every trigger due in that slot, a poll at most one slot late.
        grid = min(WAKE_GRID_SECONDS, self.poll_interval / 20)
        if grid > 0:
            seconds += -(asyncio.get_running_loop().time() + seconds) % grid
        await asyncio.sleep(seconds)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the request ends, or the deadline passes after one last check, or errors end it."""
        from airflow_provider_hadoop_eco.hooks.async_http import shared_session_lease

        async with shared_session_lease():
            hook, wait = self._hook(), self._wait()
            if self.jitter_first_poll and self.poll_interval > 0:
                await self._sleep(random.uniform(0, self.poll_interval))
            while True:
                event = await self._check(hook, wait)
                if event is None and wait.expired():
                    event = wait.timeout_event()
                if event is not None:
                    yield self._ending(event)
                    return
                await self._sleep(wait.sleep_seconds())

    def _ending(self, event: dict[str, Any]) -> TriggerEvent:
        if self.end_from_trigger and event["status"] == EVENT_SUCCESS:
            from airflow.triggers.base import TaskSuccessEvent

            self.log.info("%s", event["message"])
            return TaskSuccessEvent(xcoms={"return_value": event["response"]})
        return TriggerEvent(event)

    async def _check(self, hook: Any, wait: RequestWait) -> dict[str, Any] | None:
        try:
            status = await hook.aget_request_status(self.cluster_id, self.request_id, deadline=self.end_time)
        except HadoopEcoError as err:
            if wait.give_up(err):
                return wait.error_event(err)
            self.log.warning("%s", wait.retry_line(err))
            return None
        line = wait.observe(status)
        if line:
            self.log.info("%s", line)
        if not status.is_terminal:
            return None
        # One verbose call at the end gives the job type, Hive query and termination policy for the message
        # and for lineage, without paying for the large verbose body on every poll.
        try:
            verbose = await hook.aget_request_status(self.cluster_id, self.request_id, verbose=True)
        except HadoopEcoError as err:
            self.log.warning("Could not fetch the verbose status of request %s: %s", self.request_id, err)
            verbose = None
        return wait.final_event(status, verbose)
