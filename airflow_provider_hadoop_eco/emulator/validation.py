"""Validation of create bodies against the contract; every message names the offending field."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from airflow_provider_hadoop_eco.emulator.contract import (
    CREATE_KEYS,
    DEPLOY_MODES,
    INSTANCE_SPEC_FIELDS,
    INSTANCE_SPEC_RANGES,
    INSTANCE_SPEC_TYPES,
    INSTANCE_SPECS,
    INT_RANGES,
    SETTING_KEYS,
    STR_FIELDS,
    WORKER_SPEC_SETTINGS,
)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _int_problem(name: str, value: Any, low: int, high: int) -> str | None:
    if type(value) is not int:  # bool is a subclass of int: reject it explicitly
        return f"{name} must be an integer between {low} and {high}, got {_dumps(value)}"
    if not low <= value <= high:
        return f"{name} must be between {low} and {high}, got {value}"
    return None


def _flat_problem(body: Any, allowed: Collection[str]) -> str | None:
    if not isinstance(body, dict):
        return f"request body must be a JSON object, got {type(body).__name__}"
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    for key, (low, high) in INT_RANGES.items():
        if key in body and (problem := _int_problem(key, body[key], low, high)):
            return problem
    if "userTaskDeployMode" in body and body["userTaskDeployMode"] not in DEPLOY_MODES:
        return f"userTaskDeployMode must be 'client' or 'cluster', got {_dumps(body['userTaskDeployMode'])}"
    for key in STR_FIELDS:
        if key in body and not isinstance(body[key], str):
            return f"{key} must be a string, got {_dumps(body[key])}"
    return None


def validate_settings(body: Any) -> str | None:
    """Validate the seven flat settings (a v1 body, a cluster's defaults). ``None`` when valid, else why."""
    return _flat_problem(body, SETTING_KEYS)


def _instance_specs_problem(specs: Any) -> str | None:
    shape = '{"type", "nodeCnt", "volumeSize"} objects'
    if not isinstance(specs, list) or not specs:
        return f"{INSTANCE_SPECS} must be a non-empty list of {shape}, got {_dumps(specs)}"
    seen: dict[str, int] = {}
    for index, entry in enumerate(specs):
        where = f"{INSTANCE_SPECS}[{index}]"
        if not isinstance(entry, dict):
            return f"{where} must be an object with type, nodeCnt and volumeSize, got {_dumps(entry)}"
        unknown = sorted(k for k in entry if k not in INSTANCE_SPEC_FIELDS)
        if unknown:
            return (
                f"{where}: unknown field(s) {', '.join(unknown)}; expected {', '.join(INSTANCE_SPEC_FIELDS)}"
            )
        for name in INSTANCE_SPEC_FIELDS:
            if name not in entry:
                return f"{where}.{name} is required"
        kind = entry["type"]
        if kind not in INSTANCE_SPEC_TYPES:
            return f"{where}.type must be one of {', '.join(INSTANCE_SPEC_TYPES)}, got {_dumps(kind)}"
        for name, (low, high) in INSTANCE_SPEC_RANGES.items():
            if problem := _int_problem(f"{where}.{name}", entry[name], low, high):
                return problem
        if kind in seen:
            return f"{where}.type {kind} is a duplicate of {INSTANCE_SPECS}[{seen[kind]}]"
        seen[kind] = index
    return None


def validate_create_body(body: Any) -> str | None:
    """Validate a create (POST) body, flat settings and ``instanceSpecs``. ``None`` when valid, else why."""
    problem = _flat_problem(body, CREATE_KEYS)
    if problem or INSTANCE_SPECS not in body:
        return problem
    # Two sources for the worker count/volume: refuse to guess which one wins.
    clashing = [key for key in WORKER_SPEC_SETTINGS.values() if key in body]
    if clashing:
        return (
            f"{INSTANCE_SPECS} cannot be combined with {', '.join(clashing)} (ambiguous): "
            "give the WORKER entry's nodeCnt/volumeSize instead"
        )
    return _instance_specs_problem(body[INSTANCE_SPECS])


def settings_of_create_body(body: dict[str, Any]) -> dict[str, Any]:
    """The flat settings a valid create body changes.

    The ``WORKER`` entry of ``instanceSpecs`` stands for ``workerCnt`` and ``workerVolumeSize``.
    """
    changes = {key: value for key, value in body.items() if key != INSTANCE_SPECS}
    for entry in body.get(INSTANCE_SPECS) or []:
        if entry["type"] == "WORKER":
            changes.update({WORKER_SPEC_SETTINGS[name]: entry[name] for name in WORKER_SPEC_SETTINGS})
    return changes
