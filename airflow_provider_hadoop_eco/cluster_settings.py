"""The settings a create call may change, their API names and documented ranges, and the ids in its URL.

Used by the operator (to fail before any HTTP call, at DAG parse time for literal values) and by the hook
(to build the request body). Standard library only: DAG files import it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError

# ASCII digits only: str.isdigit() accepts "²", which int() then rejects. Six digits is far beyond any
# range below and keeps int() away from Python's 4,300-digit conversion limit.
_INTEGER_TEXT = r"[+-]?[0-9]{1,6}"


def _as_integer(value: Any) -> int | None:
    """The integer a setting's value stands for, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and re.fullmatch(_INTEGER_TEXT, value.strip()):
        return int(value.strip())
    return None


def _shown(value: Any) -> str:
    """A value for an error message, cut short: a rendered template can be arbitrarily long."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's 4,300-digit conversion limit
        return f"an integer of {value.bit_length()} bits" if isinstance(value, int) else type(value).__name__
    return text if len(text) <= 80 else text[:77] + "..."


class Setting(NamedTuple):
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
        problem = f"{self.name} ({self.api_name}) must be {self.describe()}, got {_shown(value)}"
        if self.is_integer:
            # A templated field renders to a string; "3" is a fine way to say 3.
            number = _as_integer(value)
            assert self.minimum is not None and self.maximum is not None
            if number is None or not self.minimum <= number <= self.maximum:
                raise HadoopEcoConfigError(problem)
            return number
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
SETTING_NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS)

#: ``instanceSpecs`` (kr-central-2's newest body): node types, and the ranges of ``nodeCnt`` and
#: ``volumeSize``.
#: Only the element names and the types are public; the ranges are inferred from ``workerCnt`` and
#: ``workerVolumeSize``, whose meaning they share.
INSTANCE_SPEC_TYPES: tuple[str, ...] = ("MASTER", "WORKER", "TASK")
INSTANCE_SPEC_NODE_COUNT: tuple[int, int] = (1, 1000)
INSTANCE_SPEC_VOLUME_SIZE: tuple[int, int] = (50, 5120)
INSTANCE_SPECS_NAME = "instance_specs"
#: Settings that say the same as ``instanceSpecs`` does: giving both is ambiguous.
_OVERLAPPING_INSTANCE_SPECS = ("worker_count", "worker_volume_size")

_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS} | {s.api_name: s for s in SETTINGS}


def coerce_instance_specs(value: Any) -> list[dict[str, int | str]]:
    """Check ``instance_specs`` entry by entry and return the ``instanceSpecs`` the API expects.

    :raises HadoopEcoConfigError: naming the entry and the field that is wrong.
    """
    if isinstance(value, Mapping) or not isinstance(value, (list, tuple)) or not value:
        raise HadoopEcoConfigError(
            f"{INSTANCE_SPECS_NAME} must be a non-empty list of "
            '{"type": "MASTER"|"WORKER"|"TASK", "nodeCnt": int, "volumeSize": int}, got ' + _shown(value)
        )
    specs: list[dict[str, int | str]] = []
    seen: set[str] = set()
    ranges = {"nodeCnt": INSTANCE_SPEC_NODE_COUNT, "volumeSize": INSTANCE_SPEC_VOLUME_SIZE}
    for index, entry in enumerate(value):
        where = f"{INSTANCE_SPECS_NAME}[{index}]"
        if not isinstance(entry, Mapping):
            raise HadoopEcoConfigError(f"{where} must be a mapping, got {_shown(entry)}")
        unknown = sorted(str(k) for k in entry if k not in ("type", *ranges))
        if unknown:
            raise HadoopEcoConfigError(f"{where} has unknown field(s) {', '.join(unknown)}")
        node_type = entry.get("type")
        if node_type not in INSTANCE_SPEC_TYPES:
            raise HadoopEcoConfigError(
                f"{where}.type must be one of {', '.join(INSTANCE_SPEC_TYPES)}, got {_shown(node_type)}"
            )
        if node_type in seen:
            raise HadoopEcoConfigError(f"{where}.type {node_type} is given twice")
        seen.add(node_type)
        spec: dict[str, int | str] = {"type": node_type}
        for field, (low, high) in ranges.items():
            number = _as_integer(entry.get(field))
            if number is None or not low <= number <= high:
                raise HadoopEcoConfigError(
                    f"{where}.{field} must be an integer from {low} to {high}, got {_shown(entry.get(field))}"
                )
            spec[field] = number
        specs.append(spec)
    return specs


def build_create_body(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Map settings (snake-case or API names) to the create body, dropping the ones left as None.

    :raises HadoopEcoConfigError: an unknown setting, a value outside its documented range, or
        ``instance_specs`` together with a worker count or volume size.
    """
    body: dict[str, Any] = {}
    for key, value in settings.items():
        if key in (INSTANCE_SPECS_NAME, "instanceSpecs"):
            if value is not None:
                body["instanceSpecs"] = coerce_instance_specs(value)
            continue
        setting = _BY_NAME.get(key)
        if setting is None:
            known = ", ".join((*SETTING_NAMES, INSTANCE_SPECS_NAME))
            raise HadoopEcoConfigError(f"Unknown Hadoop Eco cluster setting {key!r}; known settings: {known}")
        if value is None:
            continue
        if setting.api_name in body:
            raise HadoopEcoConfigError(f"Setting {setting.name} ({setting.api_name}) is given twice")
        body[setting.api_name] = setting.coerce(value)
    if "instanceSpecs" in body:
        clashing = [s.name for s in SETTINGS if s.name in _OVERLAPPING_INSTANCE_SPECS and s.api_name in body]
        if clashing:
            raise HadoopEcoConfigError(
                f"{INSTANCE_SPECS_NAME} and {' and '.join(clashing)} both set the worker nodes; give only one"
            )
    return body


_TEMPLATE_MARKERS = ("{{", "{%", "{#")


def is_literal(value: Any) -> bool:
    """Whether a DAG-file value is final: no template to render and nothing Airflow resolves later.

    An ``XComArg`` (``task.output``), a ``Param`` or any other object counts as not final, and so does a
    container holding one; only plain JSON-like values without Jinja markers are checked at parse time.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return not any(marker in value for marker in _TEMPLATE_MARKERS)
    if isinstance(value, (list, tuple)):
        return all(is_literal(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_literal(v) for k, v in value.items())
    return False


# RFC 3986 unreserved characters. The real ids are UUIDs and "req-<hex>"; anything else in a URL path
# segment would need encoding, and "." or ".." would be folded away by the HTTP client.
_ID = r"[A-Za-z0-9._~-]{1,200}"


def validate_identifier(name: str, value: Any) -> str:
    """Return an id that goes into a URL path (cluster id, request id) stripped, or raise naming it."""
    if not isinstance(value, str) or not value.strip():
        raise HadoopEcoConfigError(f"{name} must be a non-empty string, got {_shown(value)}")
    value = value.strip()
    if not re.fullmatch(_ID, value) or value in (".", ".."):
        raise HadoopEcoConfigError(
            f"{name} must be an id made of letters, digits and '-', '_', '.', '~' (not '.' or '..'), "
            f"got {_shown(value)}"
        )
    return value
