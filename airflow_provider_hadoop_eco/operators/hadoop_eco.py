"""Operator that re-runs the Hive or Spark job of a Hadoop Eco job cluster."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.common.compat.sdk import BaseOperator, ResumableJobMixin, conf

from airflow_provider_hadoop_eco.cluster_settings import (
    INSTANCE_SPECS_NAME,
    SETTING_NAMES,
    build_create_body,
    is_literal,
    validate_identifier,
)
from airflow_provider_hadoop_eco.defaults import (
    CONSOLE_CLUSTER_URL,
    DEFAULT_CONN_ID,
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    DEFAULT_POLL_INTERVAL,
)
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoClusterBusyError,
    HadoopEcoConfigError,
    HadoopEcoNotFoundError,
    HadoopEcoTimeoutError,
)
from airflow_provider_hadoop_eco.links.hadoop_eco import HadoopEcoClusterLink
from airflow_provider_hadoop_eco.tuning import validate_hook_params

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
    from airflow_provider_hadoop_eco.submitted_job import SubmittedJob

# What runs only when a task runs (the stored job, the waiting core, events) is imported there: a DAG file
# pays only for what parsing needs (benchmarks/RESULTS.md, import cost).

_BUSY_POLICIES = ("fail", "wait")
_TEMPLATED_SETTINGS = (*SETTING_NAMES, INSTANCE_SPECS_NAME)
# What get_job_status reports to Airflow's ResumableJobMixin. Prefixed so that no requestStatus the API
# may send ("Success" while still running, say) can be mistaken for an outcome.
_ACTIVE = "hadoop-eco:active:"
_SUCCEEDED = "hadoop-eco:succeeded"
_FAILED = "hadoop-eco:failed"
_NOT_FOUND = "hadoop-eco:not-found"
_EARLIER_ATTEMPT = "hadoop-eco:earlier-attempt"


class HadoopEcoCreateClusterOperator(ResumableJobMixin, BaseOperator):  # type: ignore[misc]
    """Bring a terminated Hadoop Eco job cluster up again to run its Hive or Spark job once.

    The task pushes the ``requestId`` to XCom (key ``request_id``) as soon as the API accepts the job, and
    returns the API's answer (``clusterId``, ``clusterName``, ``requestId``, ``clusterMainSettingValues``),
    so ``create_task.output["requestId"]`` feeds a sensor. Settings left as None keep the cluster's values.

    The create call is never repeated once it may have reached the API (the API has no idempotency key).
    On Airflow 3.3+, a retry whose earlier try already started a request waits for that request instead
    of starting another; a task cleared to run again is a new attempt and starts a new job with the
    current settings.

    :param cluster_id: the Hadoop Eco cluster's id. (templated)
    :param worker_count: number of worker nodes, 1 to 1000 (workerCnt). (templated)
    :param worker_volume_size: block storage per worker node in GB, 50 to 5120 (workerVolumeSize). (templated)
    :param hdfs_replication: HDFS replication factor, 1 to 500 (configHdfsReplication). (templated)
    :param hdfs_block_size: HDFS block size in MB, 1 to 1024 (configHdfsBlockSize). (templated)
    :param deploy_mode: Spark deploy mode, ``client`` or ``cluster`` (userTaskDeployMode). (templated)
    :param exec_opts: Hive or Spark job options (userTaskExecOpts). (templated)
    :param exec_params: job application parameters (userTaskExecParams). (templated)
    :param instance_specs: node specs, a list of ``{"type": "MASTER"|"WORKER"|"TASK", "nodeCnt": int,
        "volumeSize": int}`` (instanceSpecs, kr-central-2); not together with ``worker_count`` or
        ``worker_volume_size``. (templated)
    :param hadoop_eco_conn_id: the Airflow connection holding this cluster's credentials and Open API key.
    :param wait_for_completion: wait until the job ends: the task fails if it ends in Failure.
    :param deferrable: wait in the triggerer instead of a worker slot (with ``wait_for_completion``).
        Defaults to the ``[operators] default_deferrable`` setting.
    :param poll_interval: seconds between status checks while waiting, and between create attempts
        while the cluster is busy with ``on_busy="wait"``.
    :param wait_timeout: longest wait for the job (and for a busy cluster), as seconds or a timedelta,
        counted from the first try that started it. The job keeps running past it: the API has no cancel
        call.
    :param on_busy: what to do when the API answers 202 (a job of this cluster is already running):
        ``"fail"`` fails the task at once with a clear message and starts nothing; ``"wait"`` polls until
        the cluster is free, then starts the job.
    :param max_consecutive_errors: while waiting: failed status checks in a row, each already retried by
        the hook, before the wait ends with an error.
    :param hook_params: the hook's ``timeout``, ``connect_timeout``, ``retry_limit``, ``retry_delay`` and
        ``retry_max_delay``.
    """

    template_fields: Sequence[str] = ("cluster_id", *_TEMPLATED_SETTINGS)
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
        instance_specs: list[dict[str, Any]] | str | None = None,
        hadoop_eco_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        wait_timeout: float | timedelta = timedelta(days=7),
        on_busy: Literal["fail", "wait"] = "fail",
        max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Each key of the create answer is an XCom of its own too, so create_task.output["requestId"] works.
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.worker_count = worker_count
        self.worker_volume_size = worker_volume_size
        self.hdfs_replication = hdfs_replication
        self.hdfs_block_size = hdfs_block_size
        self.deploy_mode = deploy_mode
        self.exec_opts = exec_opts
        self.exec_params = exec_params
        self.instance_specs = instance_specs
        self.hadoop_eco_conn_id = hadoop_eco_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = float(poll_interval)
        self.wait_timeout = (
            wait_timeout.total_seconds() if isinstance(wait_timeout, timedelta) else float(wait_timeout)
        )
        self.on_busy = on_busy
        self.max_consecutive_errors = max_consecutive_errors
        self.hook_params = validate_hook_params(hook_params)
        if on_busy not in _BUSY_POLICIES:
            raise HadoopEcoConfigError(f"on_busy must be one of {_BUSY_POLICIES}, got {on_busy!r}")
        if self.poll_interval <= 0:
            raise HadoopEcoConfigError(f"poll_interval must be positive, got {poll_interval!r}")
        if self.wait_timeout <= 0:
            raise HadoopEcoConfigError(f"wait_timeout must be positive, got {wait_timeout!r}")
        # Literal values fail at DAG parse time; templates, XComArgs (TaskFlow values) and other values
        # Airflow resolves later are checked once rendered, before any call.
        build_create_body({k: v for k, v in self._settings().items() if is_literal(v)})
        if is_literal(cluster_id):
            validate_identifier("cluster_id", cluster_id)
        self._job: SubmittedJob | None = None
        self._final_status: dict[str, Any] | None = None

    def _settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _TEMPLATED_SETTINGS}

    @cached_property
    def hook(self) -> HadoopEcoHook:
        """The hook on the operator's connection, built once per task instance."""
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        return HadoopEcoHook(self.hadoop_eco_conn_id, **self.hook_params)

    def execute(self, context: Context) -> Any:
        """Validate the settings, start the job (or re-attach to an earlier try's), and optionally wait."""
        self.cluster_id = validate_identifier("cluster_id", self.cluster_id)
        self._body = build_create_body(self._settings())
        self._started_at = time.time()
        from airflow_provider_hadoop_eco.submitted_job import current_attempt

        self._attempt = current_attempt(context, self.retries)
        return self.execute_resumable(context)

    # --- ResumableJobMixin ------------------------------------------------------------------------

    def submit_job(self, context: Context) -> dict[str, Any]:
        """Start the job once; on a busy cluster, fail or wait as ``on_busy`` says."""
        deadline = self._started_at + self.wait_timeout
        while True:
            try:
                answer = self.hook.create_cluster(self.cluster_id, **self._body)
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
        from airflow_provider_hadoop_eco.submitted_job import SubmittedJob

        job = SubmittedJob(
            cluster_id=str(answer.get("clusterId") or self.cluster_id),
            request_id=str(answer["requestId"]),
            submitted_at=self._started_at,
            attempt=self._attempt,
            answer=answer,
            settings=self._body,
        )
        self.log.info(
            "Started Hadoop Eco job on cluster %s (%s): request %s; console: %s",
            answer.get("clusterName"),
            job.cluster_id,
            job.request_id,
            CONSOLE_CLUSTER_URL.format(cluster_id=job.cluster_id),
        )
        self.log.info(
            "Settings sent: %s", json.dumps(job.settings) if job.settings else "none (the cluster's own)"
        )
        return job.to_json()

    def _stored_job(self, external_id: Any) -> SubmittedJob:
        from airflow_provider_hadoop_eco.submitted_job import SubmittedJob

        job = SubmittedJob.from_json(external_id)
        return job if job.cluster_id else dataclasses.replace(job, cluster_id=self.cluster_id)

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """Where an earlier try's request stands: running, succeeded, failed, unknown, or not ours."""
        job = self._stored_job(external_id)
        if None not in (job.attempt, self._attempt) and job.attempt != self._attempt:
            self.log.info(
                "Request %s was started by an earlier attempt of this task (try %s); this task was cleared "
                "to run again, so it starts a new job with the current settings",
                job.request_id,
                job.attempt,
            )
            return _EARLIER_ATTEMPT
        try:
            status = self.hook.get_request_status(job.cluster_id, job.request_id)
        except HadoopEcoNotFoundError:
            return _NOT_FOUND
        if status.is_success:
            return _SUCCEEDED
        if status.is_failure:
            return _FAILED
        return _ACTIVE + status.label()

    def is_job_active(self, status: str) -> bool:
        """Whether an earlier try's request is still running (so this try waits for it)."""
        return status.startswith(_ACTIVE)

    def is_job_succeeded(self, status: str) -> bool:
        """Whether an earlier try's request already succeeded (so this try returns its answer)."""
        return status == _SUCCEEDED

    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        """Wait for the request if ``wait_for_completion``: in the worker, or deferred to the triggerer.

        Returns the task's result, because the mixin returns this method's value when it re-attaches.
        """
        job = self._adopt(context, external_id)
        if not self.wait_for_completion:
            return job.answer
        from airflow_provider_hadoop_eco.waiting import (
            RequestWait,
            check_once,
            deadline_for,
            raise_for_event,
            wait_in_worker,
        )

        # A re-attached retry keeps counting from the first try's submission.
        started = min(self._started_at, job.submitted_at)
        wait = RequestWait(
            cluster_id=job.cluster_id,
            request_id=job.request_id,
            poll_interval=self.poll_interval,
            end_time=started + self.wait_timeout,
            started_at=started,
            max_consecutive_errors=self.max_consecutive_errors,
        )
        if not self.deferrable:
            self._final_status = wait_in_worker(self.hook, wait, self.log)["response"]
            return job.answer
        # Airflow does not apply execution_timeout while deferred: the trigger carries it.
        execution_end = (
            self._started_at + self.execution_timeout.total_seconds() if self.execution_timeout else None
        )
        wait.end_time, wait.deadline = deadline_for(wait.end_time, execution_end)
        # Check once before deferring: a job that already ended needs no trigger.
        event = check_once(self.hook, wait, self.log)
        if event is not None:
            self._final_status = raise_for_event(event, self.log)["response"]
            return job.answer
        from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

        assert wait.end_time is not None
        self.log.info(
            "Deferring to the triggerer: checking request %s every %s s until %s",
            job.request_id,
            self.poll_interval,
            time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(wait.end_time)),
        )
        self.defer(
            trigger=HadoopEcoRequestTrigger(
                cluster_id=job.cluster_id,
                request_id=job.request_id,
                hadoop_eco_conn_id=self.hadoop_eco_conn_id,
                poll_interval=self.poll_interval,
                end_time=wait.end_time,
                max_consecutive_errors=self.max_consecutive_errors,
                started_at=started,
                hook_params=self.hook_params,
                deadline=wait.deadline,
                last_status=wait.last_label,
            ),
            method_name="execute_complete",
            kwargs={"submitted": job.to_json()},
            # A backstop only: the trigger's own deadline fires first and gives a clearer message.
            timeout=timedelta(seconds=max(wait.end_time - time.time(), 0) + 60),
        )

    def get_job_result(self, external_id: Any, context: Context) -> Any:
        """The create call's answer is the task's return value (and XCom)."""
        return self._adopt(context, external_id).answer

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        submitted: dict[str, Any] | None = None,
        create_response: dict[str, Any] | None = None,
    ) -> Any:
        """Resume after the trigger: return the create answer on success, raise otherwise.

        ``create_response`` is what version 1.0.0 deferred with; it is still understood.
        """
        from airflow_provider_hadoop_eco.events import validate_event
        from airflow_provider_hadoop_eco.waiting import raise_for_event

        self._job = self._stored_job(submitted if submitted is not None else create_response)
        self._final_status = raise_for_event(validate_event(event), self.log)["response"]
        return self._job.answer

    def _adopt(self, context: Context, external_id: Any) -> SubmittedJob:
        """Make a stored job this try's own: push its request id and console link once, before waiting."""
        job = self._stored_job(external_id)
        if self._job is None or self._job.request_id != job.request_id:
            context["ti"].xcom_push(key="request_id", value=job.request_id)
            try:
                HadoopEcoClusterLink.persist(context, job.cluster_id)
            except Exception as err:  # the link is a convenience; the job it points to is already running
                self.log.warning("Could not store the console link of cluster %s: %s", job.cluster_id, err)
        self._job = job
        return job

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage job facets: job type, Hive query, cluster and result, as the status API says."""
        from airflow_provider_hadoop_eco.openlineage import build_lineage

        job = self._job
        return build_lineage(
            job.cluster_id if job else str(self.cluster_id),
            job.request_id if job else None,
            status=self._final_status,
            created=job.answer if job else None,
        )
