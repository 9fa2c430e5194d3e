"""What the create operator keeps of a job it started: one plain-JSON value.

It is stored in Airflow 3.3's ``task_state_store`` (so a retry re-attaches instead of starting the job
again) and handed to ``execute_complete`` after a deferral. It records which attempt of the task started
the job, so that a task cleared to run again starts a new job rather than re-attaching to an old one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError

_FORMAT = 1
_LEGACY_SUBMITTED_AT = "_airflow_submitted_at"


def current_attempt(context: Mapping[str, Any], retries: int | None) -> int | None:
    """The first try number of the task's current attempt, or None when Airflow does not say.

    Airflow's own rule: clearing a task sets ``max_tries`` to ``try_number + retries``, and a retry changes
    neither, so ``max_tries - retries + 1`` names the attempt every try of it shares.
    """
    max_tries = getattr(context.get("ti"), "max_tries", None)
    if isinstance(max_tries, bool) or not isinstance(max_tries, int):
        return None
    return max_tries - int(retries or 0) + 1


@dataclass(frozen=True)
class SubmittedJob:
    """A job the operator started.

    :param cluster_id: the cluster whose job runs.
    :param request_id: the create request's id.
    :param submitted_at: UNIX time of the create call; waits count from it across retries.
    :param attempt: the first try number of the attempt that started it (see :func:`current_attempt`).
    :param answer: the API's create answer: the task's return value.
    :param settings: the create body that was sent (no secrets), for logs and lineage.
    """

    cluster_id: str
    request_id: str
    submitted_at: float
    attempt: int | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The value to store."""
        return {"format": _FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, value: Any) -> SubmittedJob:
        """Read a stored value back.

        :raises HadoopEcoConfigError: the value is not one this operator stored.
        """
        if isinstance(value, Mapping) and value.get("format") == _FORMAT:
            try:
                job = cls(
                    cluster_id=str(value["cluster_id"]),
                    request_id=str(value["request_id"]),
                    submitted_at=float(value["submitted_at"]),
                    attempt=value.get("attempt"),
                    answer=dict(value.get("answer") or {}),
                    settings=dict(value.get("settings") or {}),
                )
            except (KeyError, TypeError, ValueError):
                job = None
            if job is not None:
                return job
        elif isinstance(value, Mapping) and isinstance(value.get("requestId"), str):
            # Stored by version 1.0.0: the create answer itself, with the submission time beside it.
            answer = {k: v for k, v in value.items() if k != _LEGACY_SUBMITTED_AT}
            submitted_at = value.get(_LEGACY_SUBMITTED_AT)
            return cls(
                cluster_id=str(value.get("clusterId") or ""),
                request_id=value["requestId"],
                submitted_at=float(submitted_at) if isinstance(submitted_at, (int, float)) else time.time(),
                answer=answer,
            )
        raise HadoopEcoConfigError(f"Stored create request is not readable: {str(value)[:200]!r}")
