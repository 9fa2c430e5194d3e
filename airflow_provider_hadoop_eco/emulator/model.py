"""The emulator's model: job clusters (their configuration) and job runs (one per accepted POST)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_hadoop_eco.emulator.contract import (
    JOB_TYPES,
    SETTING_KEYS,
    TERMINAL_STATUS,
    TERMINATION_POLICIES,
    UNSET,
    VALID_OUTCOMES,
)
from airflow_provider_hadoop_eco.emulator.validation import validate_settings

DEFAULT_CLUSTER_ID = "58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf"
DEFAULT_CLUSTER_NAME = "hive-job-cluster"
DEFAULT_CREDENTIAL_ID = "emulator-access-key"
DEFAULT_CREDENTIAL_SECRET = "emulator-secret-key"
DEFAULT_API_KEY = "emulator-api-key"
DEFAULT_DURATION = 30.0
DEFAULT_PROGRESS_STATUSES = ("Pending", "Running")
DEFAULT_OUTCOMES = ("Success",)

#: A cluster's settings before any POST changes them (the reference answer's values).
DEFAULT_SETTINGS: dict[str, Any] = {
    "workerCnt": 1,
    "workerVolumeSize": 50,
    "configHdfsReplication": 1,
    "configHdfsBlockSize": 128,
    "userTaskDeployMode": None,
    "userTaskExecOpts": "",
    "userTaskExecParams": "",
}

#: Shown instead of a secret wherever the emulator reports what it holds.
REDACTED = "***redacted***"


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
    hive_query: Any = UNSET
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
        if self.hive_query is UNSET:
            self.hive_query = "show databases;" if self.job_type == "hive" else None
        merged = dict(DEFAULT_SETTINGS)
        if self.job_type == "spark":
            merged["userTaskDeployMode"] = "cluster"
        settings = dict(self.settings or {})
        # null is how a scenario says "no deploy mode" (the hive default), which a POST may not send
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

    def airflow_connection(
        self, url: str, region: str | None = None, verify: str | None = None
    ) -> dict[str, Any]:
        """The Airflow connection (as a dict) that reaches this cluster through an emulator at ``url``.

        ``region`` (e.g. ``"kr-central-2"``) goes into the extra, where it selects the API dialect;
        ``verify`` (the CA bundle of an emulator served over TLS) goes there too.
        """
        extra: dict[str, Any] = {"api_key": self.api_key}
        if region is not None:
            extra["region"] = region
        if verify is not None:
            extra["verify"] = verify
        return {
            "conn_type": "hadoop_eco",
            "host": url,
            "login": self.credential_id,
            "password": self.credential_secret,
            "extra": extra,
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
    #: ``instanceSpecs`` exactly as the create body gave it (``None`` when it gave none).
    instance_specs: list[dict[str, Any]] | None = None

    def status_at(self, now: float) -> tuple[str, str | None]:
        """``(requestStatus, requestResult)`` of this run at emulated time ``now``."""
        elapsed = now - self.started_at
        if elapsed >= self.duration:
            return TERMINAL_STATUS, self.outcome
        statuses = self.progress_statuses
        index = int(elapsed / self.duration * len(statuses)) if self.duration > 0 else len(statuses) - 1
        return statuses[min(max(index, 0), len(statuses) - 1)], None

    def to_dict(self, now: float) -> dict[str, Any]:
        """JSON-friendly view with the status at emulated time ``now`` (for ``jobs()`` and the admin API)."""
        status, result = self.status_at(now)
        out: dict[str, Any] = {
            "requestId": self.request_id,
            "clusterId": self.cluster_id,
            "requestStatus": status,
            "requestResult": result,
            "started_at": self.started_at,
            "duration": self.duration,
            "outcome": self.outcome,
            "settings": dict(self.settings),
            "seq": self.seq,
        }
        if self.instance_specs is not None:
            out["instanceSpecs"] = copy.deepcopy(self.instance_specs)
        return out


@dataclass
class ClusterRuntime:
    """A registered cluster: its configuration and the runs it has started."""

    config: ClusterConfig
    jobs: dict[str, Job] = field(default_factory=dict)
    last_job: Job | None = None
    outcome_index: int = 0
