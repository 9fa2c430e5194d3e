"""The Hadoop Eco job cluster API as the emulator implements it: paths, fields, ranges, the error body.

The emulator keeps its own copy of the documented ranges instead of importing the provider's
(:mod:`airflow_provider_hadoop_eco.cluster_settings`): it is an independent implementation of the contract,
so a mistake on one side shows up as a disagreement between the two.
"""

from __future__ import annotations

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

API_PREFIX = "/hadoop-eco/v1/cluster"
CREATE_PATH = API_PREFIX + "/{cluster_id}"
STATUS_PATH = CREATE_PATH + "/request-id/{request_id}"

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
