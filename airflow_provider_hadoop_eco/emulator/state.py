"""In-memory state of the Hadoop Eco API emulator: clusters, job runs, clock, faults and the request record.

This module has no aiohttp import: it is plain, thread-safe Python that the HTTP layer (:mod:`.app`) calls.
All methods that touch shared state take ``EmulatorState.lock`` (a :class:`threading.RLock`), because the
HTTP handlers run on the emulator's event-loop thread while tests call the Python API from their own thread.
"""

from __future__ import annotations

import copy
import hmac
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CLUSTER_ID = "58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf"
DEFAULT_CLUSTER_NAME = "hive-job-cluster"
DEFAULT_CREDENTIAL_ID = "emulator-access-key"
DEFAULT_CREDENTIAL_SECRET = "emulator-secret-key"
DEFAULT_API_KEY = "emulator-api-key"
DEFAULT_DURATION = 30.0
DEFAULT_PROGRESS_STATUSES = ("Pending", "Running")
DEFAULT_OUTCOMES = ("Success",)
DEFAULT_MAX_RECORDS = 100_000

API_PREFIX = "/hadoop-eco/v1/cluster"
REDACTED = "***redacted***"
#: Header names (lower-case) whose values never reach the request record.
SECRET_HEADERS = frozenset(
    {"credential-secret", "hadoop-eco-api-key", "authorization", "cookie", "proxy-authorization"}
)

TERMINAL_STATUS = "Terminate"
VALID_OUTCOMES = ("Success", "Failure")
JOB_TYPES = ("hive", "spark")
TERMINATION_POLICIES = ("always", "onSuccess", "never")

#: Integer request elements and their inclusive ranges (from the API reference).
INT_RANGES: dict[str, tuple[int, int]] = {
    "workerCnt": (1, 1000),
    "workerVolumeSize": (50, 5120),
    "configHdfsReplication": (1, 500),
    "configHdfsBlockSize": (1, 1024),
}
DEPLOY_MODES = ("client", "cluster")
STR_FIELDS = ("userTaskExecOpts", "userTaskExecParams")
SETTING_KEYS = (*INT_RANGES, "userTaskDeployMode", *STR_FIELDS)

DEFAULT_SETTINGS: dict[str, Any] = {
    "workerCnt": 1,
    "workerVolumeSize": 50,
    "configHdfsReplication": 1,
    "configHdfsBlockSize": 128,
    "userTaskDeployMode": None,
    "userTaskExecOpts": "",
    "userTaskExecParams": "",
}

class _Unset:
    """Type of ``_UNSET``."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        # One instance, so that ``is _UNSET`` survives the deep copies of faults and cluster configs.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __deepcopy__(self, memo: dict[int, Any]) -> _Unset:
        return self

    def __repr__(self) -> str:
        return "UNSET"


#: "Not given": JSON ``null`` is a meaningful value (``requestResult: null``), so ``None`` cannot say it.
_UNSET: Any = _Unset()


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def error_body(code: int, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON error body the emulator returns: ``{"code": <status>, "message": "..."}``."""
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    return body


def validate_settings(body: Any) -> str | None:
    """Validate a POST body. Return ``None`` when valid, else a message naming the offending field."""
    if not isinstance(body, dict):
        return f"request body must be a JSON object, got {type(body).__name__}"
    unknown = sorted(k for k in body if k not in SETTING_KEYS)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    for key, (low, high) in INT_RANGES.items():
        if key in body:
            value = body[key]
            if type(value) is not int:  # bool is a subclass of int: reject it explicitly
                return f"{key} must be an integer between {low} and {high}, got {_dumps(value)}"
            if not low <= value <= high:
                return f"{key} must be between {low} and {high}, got {value}"
    if "userTaskDeployMode" in body and body["userTaskDeployMode"] not in DEPLOY_MODES:
        return f"userTaskDeployMode must be 'client' or 'cluster', got {_dumps(body['userTaskDeployMode'])}"
    for key in STR_FIELDS:
        if key in body and not isinstance(body[key], str):
            return f"{key} must be a string, got {_dumps(body[key])}"
    return None


# --------------------------------------------------------------------------------------------------- clock
class Clock:
    """Emulated time in seconds since the emulator started.

    * scaled (default): ``real elapsed seconds * time_scale`` plus any explicit :meth:`advance`;
    * manual (``manual=True``): time stands still until :meth:`advance` is called.
    """

    def __init__(self, time_scale: float = 1.0, manual: bool = False) -> None:
        if not manual and not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
        self.time_scale = float(time_scale)
        self.manual = bool(manual)
        self._t0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        """Current emulated time in seconds."""
        if self.manual:
            return self._offset
        return (time.monotonic() - self._t0) * self.time_scale + self._offset

    def advance(self, seconds: float) -> float:
        """Move emulated time forward by ``seconds``; return the new time."""
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards ({seconds})")
        self._offset += seconds
        return self.now()

    def reset(self) -> None:
        """Back to time 0."""
        self._t0 = time.monotonic()
        self._offset = 0.0


# ------------------------------------------------------------------------------------------------ clusters
@dataclass
class ClusterConfig:
    """One emulated job cluster (a cluster that has an Open API key)."""

    cluster_id: str = DEFAULT_CLUSTER_ID
    name: str = DEFAULT_CLUSTER_NAME
    job_type: str = "hive"
    credential_id: str = DEFAULT_CREDENTIAL_ID
    credential_secret: str = DEFAULT_CREDENTIAL_SECRET
    api_key: str = DEFAULT_API_KEY
    duration: float = DEFAULT_DURATION
    outcomes: list[str] = field(default_factory=lambda: list(DEFAULT_OUTCOMES))
    progress_statuses: list[str] = field(default_factory=lambda: list(DEFAULT_PROGRESS_STATUSES))
    termination_policy: str = "always"
    hive_query: Any = _UNSET
    settings: dict[str, Any] = field(default_factory=dict)
    cluster_version: str = "hde-1.1.0"
    cluster_type: str = "hadoop_single"

    FIELDS = (
        "cluster_id", "name", "job_type", "credential_id", "credential_secret", "api_key", "duration",
        "outcomes", "progress_statuses", "termination_policy", "hive_query", "settings", "cluster_version",
        "cluster_type",
    )  # fmt: skip

    def __post_init__(self) -> None:
        self.job_type = str(self.job_type).lower()
        if self.job_type not in JOB_TYPES:
            raise ValueError(f"job_type must be 'hive' or 'spark', got {self.job_type!r}")
        if isinstance(self.outcomes, str):
            self.outcomes = [self.outcomes]
        self.outcomes = list(self.outcomes)
        if not self.outcomes:
            raise ValueError("outcomes must not be empty")
        for outcome in self.outcomes:
            if outcome not in VALID_OUTCOMES:
                raise ValueError(f"outcome must be 'Success' or 'Failure', got {outcome!r}")
        self.progress_statuses = [str(s) for s in self.progress_statuses] or list(DEFAULT_PROGRESS_STATUSES)
        self.duration = float(self.duration)
        if self.duration < 0:
            raise ValueError("duration must be >= 0")
        if self.termination_policy not in TERMINATION_POLICIES:
            raise ValueError(
                f"termination_policy must be one of {TERMINATION_POLICIES}, got {self.termination_policy!r}"
            )
        if self.hive_query is _UNSET:
            self.hive_query = "show databases;" if self.job_type == "hive" else None
        merged = dict(DEFAULT_SETTINGS)
        if self.job_type == "spark":
            merged["userTaskDeployMode"] = "cluster"
        settings = dict(self.settings or {})
        problem = validate_settings(
            {k: v for k, v in settings.items() if not (k == "userTaskDeployMode" and v is None)}
        )
        if problem:
            raise ValueError(f"cluster {self.cluster_id}: invalid settings: {problem}")
        merged.update(settings)
        self.settings = merged
        for name in ("cluster_id", "name", "credential_id", "credential_secret", "api_key"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClusterConfig:
        """Build from a scenario/admin dict. Setting names (``workerCnt`` ...) may be given at top level."""
        data = dict(data)
        settings = dict(data.pop("settings", None) or {})
        for key in SETTING_KEYS:
            if key in data:
                settings[key] = data.pop(key)
        if "id" in data and "cluster_id" not in data:
            data["cluster_id"] = data.pop("id")
        if "outcome" in data and "outcomes" not in data:
            data["outcomes"] = [data.pop("outcome")]
        unknown = sorted(set(data) - set(cls.FIELDS))
        if unknown:
            raise ValueError(f"unknown cluster field(s): {', '.join(unknown)}")
        if "cluster_id" not in data:
            data["cluster_id"] = str(uuid.uuid4())
        return cls(settings=settings, **data)

    def public_dict(self) -> dict[str, Any]:
        """Config without secrets (for ``/_emulator/state``)."""
        return {
            "cluster_id": self.cluster_id,
            "name": self.name,
            "job_type": self.job_type,
            "credential_id": self.credential_id,
            "credential_secret": REDACTED,
            "api_key": REDACTED,
            "duration": self.duration,
            "outcomes": list(self.outcomes),
            "progress_statuses": list(self.progress_statuses),
            "termination_policy": self.termination_policy,
            "hive_query": self.hive_query,
            "settings": dict(self.settings),
        }


@dataclass
class Job:
    """One accepted POST (one run of the cluster's job)."""

    request_id: str
    cluster_id: str
    started_at: float
    duration: float
    outcome: str
    progress_statuses: tuple[str, ...]
    settings: dict[str, Any]
    seq: int

    def status_at(self, now: float) -> tuple[str, str | None]:
        """``(requestStatus, requestResult)`` of this run at emulated time ``now``."""
        elapsed = now - self.started_at
        if elapsed >= self.duration:
            return TERMINAL_STATUS, self.outcome
        statuses = self.progress_statuses
        index = int(elapsed / self.duration * len(statuses)) if self.duration > 0 else len(statuses) - 1
        return statuses[min(max(index, 0), len(statuses) - 1)], None


@dataclass
class _ClusterRuntime:
    config: ClusterConfig
    jobs: dict[str, Job] = field(default_factory=dict)
    last_job: Job | None = None
    outcome_index: int = 0


# -------------------------------------------------------------------------------------------------- faults
FAULT_KINDS = ("status", "rate_limit", "slow", "drop", "malformed_json", "unknown_status", "redirect", "body")
_fault_ids = itertools.count(1)


@dataclass
class Fault:
    """A scripted misbehaviour applied to the next ``count`` matching API requests.

    ``cluster_id``/``method`` narrow which requests match (``None`` = any). ``count=None`` never runs out.
    """

    kind: str
    cluster_id: str | None = None
    method: str | None = None
    count: int | None = 1
    code: int | None = None
    html: bool = False
    retry_after: float = 1
    delay: float = 1.0
    process: bool = False
    location: str | None = None
    body: Any = None
    content_type: str | None = None
    request_status: Any = _UNSET
    request_result: Any = _UNSET
    id: int = field(default_factory=lambda: next(_fault_ids))
    hits: int = 0

    PARAMS = (
        "kind", "cluster_id", "method", "count", "code", "html", "retry_after", "delay", "process",
        "location", "body", "content_type", "request_status", "request_result",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.method is not None:
            self.method = str(self.method).upper()
            if self.method not in ("GET", "POST"):
                raise ValueError(f"fault method must be GET or POST, got {self.method!r}")
        if self.count is not None and (type(self.count) is not int or self.count < 1):
            raise ValueError(f"fault count must be a positive integer or null, got {self.count!r}")
        if self.kind == "status":
            self.code = 500 if self.code is None else int(self.code)
            if not 400 <= self.code <= 599:
                raise ValueError(f"status fault code must be 4xx/5xx, got {self.code}")
        elif self.kind == "redirect":
            self.code = 302 if self.code is None else int(self.code)
            if self.code not in (301, 302, 303, 307, 308):
                raise ValueError(f"redirect code must be 301/302/303/307/308, got {self.code}")
            if not self.location:
                raise ValueError("redirect fault needs a 'location'")
        elif self.kind == "body":
            if self.body is None:
                raise ValueError("body fault needs a 'body' (a raw string, or any JSON value)")
            self.code = 200 if self.code is None else int(self.code)
        elif (
            self.kind == "unknown_status" and self.request_status is _UNSET and self.request_result is _UNSET
        ):
            self.request_status = "WEIRD"
        if self.kind in ("slow",) and float(self.delay) < 0:
            raise ValueError("delay must be >= 0")
        self.delay = float(self.delay)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build from a scenario/admin dict (``type`` = ``kind``); unknown keys raise ``ValueError``."""
        data = dict(data)
        if "type" in data and "kind" not in data:
            data["kind"] = data.pop("type")
        if "status" in data and "code" not in data and isinstance(data.get("status"), int):
            data["code"] = data.pop("status")
        unknown = sorted(set(data) - set(cls.PARAMS))
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        if "kind" not in data:
            raise ValueError("a fault needs a 'kind'")
        return cls(**data)

    def matches(self, cluster_id: str | None, method: str) -> bool:
        """Whether this fault applies to a request for ``cluster_id`` with HTTP ``method``."""
        return (self.cluster_id is None or self.cluster_id == cluster_id) and (
            self.method is None or self.method == method
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (for the admin API)."""
        out = {name: getattr(self, name) for name in self.PARAMS}
        for name in ("request_status", "request_result"):
            if out[name] is _UNSET:
                del out[name]
        out["id"] = self.id
        out["hits"] = self.hits
        return out


# --------------------------------------------------------------------------------------------------- state
class EmulatorState:
    """Everything the emulator knows. Thread-safe; cheap per request."""

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        manual_clock: bool = False,
        record: bool = True,
        max_records: int = DEFAULT_MAX_RECORDS,
        clusters: Iterable[ClusterConfig | Mapping[str, Any]] | None = None,
        faults: Iterable[Fault | Mapping[str, Any]] | None = None,
    ) -> None:
        import threading

        self.lock = threading.RLock()
        self.clock = Clock(time_scale, manual_clock)
        self.record_enabled = bool(record)
        self.records: deque[dict[str, Any]] = deque(maxlen=max_records)
        self._record_seq = itertools.count(1)
        self._job_seq = itertools.count(1)
        self.clusters: dict[str, _ClusterRuntime] = {}
        self.faults: list[Fault] = []
        configs = [ClusterConfig()] if clusters is None else [self._as_config(c) for c in clusters]
        self._initial_clusters = [copy.deepcopy(c) for c in configs]
        for config in configs:
            self.add_cluster(config)
        self._initial_faults = [self._as_fault(f) for f in (faults or [])]
        for fault in self._initial_faults:
            self.faults.append(copy.deepcopy(fault))

    # ---- helpers
    @staticmethod
    def _as_config(cluster: ClusterConfig | Mapping[str, Any]) -> ClusterConfig:
        return cluster if isinstance(cluster, ClusterConfig) else ClusterConfig.from_dict(cluster)

    @staticmethod
    def _as_fault(fault: Fault | Mapping[str, Any]) -> Fault:
        return fault if isinstance(fault, Fault) else Fault.from_dict(fault)

    def now(self) -> float:
        """Current emulated time in seconds."""
        return self.clock.now()

    # ---- clusters
    def add_cluster(self, cluster: ClusterConfig | Mapping[str, Any]) -> ClusterConfig:
        """Register (or replace the configuration of) a cluster. Existing job requests are kept."""
        config = self._as_config(cluster)
        with self.lock:
            runtime = self.clusters.get(config.cluster_id)
            if runtime is None:
                self.clusters[config.cluster_id] = _ClusterRuntime(config)
            else:
                runtime.config = config
                runtime.outcome_index = 0
        return config

    def update_cluster(self, cluster_id: str, **changes: Any) -> ClusterConfig:
        """Replace some fields of a registered cluster's configuration."""
        with self.lock:
            runtime = self.clusters[cluster_id]
            data = {name: getattr(runtime.config, name) for name in ClusterConfig.FIELDS}
            data.update(changes)
            return self.add_cluster(ClusterConfig.from_dict(data))

    def cluster(self, cluster_id: str | None = None) -> ClusterConfig:
        """The configuration of ``cluster_id`` (default: the first registered cluster)."""
        with self.lock:
            if cluster_id is None:
                if not self.clusters:
                    raise LookupError("the emulator has no cluster")
                return next(iter(self.clusters.values())).config
            return self.clusters[cluster_id].config

    # ---- faults
    def add_fault(self, fault: Fault | Mapping[str, Any]) -> Fault:
        """Add a fault (a :class:`Fault` or a dict)."""
        fault = self._as_fault(fault)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every fault."""
        with self.lock:
            self.faults.clear()

    def take_fault(self, cluster_id: str | None, method: str) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        if not self.faults:  # fast path, no lock
            return None
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault.matches(cluster_id, method):
                    fault.hits += 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            del self.faults[index]
                    return fault
        return None

    # ---- the API
    def _authenticate(
        self, cluster_id: str, credential_id: str | None, secret: str | None, api_key: str | None
    ) -> tuple[int, dict[str, Any]] | _ClusterRuntime:
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
        runtime = self.clusters.get(cluster_id)
        if runtime is None:
            return 404, error_body(404, f"cluster not found: {cluster_id}")
        config = runtime.config
        ok_id = hmac.compare_digest(str(credential_id).encode(), config.credential_id.encode())
        ok_secret = hmac.compare_digest(str(secret).encode(), config.credential_secret.encode())
        if not (ok_id and ok_secret):
            return 401, error_body(401, "authentication failed: invalid Credential-ID or Credential-Secret")
        if not hmac.compare_digest(str(api_key).encode(), config.api_key.encode()):
            return 403, error_body(403, f"Hadoop-Eco-Api-Key is not valid for cluster {cluster_id}")
        return runtime

    def handle_post(
        self,
        cluster_id: str,
        credential_id: str | None,
        secret: str | None,
        api_key: str | None,
        raw_body: bytes,
    ) -> tuple[int, dict[str, Any]]:
        """``POST /hadoop-eco/v1/cluster/{cluster_id}``: start a job run. Returns (status, JSON body)."""
        with self.lock:
            auth = self._authenticate(cluster_id, credential_id, secret, api_key)
            if isinstance(auth, tuple):
                return auth
            runtime = auth
            if raw_body.strip():
                try:
                    body = json.loads(raw_body)
                except (ValueError, UnicodeDecodeError) as exc:
                    return 400, error_body(400, f"invalid JSON body: {exc}")
            else:
                body = {}
            problem = validate_settings(body)
            if problem:
                return 400, error_body(400, problem)
            config = runtime.config
            now = self.clock.now()
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
            config.settings.update(body)  # the submitted values become the cluster's settings
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
                seq=next(self._job_seq),
            )
            runtime.jobs[job.request_id] = job
            runtime.last_job = job
            s = job.settings
            return 200, {
                "clusterId": cluster_id,
                "clusterName": config.name,
                "requestId": job.request_id,
                "clusterMainSettingValues": {
                    "workerCnt": s["workerCnt"],
                    "workerVolumeSize": s["workerVolumeSize"],
                    "configHdfsReplication": s["configHdfsReplication"],
                    "configHdfsBlockSize": s["configHdfsBlockSize"],
                    "jobType": config.job_type,
                    "userTaskDeployMode": s["userTaskDeployMode"],
                    "userTaskExecOpts": s["userTaskExecOpts"],
                    "userTaskExecParams": s["userTaskExecParams"],
                },
            }

    def handle_get(
        self,
        cluster_id: str,
        request_id: str,
        credential_id: str | None,
        secret: str | None,
        api_key: str | None,
        verbose: str | None,
    ) -> tuple[int, dict[str, Any]]:
        """``GET .../cluster/{cluster_id}/request-id/{request_id}``. Returns (status, JSON body)."""
        with self.lock:
            auth = self._authenticate(cluster_id, credential_id, secret, api_key)
            if isinstance(auth, tuple):
                return auth
            runtime = auth
            if verbose is None or verbose.lower() in ("false", "null", ""):
                want_meta = False
            elif verbose.lower() == "true":
                want_meta = True
            else:
                return 400, error_body(400, f"verbose must be true or false, got {verbose!r}")
            job = runtime.jobs.get(request_id)
            if job is None:
                return 404, error_body(404, f"request not found: {request_id} (cluster {cluster_id})")
            status, result = job.status_at(self.clock.now())
            config = runtime.config
            body: dict[str, Any] = {
                "clusterId": cluster_id,
                "clusterName": config.name,
                "requestId": request_id,
                "requestStatus": status,
                "requestResult": result,
            }
            if want_meta:
                body["clusterMeta"] = self._cluster_meta(config, job, running=result is None)
            return 200, body

    @staticmethod
    def _cluster_meta(config: ClusterConfig, job: Job, *, running: bool) -> dict[str, Any]:
        name = config.name
        network = {
            "uuid": "3541a58c-3930-4dcb-8785-0032ff926b80",
            "subnet_id": "be864742-c658-4f7f-8077-9b9138b86df1",
            "security_group_id_list": ["73e64d4f-cf71-4be5-8cd5-42e5cb5ccceb"],
        }
        vm = {
            "flavor_id": "9b944f27-12fd-4542-8073-e477931c9365",
            "flavor_name": "a1-4-std",
            "key_pair": "emulator-keypair",
        }
        master = f"HadoopMST-{name}-1"
        workers = min(int(job.settings.get("workerCnt", 1)), 1000)
        return {
            "cluster_version": config.cluster_version,
            "service_check_timeout": 10,
            "socket_timeout": 5,
            "global_timeout": 1500,
            "monitoring": False,
            "cluster_id": config.cluster_id,
            "cluster_name": name,
            "cluster_type": config.cluster_type,
            "project": {
                "id": "353094e122d6493d9899f0f2523d4cc1",
                "name": "emulator-project",
                "domain": {"id": "982fc392699d4385b0b1a9d10b9f2393", "name": "emulator-domain"},
            },
            "master_vm": {
                "host_list": [master],
                **vm,
                "network": dict(network),
                "block_device": {
                    "source_type": "image",
                    "uuid": "99612215-f9c2-4914-9c76-c8567285675f",
                    "volume_size": 50,
                },
                "master_active": master,
                "master_standby": master,
                "master_etc": master,
            },
            "worker_vm": {
                "host_list": [f"HadoopWRK-{name}-{i}" for i in range(1, workers + 1)] if running else [],
                **vm,
                "network": dict(network),
                "block_device": {
                    "source_type": "image",
                    "uuid": "99612215-f9c2-4914-9c76-c8567285675f",
                    "volume_size": job.settings.get("workerVolumeSize", 50),
                },
            },
            "user_cluster_exec_command": {
                "type": config.job_type,
                "termination_policy": config.termination_policy,
                "hive_query": config.hive_query,
                "exec_opts": job.settings.get("userTaskExecOpts", ""),
                "exec_params": job.settings.get("userTaskExecParams", ""),
            },
        }

    # ---- record
    def record(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Iterable[tuple[str, str]],
        raw_body: bytes,
        status: int | None,
        fault: str | None = None,
        cluster_id: str | None = None,
    ) -> None:
        """Append one entry to the request record (secret header values redacted)."""
        if not self.record_enabled:
            return
        safe_headers = {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers}
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except (ValueError, UnicodeDecodeError):
                body = raw_body.decode("utf-8", "replace")
        entry = {
            "seq": next(self._record_seq),
            "timestamp": time.time(),
            "emulated_time": self.clock.now(),
            "method": method,
            "path": path,
            "query": dict(query),
            "headers": safe_headers,
            "body": body,
            "status": status,
            "fault": fault,
            "cluster_id": cluster_id,
        }
        with self.lock:
            self.records.append(entry)

    def requests(
        self, method: str | None = None, cluster_id: str | None = None, request_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first, optionally filtered."""
        with self.lock:
            items = list(self.records)
        out = []
        for r in items:
            if method is not None and r["method"] != method.upper():
                continue
            if cluster_id is not None and r["cluster_id"] != cluster_id:
                continue
            if request_id is not None and not r["path"].endswith("/request-id/" + request_id):
                continue
            out.append(r)
        return out

    def clear_records(self) -> None:
        """Empty the request record."""
        with self.lock:
            self.records.clear()

    # ---- inspection / control
    def jobs(self, cluster_id: str | None = None) -> list[dict[str, Any]]:
        """All runs (optionally of one cluster) with their current status, oldest first."""
        with self.lock:
            now = self.clock.now()
            out = []
            for cid, runtime in self.clusters.items():
                if cluster_id is not None and cid != cluster_id:
                    continue
                for job in runtime.jobs.values():
                    status, result = job.status_at(now)
                    out.append(
                        {
                            "requestId": job.request_id,
                            "clusterId": cid,
                            "requestStatus": status,
                            "requestResult": result,
                            "started_at": job.started_at,
                            "duration": job.duration,
                            "outcome": job.outcome,
                            "settings": dict(job.settings),
                            "seq": job.seq,
                        }
                    )
            out.sort(key=lambda j: int(j["seq"]))  # type: ignore[arg-type]
            return out

    def advance(self, seconds: float) -> float:
        """Move emulated time forward; return the new time."""
        with self.lock:
            return self.clock.advance(seconds)

    def reset(self) -> None:
        """Back to the initial clusters and faults; forget runs and records; clock to 0."""
        with self.lock:
            self.clusters.clear()
            for config in self._initial_clusters:
                self.add_cluster(copy.deepcopy(config))
            self.faults = [copy.deepcopy(f) for f in self._initial_faults]
            self.records.clear()
            self.clock.reset()

    def snapshot(self) -> dict[str, Any]:
        """A JSON-friendly view of clusters (secrets redacted), runs, faults and the clock."""
        with self.lock:
            return {
                "now": self.clock.now(),
                "time_scale": self.clock.time_scale,
                "manual_clock": self.clock.manual,
                "record": self.record_enabled,
                "records": len(self.records),
                "clusters": [
                    {**rt.config.public_dict(), "jobs": self.jobs(cid)} for cid, rt in self.clusters.items()
                ],
                "faults": [f.to_dict() for f in self.faults],
            }


# ------------------------------------------------------------------------------------------------ scenario
SCENARIO_KEYS = ("time_scale", "manual_clock", "record", "max_records", "clusters", "faults")


def load_scenario(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read a scenario (.json/.yaml/.yml file, or an already-parsed dict) and validate it."""
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        path = Path(source)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml  # lazy: only for YAML scenarios

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a scenario must be a mapping at top level")
    unknown = sorted(set(data) - set(SCENARIO_KEYS))
    if unknown:
        raise ValueError(f"unknown scenario key(s): {', '.join(unknown)}")
    # validate eagerly so a bad scenario fails before the server starts
    for cluster in data.get("clusters") or []:
        ClusterConfig.from_dict(cluster)
    for fault in data.get("faults") or []:
        Fault.from_dict(fault)
    return data
