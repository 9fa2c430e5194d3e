"""Validation of create bodies against the contract; every message names the offending field."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_hadoop_eco.emulator.contract import DEPLOY_MODES, INT_RANGES, SETTING_KEYS, STR_FIELDS


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


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
