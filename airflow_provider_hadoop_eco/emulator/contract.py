"""The Hadoop Eco job cluster API as the emulator implements it: both dialects' paths, fields, ranges, errors.

The emulator keeps its own copy of the documented ranges instead of importing the provider's
(:mod:`airflow_provider_hadoop_eco.cluster_settings`): it is an independent implementation of the contract,
so a mistake on one side shows up as a disagreement between the two:
``tests/emulator/test_emulator_contract.py`` fails when the copies drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final


class _Unset:
    """Type of :data:`UNSET`."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        # One instance, so that ``is UNSET`` survives the deep copies of faults and cluster configs.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __deepcopy__(self, memo: dict[int, Any]) -> _Unset:
        return self

    def __repr__(self) -> str:
        return "UNSET"


#: "Not given": JSON ``null`` is a meaningful value (``requestResult: null``), so ``None`` cannot say it.
UNSET: Any = _Unset()


# -------------------------------------------------------------------------------------------- dialects
@dataclass(frozen=True)
class DialectPaths:
    """The two path templates of one dialect (aiohttp route syntax)."""

    create: str
    status: str


#: ``v1``: the seed reference (kr-central-1). ``v2``: KakaoCloud's kr-central-2 docs, whose status path is in
#: no public copy and is inferred from v1 (see the spec's kr-central-2 section).
DIALECTS: Final[tuple[str, ...]] = ("v1", "v2")
PATHS: Final[dict[str, DialectPaths]] = {
    "v1": DialectPaths(
        create="/hadoop-eco/v1/cluster/{cluster_id}",
        status="/hadoop-eco/v1/cluster/{cluster_id}/request-id/{request_id}",
    ),
    "v2": DialectPaths(
        create="/v2/hadoop-eco/clusters/{cluster_id}",
        status="/v2/hadoop-eco/clusters/{cluster_id}/request-id/{request_id}",
    ),
}
#: The region whose API speaks each dialect (what an Airflow connection's ``region`` extra selects).
DIALECT_REGIONS: Final[dict[str, str]] = {"v1": "kr-central-1", "v2": "kr-central-2"}
API_PREFIX = "/hadoop-eco/v1/cluster"
V2_API_PREFIX = "/v2/hadoop-eco/clusters"

_DIALECT_BY_TEMPLATE: Final[dict[str, str]] = {
    template: dialect for dialect, paths in PATHS.items() for template in (paths.create, paths.status)
}


def dialect_of_template(template: str | None) -> str | None:
    """The dialect of an API route template such as ``PATHS["v2"].status`` (``None`` for any other)."""
    return _DIALECT_BY_TEMPLATE.get(template) if template is not None else None


def parse_dialects(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Normalise a dialect selection: ``None`` or ``"both"`` (every dialect), ``"v1"``, ``"v2"``, or a list.

    Returns the dialects in :data:`DIALECTS` order; raises ``ValueError`` for an unknown or empty selection.
    """
    if value is None or value == "both":
        return DIALECTS
    items = [value] if isinstance(value, str) else list(value)
    unknown = [item for item in items if item not in DIALECTS]
    if unknown:
        raise ValueError(
            f"unknown dialect(s) {', '.join(map(repr, unknown))}: expected 'v1', 'v2', 'both' or a list"
        )
    if not items:
        raise ValueError("dialects must not be empty: the emulator has to serve at least one")
    return tuple(d for d in DIALECTS if d in items)


AUTH_HEADERS: Final[tuple[str, str, str]] = ("Credential-ID", "Credential-Secret", "Hadoop-Eco-Api-Key")

# ------------------------------------------------------------------------------------------ create body
#: Integer elements of the create body and their inclusive ranges.
INT_RANGES: dict[str, tuple[int, int]] = {
    "workerCnt": (1, 1000),
    "workerVolumeSize": (50, 5120),
    "configHdfsReplication": (1, 500),
    "configHdfsBlockSize": (1, 1024),
}
DEPLOY_MODES = ("client", "cluster")
STR_FIELDS = ("userTaskExecOpts", "userTaskExecParams")
#: The seven flat elements of the create body, in the reference's order.
SETTING_KEYS = (*INT_RANGES, "userTaskDeployMode", *STR_FIELDS)

#: ``instanceSpecs``: only its first lines are public (kr-central-2's newest copy). The ranges of its integers
#: are those of ``workerCnt``/``workerVolumeSize``, whose meaning they share.
INSTANCE_SPECS = "instanceSpecs"
INSTANCE_SPEC_TYPES: Final[tuple[str, ...]] = ("MASTER", "WORKER", "TASK")
INSTANCE_SPEC_RANGES: Final[dict[str, tuple[int, int]]] = {"nodeCnt": (1, 1000), "volumeSize": (50, 5120)}
INSTANCE_SPEC_FIELDS: Final[tuple[str, ...]] = ("type", *INSTANCE_SPEC_RANGES)
#: The flat setting each integer of the ``WORKER`` entry stands for.
WORKER_SPEC_SETTINGS: Final[dict[str, str]] = {"nodeCnt": "workerCnt", "volumeSize": "workerVolumeSize"}
#: Every element a create body may carry.
CREATE_KEYS = (*SETTING_KEYS, INSTANCE_SPECS)

# ---------------------------------------------------------------------------------------- status answer
TERMINAL_STATUS = "Terminate"
VALID_OUTCOMES = ("Success", "Failure")
JOB_TYPES = ("hive", "spark")
TERMINATION_POLICIES = ("always", "onSuccess", "never")


def error_body(code: int, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON error body the emulator returns: ``{"code": <status>, "message": "..."}``."""
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    return body
