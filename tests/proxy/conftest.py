"""Fixtures for the real-proxy tests: tinyproxy (installed when missing), and emulators over http and https."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from proxy_case import CLUSTER_ID
from tests_support import ACCESS_KEY_ID, CANARY_API_KEY, CANARY_SECRET, REPO_ROOT
from tinyproxy_server import Tinyproxy, find_tinyproxy

from airflow_provider_hadoop_eco.emulator import Emulator

PROXY_ENV_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(scope="session")
def tinyproxy_binary() -> str:
    """The tinyproxy executable; ``scripts/install-system-packages.sh tinyproxy`` installs it when missing."""
    binary = find_tinyproxy()
    if binary is None:
        script = REPO_ROOT / "scripts" / "install-system-packages.sh"
        result = subprocess.run(
            [str(script), "tinyproxy"], capture_output=True, text=True, timeout=600, check=False
        )
        binary = find_tinyproxy()
        if binary is None:
            message = f"tinyproxy is missing and {script.name} tinyproxy failed: {result.stderr[-2000:]}"
            if os.environ.get("HADOOP_ECO_REQUIRE_ALL") == "1":
                pytest.fail(message)
            pytest.skip(message)
    return binary


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable leaks in from the machine: the tests that want them set them."""
    for name in PROXY_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(autouse=True)
def _fast(fast_retries: Any) -> None:
    """Hooks back off for milliseconds."""


def _cluster() -> dict[str, Any]:
    return {
        "cluster_id": CLUSTER_ID,
        "name": "proxied-etl",
        "credential_id": ACCESS_KEY_ID,
        "credential_secret": CANARY_SECRET,
        "api_key": CANARY_API_KEY,
    }


@pytest.fixture
def emulators() -> Iterator[dict[str, Emulator]]:
    """A plain-http and an https emulator (canary credentials, manual clock), stopped after."""
    plain = Emulator(manual_clock=True, clusters=[_cluster()])
    tls = Emulator(manual_clock=True, clusters=[_cluster()], tls=True)
    with plain, tls:
        yield {"http": plain, "https": tls}


@pytest.fixture(params=["http", "https"])
def scheme(request: pytest.FixtureRequest) -> str:
    """The protocol of the API behind the proxy: plain http (forwarded) or https (CONNECT tunnel)."""
    return str(request.param)


@pytest.fixture
def emu(emulators: dict[str, Emulator], scheme: str) -> Emulator:
    """The emulator of this test's protocol."""
    return emulators[scheme]


@pytest.fixture
def make_proxy(
    tinyproxy_binary: str, tmp_path: Path, emulators: dict[str, Emulator]
) -> Iterator[Callable[..., Tinyproxy]]:
    """Factory of started tinyproxies (CONNECT allowed to the https emulator only); all stopped by PID after."""
    started: list[Tinyproxy] = []

    def make(basic_auth: tuple[str, str] | None = None) -> Tinyproxy:
        folder = tmp_path / f"tinyproxy-{len(started)}"
        folder.mkdir()
        proxy = Tinyproxy(
            tinyproxy_binary, folder, connect_ports=(emulators["https"].port,), basic_auth=basic_auth
        )
        started.append(proxy)
        return proxy.start()

    yield make
    for proxy in started:
        proxy.stop()


@pytest.fixture
def proxy(make_proxy: Callable[..., Tinyproxy]) -> Tinyproxy:
    """A started tinyproxy without authentication."""
    return make_proxy()


@pytest.fixture
def use_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """``use_connection(emu, **extra)``: point ``hadoop_eco_default`` at ``emu`` with these extras."""

    def use(emulator: Emulator, **extra: Any) -> dict[str, Any]:
        conn = emulator.conn_dict()
        conn["extra"].update(extra)
        monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", json.dumps(conn))
        return conn

    return use
