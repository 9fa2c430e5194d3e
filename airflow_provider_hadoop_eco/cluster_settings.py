"""The settings a create call may change, their API names and their documented ranges.

Used by the operator (to fail before any HTTP call) and by the hook (to build the request body).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError


@dataclass(frozen=True)
class Setting:
    """One element of the create-cluster body.

    :param name: the operator / hook parameter name (snake case).
    :param api_name: the element's name in the API (camel case).
    :param minimum: smallest allowed integer, for integer settings.
    :param maximum: largest allowed integer, for integer settings.
    :param choices: allowed values, for enumerated strings.
    """

    name: str
    api_name: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None

    @property
    def is_integer(self) -> bool:
        """Whether the setting is an integer with a range."""
        return self.minimum is not None

    def describe(self) -> str:
        """Say what the setting accepts, for error messages."""
        if self.is_integer:
            return f"an integer from {self.minimum} to {self.maximum}"
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return "a string"

    def coerce(self, value: Any) -> int | str:
        """Return the value the API expects, or raise naming the parameter and what it accepts."""
        problem = f"{self.name} ({self.api_name}) must be {self.describe()}, got {value!r}"
        if self.is_integer:
            if isinstance(value, bool):
                raise HadoopEcoConfigError(problem)
            if isinstance(value, str):
                # A templated field renders to a string; "3" is a fine way to say 3.
                text = value.strip()
                if not text.lstrip("+-").isdigit():
                    raise HadoopEcoConfigError(problem)
                value = int(text)
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int):
                raise HadoopEcoConfigError(problem)
            assert self.minimum is not None and self.maximum is not None
            if not self.minimum <= value <= self.maximum:
                raise HadoopEcoConfigError(problem)
            return value
        if not isinstance(value, str):
            raise HadoopEcoConfigError(problem)
        if self.choices and value not in self.choices:
            raise HadoopEcoConfigError(problem)
        return value


SETTINGS: tuple[Setting, ...] = (
    Setting("worker_count", "workerCnt", 1, 1000),
    Setting("worker_volume_size", "workerVolumeSize", 50, 5120),
    Setting("hdfs_replication", "configHdfsReplication", 1, 500),
    Setting("hdfs_block_size", "configHdfsBlockSize", 1, 1024),
    Setting("deploy_mode", "userTaskDeployMode", choices=("client", "cluster")),
    Setting("exec_opts", "userTaskExecOpts"),
    Setting("exec_params", "userTaskExecParams"),
)

#: ``instanceSpecs`` (kr-central-2's newest body): node types, and the ranges of ``nodeCnt`` and ``volumeSize``.
#: Only the element names and the types are public; the ranges are inferred from ``workerCnt`` and
#: ``workerVolumeSize``, whose meaning they share.
INSTANCE_SPEC_TYPES: tuple[str, ...] = ("MASTER", "WORKER", "TASK")
INSTANCE_SPEC_NODE_COUNT: tuple[int, int] = (1, 1000)
INSTANCE_SPEC_VOLUME_SIZE: tuple[int, int] = (50, 5120)

_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS} | {s.api_name: s for s in SETTINGS}


def build_create_body(settings: dict[str, Any]) -> dict[str, int | str]:
    """Map settings (snake-case or API names) to the create body, dropping the ones left as None.

    :raises HadoopEcoConfigError: an unknown setting, or a value outside its documented range.
    """
    body: dict[str, int | str] = {}
    for key, value in settings.items():
        setting = _BY_NAME.get(key)
        if setting is None:
            known = ", ".join(s.name for s in SETTINGS)
            raise HadoopEcoConfigError(f"Unknown Hadoop Eco cluster setting {key!r}; known settings: {known}")
        if value is None:
            continue
        if setting.api_name in body:
            raise HadoopEcoConfigError(f"Setting {setting.name} ({setting.api_name}) is given twice")
        body[setting.api_name] = setting.coerce(value)
    return body


# Checked on every poll of every trigger: one compiled scan instead of per-character Python loops.
_BAD_ID_CHARS = re.compile(r"[/?#\s]")


def validate_identifier(name: str, value: Any) -> str:
    """Return an id that goes into a URL path (cluster id, request id) stripped, or raise naming it."""
    if not isinstance(value, str) or not value.strip():
        raise HadoopEcoConfigError(f"{name} must be a non-empty string, got {value!r}")
    value = value.strip()
    if _BAD_ID_CHARS.search(value):
        raise HadoopEcoConfigError(f"{name} must not contain '/', '?', '#' or spaces, got {value!r}")
    return value
