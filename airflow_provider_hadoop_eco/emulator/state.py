"""The emulator's state: registered clusters and their runs, pending faults, the clock and the request record.

No aiohttp here: this is plain, thread-safe Python that the HTTP layer (:mod:`.handlers`) calls. Every method
touching shared state takes ``EmulatorState.lock`` (a :class:`threading.RLock`), because the handlers run on
the emulator's event-loop thread while tests call the Python API from their own thread.

This module also re-exports the names that used to live here before the emulator was split into modules
(:mod:`.contract`, :mod:`.model`, :mod:`.faults`, ...), so existing imports keep working.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_hadoop_eco.emulator.api_calls import authenticate, run_status, start_run
from airflow_provider_hadoop_eco.emulator.clock import Clock
from airflow_provider_hadoop_eco.emulator.contract import (
    API_PREFIX,
    DEPLOY_MODES,
    DIALECTS,
    INT_RANGES,
    JOB_TYPES,
    SETTING_KEYS,
    STR_FIELDS,
    TERMINAL_STATUS,
    TERMINATION_POLICIES,
    UNSET,
    VALID_OUTCOMES,
    error_body,
    parse_dialects,
)
from airflow_provider_hadoop_eco.emulator.faults import FAULT_KINDS, Fault, take_fault
from airflow_provider_hadoop_eco.emulator.model import (
    DEFAULT_API_KEY,
    DEFAULT_CLUSTER_ID,
    DEFAULT_CLUSTER_NAME,
    DEFAULT_CREDENTIAL_ID,
    DEFAULT_CREDENTIAL_SECRET,
    DEFAULT_DURATION,
    DEFAULT_OUTCOMES,
    DEFAULT_PROGRESS_STATUSES,
    DEFAULT_SETTINGS,
    REDACTED,
    ClusterConfig,
    ClusterRuntime,
    Job,
)
from airflow_provider_hadoop_eco.emulator.recording import DEFAULT_MAX_RECORDS, SECRET_HEADERS, RequestRecord
from airflow_provider_hadoop_eco.emulator.scenario import SCENARIO_KEYS, load_scenario
from airflow_provider_hadoop_eco.emulator.validation import validate_settings

__all__ = [
    "API_PREFIX",
    "DEFAULT_API_KEY",
    "DEFAULT_CLUSTER_ID",
    "DEFAULT_CLUSTER_NAME",
    "DEFAULT_CREDENTIAL_ID",
    "DEFAULT_CREDENTIAL_SECRET",
    "DEFAULT_DURATION",
    "DEFAULT_MAX_RECORDS",
    "DEFAULT_OUTCOMES",
    "DEFAULT_PROGRESS_STATUSES",
    "DEFAULT_SETTINGS",
    "DEPLOY_MODES",
    "DIALECTS",
    "FAULT_KINDS",
    "INT_RANGES",
    "JOB_TYPES",
    "REDACTED",
    "SCENARIO_KEYS",
    "SECRET_HEADERS",
    "SETTING_KEYS",
    "STR_FIELDS",
    "TERMINAL_STATUS",
    "TERMINATION_POLICIES",
    "VALID_OUTCOMES",
    "Clock",
    "ClusterConfig",
    "EmulatorState",
    "Fault",
    "Job",
    "error_body",
    "load_scenario",
    "validate_settings",
]

#: The old private name of :data:`.contract.UNSET`.
_UNSET = UNSET
#: The old private name of :class:`.model.ClusterRuntime`.
_ClusterRuntime = ClusterRuntime


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
        dialects: str | Iterable[str] | None = DIALECTS,
    ) -> None:
        self.lock = threading.RLock()
        #: The dialects served; a request on another one gets a 404 (see :func:`.contract.parse_dialects`).
        self.dialects: tuple[str, ...] = parse_dialects(dialects)
        self.clock = Clock(time_scale, manual_clock)
        self.recorder = RequestRecord(record, max_records, self.lock)
        self._job_seq = itertools.count(1)
        self.clusters: dict[str, ClusterRuntime] = {}
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
                self.clusters[config.cluster_id] = ClusterRuntime(config)
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
        if not self.faults:  # the usual case, checked without the lock
            return None
        with self.lock:
            return take_fault(self.faults, cluster_id, method)

    # ---- the API
    def next_job_seq(self) -> int:
        """The sequence number of the next run (orders runs across clusters)."""
        return next(self._job_seq)

    def handle_post(
        self,
        cluster_id: str,
        credential_id: str | None,
        secret: str | None,
        api_key: str | None,
        raw_body: bytes,
    ) -> tuple[int, dict[str, Any]]:
        """The create call (either dialect): start a job run. Returns (status, JSON body)."""
        with self.lock:
            auth = authenticate(self, cluster_id, credential_id, secret, api_key)
            return auth if isinstance(auth, tuple) else start_run(self, auth, raw_body)

    def handle_get(
        self,
        cluster_id: str,
        request_id: str,
        credential_id: str | None,
        secret: str | None,
        api_key: str | None,
        verbose: str | None,
    ) -> tuple[int, dict[str, Any]]:
        """The status call (either dialect) of run ``request_id``. Returns (status, JSON body)."""
        with self.lock:
            auth = authenticate(self, cluster_id, credential_id, secret, api_key)
            return auth if isinstance(auth, tuple) else run_status(self, auth, request_id, verbose)

    # ---- record
    @property
    def record_enabled(self) -> bool:
        """Whether requests are recorded."""
        return self.recorder.enabled

    @property
    def records(self) -> deque[dict[str, Any]]:
        """The recorded requests (a bounded deque, oldest first)."""
        return self.recorder.entries

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
        dialect: str | None = None,
        peer: str | None = None,
    ) -> None:
        """Append one entry to the request record (secret header values redacted)."""
        if not self.recorder.enabled:
            return
        self.recorder.add(
            method=method, path=path, query=query, headers=headers, raw_body=raw_body, status=status,
            fault=fault, cluster_id=cluster_id, dialect=dialect, emulated_time=self.clock.now(), peer=peer,
        )  # fmt: skip

    def requests(
        self,
        method: str | None = None,
        cluster_id: str | None = None,
        request_id: str | None = None,
        dialect: str | None = None,
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first, optionally filtered (``None`` = any)."""
        return self.recorder.select(
            method=method, cluster_id=cluster_id, request_id=request_id, dialect=dialect
        )

    def clear_records(self) -> None:
        """Empty the request record."""
        self.recorder.clear()

    # ---- inspection / control
    def jobs(self, cluster_id: str | None = None) -> list[dict[str, Any]]:
        """All runs (optionally of one cluster) with their current status, oldest first."""
        with self.lock:
            now = self.clock.now()
            out = [
                job.to_dict(now)
                for cid, runtime in self.clusters.items()
                if cluster_id is None or cid == cluster_id
                for job in runtime.jobs.values()
            ]
            out.sort(key=lambda j: int(j["seq"]))
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
            self.recorder.clear()
            self.clock.reset()

    def snapshot(self) -> dict[str, Any]:
        """A JSON-friendly view of clusters (secrets redacted), runs, faults and the clock."""
        with self.lock:
            return {
                "now": self.clock.now(),
                "time_scale": self.clock.time_scale,
                "manual_clock": self.clock.manual,
                "dialects": list(self.dialects),
                "record": self.recorder.enabled,
                "records": len(self.recorder),
                "clusters": [
                    {**rt.config.public_dict(), "jobs": self.jobs(cid)} for cid, rt in self.clusters.items()
                ],
                "faults": [f.to_dict() for f in self.faults],
            }
