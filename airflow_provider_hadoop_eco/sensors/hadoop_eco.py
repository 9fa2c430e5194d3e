"""Sensor that waits for a Hadoop Eco create request to end: in poke, reschedule or deferrable mode."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_hadoop_eco.cluster_settings import is_literal, validate_identifier
from airflow_provider_hadoop_eco.defaults import (
    DEFAULT_CONN_ID,
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    DEFAULT_POLL_INTERVAL,
)
from airflow_provider_hadoop_eco.events import event_error, validate_event
from airflow_provider_hadoop_eco.exceptions import HadoopEcoJobFailedError, HadoopEcoTimeoutError
from airflow_provider_hadoop_eco.tuning import validate_hook_params
from airflow_provider_hadoop_eco.waiting import RequestWait, check_once, deadline_for

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook


class HadoopEcoRequestSensor(BaseSensorOperator):
    """Wait until a Hadoop Eco create request reaches requestResult Success (or fail on Failure).

    Any other status means the job is still running; each change of status is logged once. On Success the
    final status response (verbose, with ``clusterMeta``) is returned and lands in XCom. On Failure the task
    fails with the cluster name, job type and termination policy.

    In deferrable mode the sensor checks once, then hands the waiting to the triggerer and frees its worker
    slot; ``timeout`` (and ``execution_timeout``, whichever ends first) still holds there, across triggerer
    restarts. ``soft_fail`` and ``never_fail`` mean the same in every mode: a job Failure is skipped with
    either, a timeout only with ``soft_fail``, any other error only with ``never_fail``.

    :param cluster_id: the Hadoop Eco cluster's id. (templated)
    :param request_id: the ``requestId`` of the create call, e.g. ``create_task.output["requestId"]`` or
        pulled from the create task's XCom ``request_id``. (templated)
    :param hadoop_eco_conn_id: the Airflow connection to use.
    :param deferrable: wait in the triggerer instead of a worker slot. Defaults to the
        ``[operators] default_deferrable`` setting.
    :param poke_interval: seconds between status checks (in every mode).
    :param timeout: seconds to wait in total before failing with a sensor timeout.
    :param max_consecutive_errors: failed status checks in a row, each already retried by the hook, before
        the wait ends with an error (transient errors only: 5xx, 429, timeouts, dropped connections).
    :param hook_params: the hook's ``timeout``, ``connect_timeout``, ``retry_limit``, ``retry_delay`` and
        ``retry_max_delay``.
    """

    template_fields: Sequence[str] = ("cluster_id", "request_id")
    ui_color = "#ffd900"

    def __init__(
        self,
        *,
        cluster_id: str,
        request_id: str,
        hadoop_eco_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float = DEFAULT_POLL_INTERVAL,
        max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.cluster_id = cluster_id
        self.request_id = request_id
        self.hadoop_eco_conn_id = hadoop_eco_conn_id
        self.deferrable = deferrable
        self.max_consecutive_errors = max_consecutive_errors
        self.hook_params = validate_hook_params(hook_params)
        # Literal ids fail at DAG parse time; templates and XComArgs are checked once rendered.
        for name in ("cluster_id", "request_id"):
            if is_literal(getattr(self, name)):
                validate_identifier(name, getattr(self, name))
        self._wait: RequestWait | None = None
        self._final_status: dict[str, Any] | None = None

    @cached_property
    def hook(self) -> HadoopEcoHook:
        """The hook on the sensor's connection, built once per task instance (not per poke)."""
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        return HadoopEcoHook(self.hadoop_eco_conn_id, **self.hook_params)

    def _new_wait(self, end_time: float | None = None, deadline: str = "timeout") -> RequestWait:
        return RequestWait(
            cluster_id=validate_identifier("cluster_id", self.cluster_id),
            request_id=validate_identifier("request_id", self.request_id),
            poll_interval=float(self.poke_interval),
            end_time=end_time,
            max_consecutive_errors=self.max_consecutive_errors,
            deadline=deadline,
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Check the request once: done with the final response on Success, raise on Failure."""
        if self._wait is None:
            # Airflow's own loop enforces timeout in poke and reschedule mode; in reschedule mode each
            # poke is a new process, so the error budget starts afresh there.
            self._wait = self._new_wait()
        event = check_once(self.hook, self._wait, self.log)
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._finish(event))

    def execute(self, context: Context) -> Any:
        """Poke, reschedule, or check once and then defer to :class:`HadoopEcoRequestTrigger`."""
        if not self.deferrable:
            return super().execute(context)
        started = time.time()
        end_time, deadline = deadline_for(
            started + float(self.timeout) if self.timeout is not None else None,
            started + self.execution_timeout.total_seconds() if self.execution_timeout else None,
        )
        self._wait = self._new_wait(end_time, deadline)
        # The same check as a poke: a transient error here just hands the waiting to the trigger.
        event = check_once(self.hook, self._wait, self.log)
        if event is not None:
            return self._finish(event)
        from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

        self._log_deferral(end_time)
        self.defer(
            trigger=HadoopEcoRequestTrigger(
                cluster_id=self._wait.cluster_id,
                request_id=self._wait.request_id,
                hadoop_eco_conn_id=self.hadoop_eco_conn_id,
                poll_interval=self.poke_interval,
                end_time=end_time,
                max_consecutive_errors=self.max_consecutive_errors,
                started_at=started,
                hook_params=self.hook_params,
                deadline=deadline,
                last_status=self._wait.last_label,
            ),
            method_name="execute_complete",
            timeout=self._framework_timeout(end_time, deadline),
        )

    def _framework_timeout(self, end_time: float | None, deadline: str) -> timedelta | None:
        """Airflow's own deferral timeout, a backstop should no triggerer run the trigger to its end.

        The sensor's ``timeout`` as such (Airflow turns it into a sensor timeout); when ``execution_timeout``
        ends the wait first, a minute after it, so the trigger's event, which says which limit it was,
        normally comes first.
        """
        if end_time is None:
            return None
        if deadline == "timeout":
            return timedelta(seconds=float(self.timeout))
        return timedelta(seconds=max(end_time - time.time(), 0) + 60)

    def _log_deferral(self, end_time: float | None) -> None:
        until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(end_time)) if end_time else "no deadline"
        self.log.info(
            "Deferring to the triggerer: checking request %s every %s s until %s",
            self.request_id,
            self.poke_interval,
            until,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: return the final response on success, raise otherwise."""
        return self._finish(validate_event(event))

    def _finish(self, event: dict[str, Any]) -> dict[str, Any] | None:
        error = event_error(event)
        if error is not None:
            if event["status"] == "failure":
                self.log.error("%s", event["message"])
            self._raise(error)
        self.log.info("%s", event["message"])
        self._final_status = event.get("response")
        return self._final_status

    def _raise(self, error: BaseException) -> NoReturn:
        """Raise what ``error`` means for this sensor: one rule for poke, reschedule and deferrable."""
        from airflow.providers.common.compat.sdk import (
            AirflowSensorTimeout,
            AirflowSkipException,
            AirflowTaskTimeout,
        )

        timed_out = isinstance(error, (HadoopEcoTimeoutError, AirflowSensorTimeout, AirflowTaskTimeout))
        job_failed = isinstance(error, HadoopEcoJobFailedError)
        if self.soft_fail and (job_failed or timed_out):
            raise AirflowSkipException(f"Skipped because soft_fail is set: {error}") from error
        if self.never_fail and not timed_out:
            raise AirflowSkipException(f"Skipped because never_fail is set: {error}") from error
        if isinstance(error, HadoopEcoTimeoutError):
            raise AirflowSensorTimeout(str(error)) from error
        raise error

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage job facets: job type, Hive query, cluster and result, as the status API says."""
        from airflow_provider_hadoop_eco.openlineage import build_lineage

        return build_lineage(self.cluster_id, self.request_id, status=self._final_status)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after the trigger with this sensor's own outcome rule (see :meth:`_raise`).

        Airflow's ``BaseSensorOperator`` would skip any error under ``soft_fail`` here, unlike in poke mode;
        so the framework's resume is called directly, and its deferral timeout (Airflow 3
        ``TaskDeferralTimeout``, Airflow 2 ``TaskDeferralError`` saying "timeout") becomes a sensor timeout.
        """
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

        try:
            return super(BaseSensorOperator, self).resume_execution(next_method, next_kwargs, context)
        except AirflowSkipException:
            raise
        except Exception as err:
            name = type(err).__name__
            if name == "TaskDeferralTimeout" or (
                name == "TaskDeferralError" and "timeout" in str(err).lower()
            ):
                self._raise(
                    AirflowSensorTimeout(f"Sensor timed out waiting for request {self.request_id}: {err}")
                )
            if isinstance(err, AirflowSensorTimeout):
                self._raise(err)
            raise
