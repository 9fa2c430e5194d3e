from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_hadoop_eco.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_CREDENTIAL_ID,
    DEFAULT_CREDENTIAL_SECRET,
    Emulator,
)

#: The emulator's command line, as a user runs it.
EMULATOR_CLI = [sys.executable, "-m", "airflow_provider_hadoop_eco.emulator"]

HEADERS = {
    "Credential-ID": DEFAULT_CREDENTIAL_ID,
    "Credential-Secret": DEFAULT_CREDENTIAL_SECRET,
    "Hadoop-Eco-Api-Key": DEFAULT_API_KEY,
    "Content-Type": "application/json",
}


class Api:
    """Tiny requests-based client for the emulator (deliberately independent of the provider's hook)."""

    def __init__(
        self,
        emulator: Emulator,
        cluster_id: str | None = None,
        headers: dict[str, str] | None = None,
        dialect: str = "v1",
    ):
        self.emu = emulator
        self.cluster_id = cluster_id or emulator.cluster_id
        self.headers = dict(HEADERS if headers is None else headers)
        self.dialect = dialect
        self.session = requests.Session()

    def post_url(self, cluster_id: str | None = None) -> str:
        # Spelled out rather than taken from the emulator's contract module, so a typo there fails here.
        prefix = {"v1": "/hadoop-eco/v1/cluster/", "v2": "/v2/hadoop-eco/clusters/"}[self.dialect]
        return f"{self.emu.url}{prefix}{cluster_id or self.cluster_id}"

    def get_url(self, request_id: str, cluster_id: str | None = None) -> str:
        return f"{self.post_url(cluster_id)}/request-id/{request_id}"

    def post(self, body: Any = None, *, data: Any = None, headers: dict | None = None, cluster_id=None, **kw):
        kw.setdefault("timeout", 10)
        if data is None and body is not None:
            kw["json"] = body
        return self.session.post(
            self.post_url(cluster_id), data=data, headers=self.headers if headers is None else headers, **kw
        )

    def get(
        self, request_id: str, *, verbose: Any = None, headers: dict | None = None, cluster_id=None, **kw
    ):
        kw.setdefault("timeout", 10)
        params = {} if verbose is None else {"verbose": verbose}
        return self.session.get(
            self.get_url(request_id, cluster_id),
            params=params,
            headers=self.headers if headers is None else headers,
            **kw,
        )

    def start(self, body: Any = None, **kw) -> str:
        r = self.post(body if body is not None else {}, **kw)
        assert r.status_code == 200, r.text
        return r.json()["requestId"]

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A manual-clock emulator with the default cluster."""
    with Emulator(manual_clock=True) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> Iterator[Api]:
    client = Api(emu)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def headers() -> dict[str, str]:
    """The default cluster's valid authentication headers (a fresh copy)."""
    return dict(HEADERS)


@pytest.fixture
def make_api(emu: Emulator):
    """Factory: ``make_api(cluster_id=None, headers=None, emulator=None, dialect="v1")`` -> Api (closed after)."""
    clients: list[Api] = []

    def make(
        cluster_id: str | None = None,
        headers: dict[str, str] | None = None,
        emulator: Emulator | None = None,
        dialect: str = "v1",
    ):
        client = Api(emulator or emu, cluster_id=cluster_id, headers=headers, dialect=dialect)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start emulator CLI subprocesses; each is killed by PID at teardown if still running."""
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [*EMULATOR_CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def wait_ready() -> Callable[..., dict]:
    """Wait for a spawned emulator's ``--ready-file`` and return what it says; fail if the emulator exits."""

    def wait(path: Path, proc: subprocess.Popen, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists():
                return json.loads(path.read_text())
            if proc.poll() is not None:
                raise AssertionError(f"emulator exited early with {proc.returncode}: {proc.communicate()}")
            time.sleep(0.05)
        raise AssertionError("ready file never appeared")

    return wait
