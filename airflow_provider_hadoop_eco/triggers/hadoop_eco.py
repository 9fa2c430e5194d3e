"""Trigger that waits in the triggerer for a Hadoop Eco create request to reach Success or Failure."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_hadoop_eco.exceptions import HadoopEcoError
from airflow_provider_hadoop_eco.hooks.base import is_transient
from airflow_provider_hadoop_eco.request_status import (
    EVENT_ERROR,
    EVENT_FAILURE,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    RequestState,
    describe_failure,
    make_event,
    parse_request_state,
)
from airflow_provider_hadoop_eco.waiting import TransientErrorBudget

#: Consecutive failed polls (each already retried by the hook) a trigger survives by default.
DEFAULT_MAX_CONSECUTIVE_ERRORS = 5
#: Wake-ups are rounded up to a grid this fine (in seconds, and at most 1/20 of the poll interval), so that
#: the triggers of one triggerer that are due at nearly the same moment share one event-loop wake-up.
WAKE_GRID_SECONDS = 0.05


class HadoopEcoRequestTrigger(BaseTrigger):
    """Poll the status of a create request until it ends, then fire one event.

    The event is a dict ``{"status", "cluster_id", "request_id", "message", "response"}`` where
    ``status`` is ``success``, ``failure``, ``timeout`` or ``error`` and ``response`` is the final
    (verbose) status response, if any.

    :param cluster_id: the Hadoop Eco cluster's id.
    :param request_id: the ``requestId`` returned by the create call.
    :param hadoop_eco_conn_id: the Airflow connection to use (credentials are never put in the kwargs).
    :param poll_interval: seconds between two status calls.
    :param end_time: absolute deadline as a UNIX timestamp; past it the trigger fires a ``timeout`` event.
        Absolute, so that a triggerer restart does not extend the wait. None waits without a deadline.
    :param max_consecutive_errors: failed polls in a row (after the hook's own retries) before the trigger
        gives up with an ``error`` event.
    :param started_at: UNIX timestamp the wait began, for the elapsed time in log lines.
    :param jitter_first_poll: wait a random part of ``poll_interval`` before the first call, so that many
        triggers started together (or resumed after a triggerer restart) do not poll in lock-step.
    """

    def __init__(
        self,
        cluster_id: str,
        request_id: str,
        hadoop_eco_conn_id: str = "hadoop_eco_default",
        poll_interval: float = 30.0,
        end_time: float | None = None,
        max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        started_at: float | None = None,
        jitter_first_poll: bool = True,
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
            },
        )

    def _hook(self) -> Any:
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        return HadoopEcoHook(self.hadoop_eco_conn_id)

    def _event(self, status: str, message: str, response: dict[str, Any] | None = None) -> TriggerEvent:
        return TriggerEvent(
            make_event(
                status,
                cluster_id=self.cluster_id,
                request_id=self.request_id,
                message=message,
                response=response,
            )
        )

    def _remaining(self) -> float | None:
        return None if self.end_time is None else self.end_time - time.time()

    async def _sleep(self, seconds: float) -> None:
        remaining = self._remaining()
        if remaining is not None:
            seconds = min(seconds, max(remaining, 0.0))
        # Each separate wake-up of the loop costs far more CPU than the poll it serves (measured in
        # benchmarks/RESULTS.md: ~0.2 ms on a cloud VM). Aligning the wake-ups to a shared grid lets one
        # wake-up serve every trigger due in that slot, at the price of a poll up to one slot late.
        grid = min(WAKE_GRID_SECONDS, self.poll_interval / 20)
        if grid > 0:
            seconds += -(asyncio.get_running_loop().time() + seconds) % grid
        await asyncio.sleep(seconds)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the request ends, the deadline passes, or errors exhaust the budget."""
        from airflow_provider_hadoop_eco.hooks.async_http import shared_session_lease

        async with shared_session_lease():
            async for event in self._poll():
                yield event

    async def _poll(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        where = f"cluster {self.cluster_id}, request {self.request_id}"
        last_label: str | None = None
        budget = TransientErrorBudget(self.max_consecutive_errors)
        if self.jitter_first_poll and self.poll_interval > 0:
            await self._sleep(random.uniform(0, self.poll_interval))
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                yield self._event(
                    EVENT_TIMEOUT,
                    f"Timed out waiting for {where} after {time.time() - self.started_at:.0f} s "
                    f"(last status: {last_label or 'unknown'}). The job may still be running on the cluster: "
                    "the API has no cancel call.",
                )
                return
            try:
                response = await hook.aget_request_status(self.cluster_id, self.request_id)
                state = parse_request_state(response, cluster_id=self.cluster_id, request_id=self.request_id)
            except HadoopEcoError as err:
                try:
                    budget.absorb(err, self.log, where)
                except HadoopEcoError:
                    reason = (
                        f"after {budget.failures} failed status checks in a row; last error: {err}"
                        if is_transient(err)
                        else f": {err}"
                    )
                    yield self._event(EVENT_ERROR, f"Stopped waiting for {where} {reason}".replace(" :", ":"))
                    return
                await self._sleep(self.poll_interval)
                continue
            budget.reset()
            label = state.label()
            if label != last_label:
                self.log.info(
                    "Hadoop Eco cluster %s (%s), request %s: %s after %.0f s",
                    state.cluster_name or "?",
                    self.cluster_id,
                    self.request_id,
                    label,
                    time.time() - self.started_at,
                )
                last_label = label
            if state.is_terminal:
                yield await self._final_event(hook, state, response)
                return
            await self._sleep(self.poll_interval)

    async def _final_event(self, hook: Any, state: RequestState, response: dict[str, Any]) -> TriggerEvent:
        # One verbose call at the end gives the job type, Hive query and termination policy for the message
        # and for lineage, without paying for the large verbose body on every poll.
        try:
            verbose = await hook.aget_request_status(self.cluster_id, self.request_id, verbose=True)
            if parse_request_state(verbose, cluster_id=self.cluster_id, request_id=self.request_id) == state:
                response = verbose
        except HadoopEcoError as err:
            self.log.warning("Could not fetch the verbose status of request %s: %s", self.request_id, err)
        elapsed = time.time() - self.started_at
        if state.is_success:
            return self._event(
                EVENT_SUCCESS,
                f"Hadoop Eco request {self.request_id} on cluster {state.cluster_name or self.cluster_id} "
                f"succeeded after {elapsed:.0f} s",
                response,
            )
        return self._event(
            EVENT_FAILURE, describe_failure(self.cluster_id, self.request_id, response), response
        )
