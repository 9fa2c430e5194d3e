"""Sensor that waits for a Hadoop Eco create request to end: in poke, reschedule or deferrable mode."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_hadoop_eco.exceptions import HadoopEcoError
from airflow_provider_hadoop_eco.waiting import TransientErrorBudget, check_request_once, raise_for_event

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook


class HadoopEcoRequestSensor(BaseSensorOperator):
    """Wait until a Hadoop Eco create request reaches requestResult Success (or fail on Failure).

    Any other status means the job is still running; each change of status is logged once. On Success the
    final status response (verbose, with ``clusterMeta``) is returned and lands in XCom. On Failure the task
    fails with the cluster name, job type and termination policy.

    In deferrable mode the sensor checks once, then hands the waiting to the triggerer and frees its worker
    slot; ``timeout`` still holds there, across triggerer restarts, and ends as a sensor timeout.

    :param cluster_id: the Hadoop Eco cluster's id. (templated)
    :param request_id: the ``requestId`` of the create call, e.g. pulled from the create task's XCom.
        (templated)
    :param hadoop_eco_conn_id: the Airflow connection to use.
    :param deferrable: wait in the triggerer instead of a worker slot. Defaults to the
        ``[operators] default_deferrable`` setting.
    :param poke_interval: seconds between status checks (in every mode).
    :param timeout: seconds to wait in total before failing with a sensor timeout.
    :param max_consecutive_errors: failed status checks in a row, each already retried by the hook, before
        the wait ends with an error (transient errors only: 5xx, 429, timeouts, dropped connections).
    """

    template_fields: Sequence[str] = ("cluster_id", "request_id")
    ui_color = "#ffd900"

    def __init__(
        self,
        *,
        cluster_id: str,
        request_id: str,
        hadoop_eco_conn_id: str = "hadoop_eco_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float = 30.0,
        max_consecutive_errors: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.cluster_id = cluster_id
        self.request_id = request_id
        self.hadoop_eco_conn_id = hadoop_eco_conn_id
        self.deferrable = deferrable
        self.max_consecutive_errors = max_consecutive_errors
        self._last_label: str | None = None
        self._started_at: float | None = None
        self._errors = TransientErrorBudget(max_consecutive_errors)
        self._final_status: dict[str, Any] | None = None

    @property
    def hook(self) -> HadoopEcoHook:
        """A hook on the sensor's connection."""
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        return HadoopEcoHook(self.hadoop_eco_conn_id)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Check the request once: done with the final response on Success, raise on Failure."""
        if self._started_at is None:
            self._started_at = time.time()
        try:
            done, response, self._last_label = check_request_once(
                self.hook, self.cluster_id, self.request_id, self._last_label, self.log, self._started_at
            )
        except HadoopEcoError as err:
            self._errors.absorb(err, self.log, f"request {self.request_id}")
            return False
        self._errors.reset()
        if done:
            self._final_status = response
            return PokeReturnValue(is_done=True, xcom_value=response)
        return False

    def execute(self, context: Context) -> Any:
        """Poke, reschedule, or check once and then defer to :class:`HadoopEcoRequestTrigger`."""
        if not self.deferrable:
            return super().execute(context)
        started = self._started_at = time.time()
        # The same check as a poke: a transient error here just hands the waiting to the trigger.
        if self.poke(context):
            return self._final_status
        from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

        timeout = float(self.timeout) if self.timeout is not None else None
        self.defer(
            trigger=HadoopEcoRequestTrigger(
                cluster_id=self.cluster_id,
                request_id=self.request_id,
                hadoop_eco_conn_id=self.hadoop_eco_conn_id,
                poll_interval=self.poke_interval,
                end_time=started + timeout if timeout is not None else None,
                max_consecutive_errors=self.max_consecutive_errors,
                started_at=started,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout) if timeout is not None else None,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: return the final response on success, raise otherwise."""
        self._final_status = raise_for_event(event, self.log, timeout_is_sensor_timeout=True)["response"]
        return self._final_status

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage job facets: job type, Hive query, cluster and result, as the status API says."""
        from airflow_provider_hadoop_eco.openlineage import build_lineage

        return build_lineage(self.cluster_id, self.request_id, status=self._final_status)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Turn Airflow's own deferral timeout into a sensor timeout on every Airflow version.

        Airflow 3 raises ``TaskDeferralTimeout``; Airflow 2 raises ``TaskDeferralError`` saying
        "Trigger/execution timeout". Normally the trigger's own deadline fires first; this is the backstop.
        """
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout

        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSensorTimeout:
            raise
        except Exception as err:
            name = type(err).__name__
            if name == "TaskDeferralTimeout" or (
                name == "TaskDeferralError" and "timeout" in str(err).lower()
            ):
                raise AirflowSensorTimeout(
                    f"Sensor timed out waiting for request {self.request_id}: {err}"
                ) from err
            raise
