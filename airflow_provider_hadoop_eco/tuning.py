"""The hook's tuning knobs (timeouts and retries) as DAG authors pass them: ``hook_params``.

Standard library only: the operator and sensor check ``hook_params`` at DAG parse time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError

#: Every knob, with its default.
HOOK_PARAM_DEFAULTS: dict[str, float] = {
    "timeout": 60.0,
    "connect_timeout": 10.0,
    "retry_limit": 4,
    "retry_delay": 1.0,
    "retry_max_delay": 30.0,
}
_POSITIVE = ("timeout", "connect_timeout")
_NON_NEGATIVE = ("retry_delay", "retry_max_delay")


def validate_hook_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``hook_params`` and return them as numbers; unknown names and bad values raise, named.

    :raises HadoopEcoConfigError: an unknown knob, a value that is not a finite number, a non-positive
        timeout, a negative delay, or a ``retry_limit`` that is not an integer of at least 1.
    """
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise HadoopEcoConfigError(f"hook_params must be a mapping, got {type(params).__name__}")
    checked: dict[str, Any] = {}
    for name, value in params.items():
        if name not in HOOK_PARAM_DEFAULTS:
            raise HadoopEcoConfigError(
                f"Unknown hook_params key {name!r}; known: {', '.join(HOOK_PARAM_DEFAULTS)}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise HadoopEcoConfigError(f"hook_params[{name!r}] must be a number, got {value!r}")
        if name == "retry_limit" and (value != int(value) or value < 1):
            raise HadoopEcoConfigError(f"retry_limit must be an integer of at least 1, got {value!r}")
        if name in _POSITIVE and value <= 0:
            raise HadoopEcoConfigError(f"hook_params[{name!r}] must be positive, got {value!r}")
        if name in _NON_NEGATIVE and value < 0:
            raise HadoopEcoConfigError(f"hook_params[{name!r}] must not be negative, got {value!r}")
        checked[name] = int(value) if name == "retry_limit" else float(value)
    return checked
