"""Shared fixtures: an isolated AIRFLOW_HOME, canary credentials, and a scripted local HTTP fake."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# Airflow reads its home at import time: point it at a throwaway folder before anything imports airflow.
_HOME = Path(tempfile.mkdtemp(prefix="hadoop-eco-test-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from tests_support import ACCESS_KEY_ID, CANARY_API_KEY, CANARY_SECRET, conn_json  # noqa: E402,F401


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedApi:
    """A real HTTP server on 127.0.0.1 that answers from a script: a local fake for narrow tests."""

    url: str
    responses: deque = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    default: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")

    def add(
        self,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ):
        if raw is None:
            raw = json.dumps(body if body is not None else {}).encode()
        self.responses.append((status, headers or {"Content-Type": "application/json"}, raw))
        return self

    def add_drop(self):
        self.responses.append(("drop", {}, b""))
        return self


@pytest.fixture
def scripted_api() -> Iterator[ScriptedApi]:
    api = ScriptedApi(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without NODELAY each answer waits for a delayed ACK.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            api.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
            status, headers, raw = api.responses.popleft() if api.responses else api.default
            if status == "drop":
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def hadoop_eco_conn(monkeypatch: pytest.MonkeyPatch, scripted_api: ScriptedApi) -> ScriptedApi:
    """``hadoop_eco_default`` pointed at the scripted fake, with canary credentials."""
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", conn_json(scripted_api.url))
    return scripted_api


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch):
    """Hooks built during the test back off for milliseconds, not seconds; call it to set more defaults."""
    from airflow_provider_hadoop_eco.hooks import hadoop_eco

    def apply(**defaults: Any) -> None:
        original = hadoop_eco.HadoopEcoHook.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            for key, value in {"retry_delay": 0.01, "retry_max_delay": 0.05, **defaults}.items():
                kwargs.setdefault(key, value)
            original(self, *args, **kwargs)

        monkeypatch.setattr(hadoop_eco.HadoopEcoHook, "__init__", init)

    apply()
    return apply


@pytest.fixture
def emulator(hadoop_eco_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator fixture with ``hadoop_eco_default`` pointed at it."""
    for name, value in hadoop_eco_emulator.conn_env("hadoop_eco_default").items():
        monkeypatch.setenv(name, value)
    return hadoop_eco_emulator
