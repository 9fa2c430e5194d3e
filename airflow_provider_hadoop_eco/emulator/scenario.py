"""Scenario files: an emulator's whole setup (clock, record, dialects, clusters, faults) as JSON or YAML."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow_provider_hadoop_eco.emulator.contract import parse_dialects
from airflow_provider_hadoop_eco.emulator.faults import Fault
from airflow_provider_hadoop_eco.emulator.model import ClusterConfig

SCENARIO_KEYS = ("time_scale", "manual_clock", "record", "max_records", "dialects", "clusters", "faults")


def load_scenario(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read a scenario (.json/.yaml/.yml file, or an already-parsed dict) and validate it."""
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        path = Path(source)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml  # lazy: only for YAML scenarios

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a scenario must be a mapping at top level")
    unknown = sorted(set(data) - set(SCENARIO_KEYS))
    if unknown:
        raise ValueError(f"unknown scenario key(s): {', '.join(unknown)}")
    # A bad scenario fails here, before a server starts and a test waits for it.
    if "dialects" in data:
        parse_dialects(data["dialects"])
    for cluster in data.get("clusters") or []:
        ClusterConfig.from_dict(cluster)
    for fault in data.get("faults") or []:
        Fault.from_dict(fault)
    return data
