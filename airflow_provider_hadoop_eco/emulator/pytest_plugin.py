"""pytest plugin (auto-loaded through the ``pytest11`` entry point): the ``hadoop_eco_emulator`` fixture.

Nothing heavy is imported at module level (no aiohttp, no Airflow): the emulator is imported when a test
actually requests the fixture.

Usage::

    def test_my_dag(hadoop_eco_emulator, monkeypatch):
        monkeypatch.setenv(*next(iter(hadoop_eco_emulator.conn_env().items())))
        ...

    @pytest.mark.hadoop_eco_emulator(manual_clock=True, clusters=[{"cluster_id": "c1", "duration": 5}])
    def test_failure(hadoop_eco_emulator): ...

The default clock runs at ``time_scale=100`` (``DEFAULT_FIXTURE_TIME_SCALE``): the default 30 s job reaches
``Terminate`` after 0.3 s of real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

DEFAULT_FIXTURE_TIME_SCALE = 100.0
MARKER = "hadoop_eco_emulator"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``hadoop_eco_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): keyword arguments for the hadoop_eco_emulator fixture's Emulator "
        "(time_scale, manual_clock, clusters, faults, record, max_records, dialects, tls)",
    )


def _emulator_kwargs(request: pytest.FixtureRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"time_scale": DEFAULT_FIXTURE_TIME_SCALE}
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise TypeError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        kwargs.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, dict):
        kwargs.update(param)
    elif param is not None:
        raise TypeError(
            f"indirect parameter for {MARKER} must be a dict of Emulator arguments, got {param!r}"
        )
    kwargs["host"] = "127.0.0.1"
    kwargs["port"] = 0
    return kwargs


@pytest.fixture
def hadoop_eco_emulator(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A running :class:`~airflow_provider_hadoop_eco.emulator.Emulator` on a free loopback port.

    Configure it with ``@pytest.mark.hadoop_eco_emulator(**kwargs)`` or indirect parametrization
    (``@pytest.mark.parametrize("hadoop_eco_emulator", [{...}], indirect=True)``). Stopped after the test.
    """
    from airflow_provider_hadoop_eco.emulator.server import Emulator

    emulator = Emulator(**_emulator_kwargs(request))
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def hadoop_eco_emulator_conn(hadoop_eco_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the Airflow connection ``hadoop_eco_default`` at the emulator (env var); returns the conn id."""
    for name, value in hadoop_eco_emulator.conn_env("hadoop_eco_default").items():
        monkeypatch.setenv(name, value)
    return "hadoop_eco_default"
