"""Operator that re-runs the Hive or Spark job of a Hadoop Eco job cluster."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.common.compat.sdk import BaseOperator, ResumableJobMixin, conf

from airflow_provider_hadoop_eco.cluster_settings import SETTINGS, build_create_body, validate_identifier
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoClusterBusyError,
    HadoopEcoConfigError,
    HadoopEcoNotFoundError,
    HadoopEcoTimeoutError,
)
from airflow_provider_hadoop_eco.links.hadoop_eco import HadoopEcoClusterLink
from airflow_provider_hadoop_eco.request_status import RequestResult, parse_request_state
from airflow_provider_hadoop_eco.waiting import check_request_once, raise_for_event, wait_in_worker

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

_SETTING_NAMES = tuple(s.name for s in SETTINGS)
_BUSY_POLICIES = ("fail", "wait")
_NOT_FOUND = "NotFound"
_SUBMITTED_AT = "_airflow_submitted_at"


def _answer(stored: dict[str, Any]) -> dict[str, Any]:
    """The API's create answer, without what the operator stored beside it."""
    return {k: v for k, v in stored.items() if k != _SUBMITTED_AT}


class HadoopEcoCreateClusterOperator(ResumableJobMixin, BaseOperator):  # type: ignore[misc]
    """Bring a terminated Hadoop Eco job cluster up again to run its Hive or Spark job once.

    The task pushes the ``requestId`` to XCom (key ``request_id``) as soon as the API accepts the job, and
    returns the API's answer (``clusterId``, ``clusterName``, ``requestId``, ``clusterMainSettingValues``).
    Settings left as None keep the cluster's existing values.

    The create call is never repeated once it may have reached the API (the API has no idempotency key).
    On Airflow 3.3+, a retried task whose earlier try already started a request waits for that request
    instead of starting another.

    :param cluster_id: the Hadoop Eco cluster's id. (templated)
    :param worker_count: number of worker nodes, 1 to 1000 (workerCnt). (templated)
    :param worker_volume_size: block storage per worker node in GB, 50 to 5120 (workerVolumeSize). (templated)
    :param hdfs_replication: HDFS replication factor, 1 to 500 (configHdfsReplication). (templated)
    :param hdfs_block_size: HDFS block size in MB, 1 to 1024 (configHdfsBlockSize). (templated)
    :param deploy_mode: Spark deploy mode, ``client`` or ``cluster`` (userTaskDeployMode). (templated)
    :param exec_opts: Hive or Spark job options (userTaskExecOpts). (templated)
    :param exec_params: job application parameters (userTaskExecParams). (templated)
    :param hadoop_eco_conn_id: the Airflow connection holding this cluster's credentials and Open API key.
    :param wait_for_completion: wait until the job ends: the task fails if it ends in Failure.
    :param deferrable: wait in the triggerer instead of a worker slot (with ``wait_for_completion``).
        Defaults to the ``[operators] default_deferrable`` setting.
    :param poll_interval: seconds between status checks while waiting, and between create attempts
        while the cluster is busy with ``on_busy="wait"``.
    :param wait_timeout: longest wait for the job (and for a busy cluster), as seconds or a timedelta.
        The job itself keeps running past it: the API has no cancel call.
    :param on_busy: what to do when the API answers 202 (a job of this cluster is already running):
        ``"fail"`` fails the task at once with a clear message and starts nothing; ``"wait"`` polls until
        the cluster is free, then starts the job.
    :param max_consecutive_errors: while waiting: failed status checks in a row, each already retried by
        the hook, before the wait ends with an error.
    """

    template_fields: Sequence[str] = ("cluster_id", *_SETTING_NAMES)
    operator_extra_links = (HadoopEcoClusterLink(),)
    ui_color = "#ffd900"
    external_id_key = "hadoop_eco_create_response"

    def __init__(
        self,
        *,
        cluster_id: str,
        worker_count: int | str | None = None,
        worker_volume_size: int | str | None = None,
        hdfs_replication: int | str | None = None,
        hdfs_block_size: int | str | None = None,
        deploy_mode: Literal["client", "cluster"] | str | None = None,
        exec_opts: str | None = None,
        exec_params: str | None = None,
        hadoop_eco_conn_id: str = "hadoop_eco_default",
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        wait_timeout: float | timedelta = timedelta(days=7),
        on_busy: Literal["fail", "wait"] = "fail",
        max_consecutive_errors: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.worker_count = worker_count
        self.worker_volume_size = worker_volume_size
        self.hdfs_replication = hdfs_replication
        self.hdfs_block_size = hdfs_block_size
        self.deploy_mode = deploy_mode
        self.exec_opts = exec_opts
        self.exec_params = exec_params
        self.hadoop_eco_conn_id = hadoop_eco_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = float(poll_interval)
        self.wait_timeout = (
            wait_timeout.total_seconds() if isinstance(wait_timeout, timedelta) else float(wait_timeout)
        )
        self.on_busy = on_busy
        self.max_consecutive_errors = max_consecutive_errors
        # Kept for OpenLineage: the create answer and the final (verbose) status of this try.
        self._created: dict[str, Any] | None = None
        self._final_status: dict[str, Any] | None = None
        if on_busy not in _BUSY_POLICIES:
            raise HadoopEcoConfigError(f"on_busy must be one of {_BUSY_POLICIES}, got {on_busy!r}")
        if self.poll_interval <= 0:
            raise HadoopEcoConfigError(f"poll_interval must be positive, got {poll_interval!r}")
        if self.wait_timeout <= 0:
            raise HadoopEcoConfigError(f"wait_timeout must be positive, got {wait_timeout!r}")
        # Fail at DAG parse time for literal values; templates are checked once rendered, before any call.
        build_create_body(
            {k: v for k, v in self._settings().items() if not (isinstance(v, str) and "{" in v)}
        )

    def _settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _SETTING_NAMES}

    @property
    def hook(self) -> HadoopEcoHook:
        """A hook on the operator's connection."""
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        return HadoopEcoHook(self.hadoop_eco_conn_id)

    def execute(self, context: Context) -> Any:
        """Validate the settings, start the job (or re-attach to an earlier try's), and optionally wait."""
        self.cluster_id = validate_identifier("cluster_id", self.cluster_id)
        build_create_body(self._settings())
        self._started_at = time.time()
        return self.execute_resumable(context)

    # --- ResumableJobMixin ------------------------------------------------------------------------

    def submit_job(self, context: Context) -> dict[str, Any]:
        """Start the job once; on a busy cluster, fail or wait as ``on_busy`` says."""
        hook = self.hook
        deadline = self._started_at + self.wait_timeout
        while True:
            try:
                response = hook.create_cluster(self.cluster_id, **self._settings())
                break
            except HadoopEcoClusterBusyError as err:
                if self.on_busy == "fail":
                    raise HadoopEcoClusterBusyError(
                        "A job of this cluster is already running (possibly started by an earlier try of "
                        "this task), so none was started. Wait for it to end, or set on_busy='wait' to "
                        "start the job once the cluster is free",
                        http_status=err.http_status,
                        cluster_id=err.cluster_id,
                        body=err.body,
                    ) from None
                if time.time() + self.poll_interval > deadline:
                    raise HadoopEcoTimeoutError(
                        f"Cluster {self.cluster_id!r} stayed busy for {self.wait_timeout:.0f} s; "
                        "no job was started"
                    ) from None
                self.log.info(
                    "Cluster %s is busy with another job; trying again in %.0f s",
                    self.cluster_id,
                    self.poll_interval,
                )
                time.sleep(self.poll_interval)
        self.log.info(
            "Started Hadoop Eco job on cluster %s (%s): request %s",
            response.get("clusterName"),
            self.cluster_id,
            response["requestId"],
        )
        # Persisted with the answer, so a re-attached retry keeps the original wait deadline.
        return {**response, _SUBMITTED_AT: self._started_at}

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """Status of an earlier try's request: its result when ended, else its status."""
        cluster_id, request_id = self._ids(external_id)
        try:
            response = self.hook.get_request_status(cluster_id, request_id)
        except HadoopEcoNotFoundError:
            return _NOT_FOUND
        state = parse_request_state(response, cluster_id=cluster_id, request_id=request_id)
        if state.is_success:
            return RequestResult.SUCCESS.value
        if state.is_failure:
            return RequestResult.FAILURE.value
        return state.request_status or "Running"

    def is_job_active(self, status: str) -> bool:
        """Whether an earlier try's request is still running (so this try waits for it)."""
        return status not in (RequestResult.SUCCESS.value, RequestResult.FAILURE.value, _NOT_FOUND)

    def is_job_succeeded(self, status: str) -> bool:
        """Whether an earlier try's request already succeeded (so this try returns its answer)."""
        return status == RequestResult.SUCCESS.value

    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        """Wait for the request if ``wait_for_completion``: in the worker, or deferred to the triggerer.

        Returns the task's result, because the mixin returns this method's value when it re-attaches.
        """
        self._publish(context, external_id)
        if isinstance(external_id.get(_SUBMITTED_AT), (int, float)):
            self._started_at = min(self._started_at, float(external_id[_SUBMITTED_AT]))
        external_id = _answer(external_id)
        if not self.wait_for_completion:
            return external_id
        cluster_id, request_id = self._ids(external_id)
        end_time = self._started_at + self.wait_timeout
        if not self.deferrable:
            self._final_status = wait_in_worker(
                self.hook,
                cluster_id,
                request_id,
                poll_interval=self.poll_interval,
                end_time=end_time,
                log=self.log,
                started_at=self._started_at,
                max_consecutive_errors=self.max_consecutive_errors,
            )
            return external_id
        # Check once before deferring: a job that already ended needs no trigger.
        done, final, _ = check_request_once(
            self.hook, cluster_id, request_id, None, self.log, self._started_at
        )
        if done:
            self._final_status = final
            return external_id
        from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

        self.defer(
            trigger=HadoopEcoRequestTrigger(
                cluster_id=cluster_id,
                request_id=request_id,
                hadoop_eco_conn_id=self.hadoop_eco_conn_id,
                poll_interval=self.poll_interval,
                end_time=end_time,
                max_consecutive_errors=self.max_consecutive_errors,
                started_at=self._started_at,
            ),
            method_name="execute_complete",
            kwargs={"create_response": external_id},
            # A backstop only: the trigger's own deadline fires first and gives a clearer message.
            timeout=timedelta(seconds=max(end_time - time.time(), 0) + 60),
        )

    def get_job_result(self, external_id: Any, context: Context) -> Any:
        """The create call's answer is the task's return value (and XCom)."""
        self._publish(context, external_id)
        self._created = _answer(external_id)
        return self._created

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage job facets: job type, Hive query, cluster and result, as the status API says."""
        from airflow_provider_hadoop_eco.openlineage import build_lineage

        created = self._created or {}
        return build_lineage(
            str(created.get("clusterId") or self.cluster_id),
            created.get("requestId"),
            status=self._final_status,
            created=created,
        )

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, create_response: Any = None
    ) -> Any:
        """Resume after the trigger: return the create answer on success, raise otherwise."""
        self._created = create_response
        self._final_status = raise_for_event(event, self.log, timeout_is_sensor_timeout=False)["response"]
        return create_response

    def _ids(self, external_id: Any) -> tuple[str, str]:
        if not isinstance(external_id, dict) or not isinstance(external_id.get("requestId"), str):
            raise HadoopEcoConfigError(f"Stored create answer has no requestId: {str(external_id)[:200]!r}")
        return str(external_id.get("clusterId") or self.cluster_id), external_id["requestId"]

    def _publish(self, context: Context, response: dict[str, Any]) -> None:
        """Push the request id and console link once per try, before any waiting."""
        cluster_id, request_id = self._ids(response)
        if getattr(self, "_published", None) == request_id:
            return
        context["ti"].xcom_push(key="request_id", value=request_id)
        HadoopEcoClusterLink.persist(context, cluster_id)
        self._published = request_id
