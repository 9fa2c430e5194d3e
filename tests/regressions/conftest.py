"""Fixtures of the review regression tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests_support import ACCESS_KEY_ID, CANARY_API_KEY, CANARY_SECRET

#: An emulated cluster that accepts exactly the canary credentials of tests_support.
CANARY_CLUSTER = {
    "cluster_id": "c-1",
    "name": "etl",
    "credential_id": ACCESS_KEY_ID,
    "credential_secret": CANARY_SECRET,
    "api_key": CANARY_API_KEY,
    "duration": 30.0,
}


@pytest.fixture
def canary_emulator() -> Iterator[Any]:
    """The emulator on 127.0.0.1 with one cluster ``c-1`` that accepts the canary credentials.

    Jobs last 30 emulated seconds at 100x: 0.3 s of real time.
    """
    from airflow_provider_hadoop_eco.emulator import Emulator

    emulator = Emulator(host="127.0.0.1", port=0, time_scale=100.0, clusters=[dict(CANARY_CLUSTER)])
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
