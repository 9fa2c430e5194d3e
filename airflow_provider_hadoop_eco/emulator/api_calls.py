"""The API's two calls worked out on the emulator state: authenticate, start a run, report a run's status.

:meth:`EmulatorState.handle_post` and :meth:`EmulatorState.handle_get` call these with the state's lock held.
"""

from __future__ import annotations

import copy
import hmac
import json
import uuid
from typing import TYPE_CHECKING, Any

from airflow_provider_hadoop_eco.emulator.cluster_meta import cluster_meta
from airflow_provider_hadoop_eco.emulator.contract import INSTANCE_SPECS, error_body
from airflow_provider_hadoop_eco.emulator.model import ClusterRuntime, Job
from airflow_provider_hadoop_eco.emulator.validation import settings_of_create_body, validate_create_body

if TYPE_CHECKING:
    from airflow_provider_hadoop_eco.emulator.state import EmulatorState

Answer = tuple[int, dict[str, Any]]


def _same(given: str | None, expected: str) -> bool:
    # Constant time: the emulator is not attacked, but the check should look like one that could be.
    return hmac.compare_digest(str(given).encode(), expected.encode())


def authenticate(
    state: EmulatorState, cluster_id: str, credential_id: str | None, secret: str | None, api_key: str | None
) -> Answer | ClusterRuntime:
    """The cluster's runtime, or the error answer (401 missing/wrong credentials, 404, 403 wrong API key)."""
    missing = [
        name
        for name, value in (
            ("Credential-ID", credential_id),
            ("Credential-Secret", secret),
            ("Hadoop-Eco-Api-Key", api_key),
        )
        if not value
    ]
    if missing:
        return 401, error_body(401, f"missing authentication header(s): {', '.join(missing)}")
    runtime = state.clusters.get(cluster_id)
    if runtime is None:
        return 404, error_body(404, f"cluster not found: {cluster_id}")
    config = runtime.config
    ok_id = _same(credential_id, config.credential_id)
    ok_secret = _same(secret, config.credential_secret)
    if not (ok_id and ok_secret):
        return 401, error_body(401, "authentication failed: invalid Credential-ID or Credential-Secret")
    if not _same(api_key, config.api_key):
        return 403, error_body(403, f"Hadoop-Eco-Api-Key is not valid for cluster {cluster_id}")
    return runtime


def start_run(state: EmulatorState, runtime: ClusterRuntime, raw_body: bytes) -> Answer:
    """The create call once authenticated: 400 for a bad body, 202 while a run is in progress, else 200.

    Both dialects take the same body, ``instanceSpecs`` included (the docs show it for kr-central-2 only).
    """
    cluster_id = runtime.config.cluster_id
    if raw_body.strip():
        try:
            body = json.loads(raw_body)
        except (ValueError, UnicodeDecodeError) as exc:
            return 400, error_body(400, f"invalid JSON body: {exc}")
    else:
        body = {}
    problem = validate_create_body(body)
    if problem:
        return 400, error_body(400, problem)
    config = runtime.config
    now = state.clock.now()
    last = runtime.last_job
    if last is not None:
        status, result = last.status_at(now)
        if result is None:
            return 202, {
                "code": 202,
                "message": f"an operation (creation) is already in progress on cluster {cluster_id}",
                "clusterId": cluster_id,
                "clusterName": config.name,
                "requestId": last.request_id,
                "requestStatus": status,
            }
    # The submitted values become the cluster's settings; instanceSpecs only through its WORKER entry.
    config.settings.update(settings_of_create_body(body))
    outcomes = config.outcomes
    outcome = outcomes[min(runtime.outcome_index, len(outcomes) - 1)]
    runtime.outcome_index += 1
    job = Job(
        request_id="req-" + uuid.uuid4().hex,
        cluster_id=cluster_id,
        started_at=now,
        duration=config.duration,
        outcome=outcome,
        progress_statuses=tuple(config.progress_statuses),
        settings=dict(config.settings),
        seq=state.next_job_seq(),
        instance_specs=copy.deepcopy(body[INSTANCE_SPECS]) if INSTANCE_SPECS in body else None,
    )
    runtime.jobs[job.request_id] = job
    runtime.last_job = job
    s = job.settings
    values: dict[str, Any] = {
        "workerCnt": s["workerCnt"],
        "workerVolumeSize": s["workerVolumeSize"],
        "configHdfsReplication": s["configHdfsReplication"],
        "configHdfsBlockSize": s["configHdfsBlockSize"],
        "jobType": config.job_type,
        "userTaskDeployMode": s["userTaskDeployMode"],
        "userTaskExecOpts": s["userTaskExecOpts"],
        "userTaskExecParams": s["userTaskExecParams"],
    }
    if job.instance_specs is not None:
        values[INSTANCE_SPECS] = copy.deepcopy(job.instance_specs)
    return 200, {
        "clusterId": cluster_id,
        "clusterName": config.name,
        "requestId": job.request_id,
        "clusterMainSettingValues": values,
    }


def run_status(state: EmulatorState, runtime: ClusterRuntime, request_id: str, verbose: str | None) -> Answer:
    """The status call once authenticated: 400 for a bad ``verbose``, 404 for an unknown run, else 200."""
    if verbose is None or verbose.lower() in ("false", "null", ""):
        want_meta = False
    elif verbose.lower() == "true":
        want_meta = True
    else:
        return 400, error_body(400, f"verbose must be true or false, got {verbose!r}")
    config = runtime.config
    job = runtime.jobs.get(request_id)
    if job is None:
        return 404, error_body(404, f"request not found: {request_id} (cluster {config.cluster_id})")
    status, result = job.status_at(state.clock.now())
    body: dict[str, Any] = {
        "clusterId": config.cluster_id,
        "clusterName": config.name,
        "requestId": request_id,
        "requestStatus": status,
        "requestResult": result,
    }
    if want_meta:
        body["clusterMeta"] = cluster_meta(config, job, running=result is None)
    return 200, body
