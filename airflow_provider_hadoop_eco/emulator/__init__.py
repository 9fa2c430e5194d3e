"""Local emulator of the Kakao Cloud Hadoop Eco job cluster API (for tests, demos and benchmarks).

It serves both dialects of the API from one state: ``v1`` (kr-central-1, ``/hadoop-eco/v1/cluster/...``) and
``v2`` (kr-central-2, ``/v2/hadoop-eco/clusters/...``); ``dialects=`` makes it strict to one.

Importing this package is cheap: aiohttp is only imported when :class:`Emulator` or :func:`create_app`
is used.

* :class:`Emulator` - the server in a background thread (``with Emulator() as emu: ...``);
* :func:`create_app` - the ``aiohttp.web.Application`` for use inside an existing event loop;
* :class:`EmulatorState`, :class:`ClusterConfig`, :class:`Fault` - the in-memory model;
* CLI: ``hadoop-eco-emulator`` / ``python -m airflow_provider_hadoop_eco.emulator``;
* pytest fixture: ``hadoop_eco_emulator`` (plugin :mod:`.pytest_plugin`, auto-registered).

Modules: :mod:`.contract` (paths, fields, ranges, error body), :mod:`.validation` (create bodies),
:mod:`.model` (clusters, runs), :mod:`.clock`, :mod:`.faults`, :mod:`.cluster_meta` (verbose ``clusterMeta``),
:mod:`.recording` (the request record), :mod:`.scenario`, :mod:`.state` (``EmulatorState``),
:mod:`.api_calls` (the two calls on the state), :mod:`.tls` (a throwaway certificate for ``tls=True``;
cryptography is imported only when one is made); with aiohttp: :mod:`.handlers`, :mod:`.admin`
(``/_emulator``), :mod:`.app` (routes), :mod:`.server` (``Emulator``), :mod:`.cli`.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_hadoop_eco.emulator.contract import DIALECTS, PATHS
from airflow_provider_hadoop_eco.emulator.faults import Fault
from airflow_provider_hadoop_eco.emulator.model import (
    DEFAULT_API_KEY,
    DEFAULT_CLUSTER_ID,
    DEFAULT_CLUSTER_NAME,
    DEFAULT_CREDENTIAL_ID,
    DEFAULT_CREDENTIAL_SECRET,
    ClusterConfig,
)
from airflow_provider_hadoop_eco.emulator.scenario import load_scenario
from airflow_provider_hadoop_eco.emulator.state import EmulatorState

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CLUSTER_ID",
    "DEFAULT_CLUSTER_NAME",
    "DEFAULT_CREDENTIAL_ID",
    "DEFAULT_CREDENTIAL_SECRET",
    "DIALECTS",
    "PATHS",
    "ClusterConfig",
    "Emulator",
    "EmulatorState",
    "Fault",
    "create_app",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from airflow_provider_hadoop_eco.emulator.server import Emulator

        return Emulator
    if name == "create_app":
        from airflow_provider_hadoop_eco.emulator.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
