"""Local emulator of the Kakao Cloud Hadoop Eco job cluster API (for tests, demos and benchmarks).

Importing this package is cheap: aiohttp is only imported when :class:`Emulator` or :func:`create_app`
is used.

* :class:`Emulator` - the server in a background thread (``with Emulator() as emu: ...``);
* :func:`create_app` - the ``aiohttp.web.Application`` for use inside an existing event loop;
* :class:`EmulatorState`, :class:`ClusterConfig`, :class:`Fault` - the in-memory model;
* CLI: ``hadoop-eco-emulator`` / ``python -m airflow_provider_hadoop_eco.emulator``;
* pytest fixture: ``hadoop_eco_emulator`` (plugin :mod:`.pytest_plugin`, auto-registered).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_hadoop_eco.emulator.state import (
    DEFAULT_API_KEY,
    DEFAULT_CLUSTER_ID,
    DEFAULT_CLUSTER_NAME,
    DEFAULT_CREDENTIAL_ID,
    DEFAULT_CREDENTIAL_SECRET,
    ClusterConfig,
    EmulatorState,
    Fault,
    load_scenario,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CLUSTER_ID",
    "DEFAULT_CLUSTER_NAME",
    "DEFAULT_CREDENTIAL_ID",
    "DEFAULT_CREDENTIAL_SECRET",
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
