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
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoConfigError,
    HadoopEcoJobFailedError,
    HadoopEcoTimeoutError,
)
from airflow_provider_hadoop_eco.tuning import validate_hook_params

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
    from airflow_provider_hadoop_eco.waiting import RequestWait


def _starts_from_trigger_here(sensor: BaseSensorOperator) -> bool:
    """Whether this Airflow's triggerer renders a task's templated fields (3.3+); warn once if not."""
    from airflow import __version__

    if tuple(int(p) for p in __version__.split(".")[:2]) >= (3, 3):
        return True
    sensor.log.warning(
        "start_from_trigger needs Airflow 3.3 or later (the first triggerer that renders templates); on "
        "Airflow %s task %s starts on a worker and defers from there",
        __version__,
        sensor.task_id,
    )
    return False


def _as_template(name: str, value: Any) -> str:
    """A trigger kwarg the triggerer can render: a string as it is, ``task.output[key]`` as its XCom pull."""
    if isinstance(value, str):
        return value
    operator, key = getattr(value, "operator", None), getattr(value, "key", None)
    if type(value).__name__ == "PlainXComArg" and operator is not None and isinstance(key, str):
        # map_indexes given: Airflow 3.3's triggerer serves single XCom reads only, not the all-indexes read
        # an xcom_pull without it makes (the render would fail and the task hang until its timeout).
        return f"{{{{ ti.xcom_pull(task_ids={operator.task_id!r}, key={key!r}, map_indexes=-1) }}}}"
    raise HadoopEcoConfigError(
        f"start_from_trigger needs {name} as a string, a template or task.output[...], "
        f"got {type(value).__name__}"
    )


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
    :param start_from_trigger: begin in the triggerer, never on a worker: the scheduler hands the task
        straight to :class:`HadoopEcoRequestTrigger`, which renders ``cluster_id`` and ``request_id`` there
        and, on success, ends the task itself. Needs Airflow 3.3+ (the first triggerer that renders
        templates); below it, and for mapped tasks (not supported by Airflow's scheduler), the sensor starts
        on a worker and defers as usual, with one warning at DAG parse time on old versions. ``timeout``
        and ``execution_timeout`` are enforced by Airflow's trigger timeout, as a sensor timeout.
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
        start_from_trigger: bool = False,
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
        self.start_from_trigger = bool(start_from_trigger) and _starts_from_trigger_here(self)
        if self.start_from_trigger:
            self.start_trigger_args = self._start_trigger_args()
        elif start_from_trigger:
            self.deferrable = True  # the promised fallback: a classic deferral from a worker

    def _start_trigger_args(self) -> Any:
        """What the scheduler defers to: the trigger, with templates left for the triggerer to render."""
        from airflow.triggers.base import StartTriggerArgs

        from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

        kwargs = HadoopEcoRequestTrigger(
            cluster_id=_as_template("cluster_id", self.cluster_id),
            request_id=_as_template("request_id", self.request_id),
            hadoop_eco_conn_id=self.hadoop_eco_conn_id,
            poll_interval=self.poke_interval,
            max_consecutive_errors=self.max_consecutive_errors,
            hook_params=self.hook_params,
            end_from_trigger=True,
        ).serialize()[1]
        # The deadline is Airflow's trigger timeout, set when the scheduler defers and kept in the database,
        # so a triggerer restart does not extend it; the scheduler folds execution_timeout into it.
        del kwargs["started_at"]
        return StartTriggerArgs(
            trigger_cls=f"{HadoopEcoRequestTrigger.__module__}.{HadoopEcoRequestTrigger.__qualname__}",
            trigger_kwargs=kwargs,
            next_method="execute_complete",
            next_kwargs=None,
            timeout=timedelta(seconds=float(self.timeout)) if self.timeout is not None else None,
        )

    @cached_property
    def hook(self) -> HadoopEcoHook:
        """The hook on the sensor's connection, built once per task instance (not per poke)."""
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        return HadoopEcoHook(self.hadoop_eco_conn_id, **self.hook_params)

    def _new_wait(self, end_time: float | None = None, deadline: str = "timeout") -> RequestWait:
        # The waiting core and the event rules are imported when a task runs, not when a DAG file is parsed.
        from airflow_provider_hadoop_eco.waiting import RequestWait

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
            # Airflow's own loop enforces timeout in poke and reschedule mode; the wait's end only bounds
            # the hook's retries (a Retry-After must not outlast the sensor), counted as Airflow counts it:
            # from the first poke, which in reschedule mode was an earlier process. There each poke starts
            # the error budget afresh.
            end = self._first_poke(context) + float(self.timeout) if self.timeout is not None else None
            self._wait = self._new_wait(end)
        from airflow_provider_hadoop_eco.waiting import check_once

        event = check_once(self.hook, self._wait, self.log)
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._finish(event))

    def _first_poke(self, context: Context) -> float:
        """When this wait began: now, or in reschedule mode the first reschedule's start (Airflow's rule)."""
        if self.reschedule:
            ti = context.get("ti")
            try:
                first = ti.get_first_reschedule_date(context) if ti is not None else None
            except Exception:  # a context without the TI's history (tests, old versions)
                first = None
            if first is not None:
                return float(first.timestamp())
        return time.time()

    def execute(self, context: Context) -> Any:
        """Poke, reschedule, or check once and then defer to :class:`HadoopEcoRequestTrigger`."""
        if not (self.deferrable or self.start_from_trigger):
            return super().execute(context)
        from airflow_provider_hadoop_eco.waiting import check_once, deadline_for

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
            # A backstop should no triggerer run the trigger to its end; the trigger's own event, which says
            # which limit ended the wait, comes first.
            timeout=timedelta(seconds=max(end_time - time.time(), 0) + 60) if end_time is not None else None,
        )

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
        from airflow_provider_hadoop_eco.events import validate_event

        return self._finish(validate_event(event))

    def _finish(self, event: dict[str, Any]) -> dict[str, Any] | None:
        from airflow_provider_hadoop_eco.events import event_error

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
