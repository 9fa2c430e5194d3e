from __future__ import annotations

import pytest


@pytest.fixture
def emulator(hadoop_eco_emulator, monkeypatch):
    """The emulator (manual clock) with ``hadoop_eco_default`` pointed at it."""
    for name, value in hadoop_eco_emulator.conn_env("hadoop_eco_default").items():
        monkeypatch.setenv(name, value)
    return hadoop_eco_emulator


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    from airflow_provider_hadoop_eco.hooks import hadoop_eco

    original = hadoop_eco.HadoopEcoHook.__init__

    def init(self, *args, **kwargs):
        kwargs.setdefault("retry_delay", 0.01)
        kwargs.setdefault("retry_max_delay", 0.05)
        original(self, *args, **kwargs)

    monkeypatch.setattr(hadoop_eco.HadoopEcoHook, "__init__", init)
