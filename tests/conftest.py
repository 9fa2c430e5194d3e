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


# --- Programmable fakes (plain HTTP and HTTPS) for the review regression tests ----------------------------


@dataclass
class ProgrammableApi:
    """A real HTTP(S) server on 127.0.0.1 whose answers come from a Python function (or a script).

    ``handler(request) -> (status, headers, body)`` decides each answer; it runs in the server's thread, so
    it may also change the world (an environment variable, say) at the moment a request arrives. Without a
    handler, queued answers (:meth:`add`) are used first, then a default: a create answer for a POST and a
    ``Terminate``/``Success`` status of the asked request for a GET.

    ``connections`` counts accepted TCP connections (for TLS, each one is a handshake attempt).
    """

    url: str = ""
    port: int = 0
    ca_path: str = ""
    requests: list[Recorded] = field(default_factory=list)
    responses: deque = field(default_factory=deque)
    handler: Any = None
    connections: int = 0

    def add(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None, raw=None):
        if raw is None:
            raw = json.dumps(body if body is not None else {}).encode()
        self.responses.append((status, headers or {"Content-Type": "application/json"}, raw))
        return self

    def url_for(self, host: str) -> str:
        scheme = self.url.split("://", 1)[0]
        return f"{scheme}://{host}:{self.port}"

    def conn_json(self, host: str | None = None, **extra: Any) -> str:
        return conn_json(self.url_for(host) if host else self.url, **extra)

    def answer(self, request: Recorded) -> tuple[int, dict[str, str], bytes]:
        if self.handler is not None:
            return self.handler(request)
        if self.responses:
            return self.responses.popleft()
        return default_answer(request)


def default_answer(request: Recorded) -> tuple[int, dict[str, str], bytes]:
    """A create answer for a POST; a finished, successful status of the asked request for a GET."""
    parts = request.path.split("?", 1)[0].strip("/").split("/")
    cluster_id = parts[3] if len(parts) > 3 else "c-1"
    if request.method == "POST":
        body: dict[str, Any] = {
            "clusterId": cluster_id,
            "clusterName": "etl",
            "requestId": "req-1",
            "clusterMainSettingValues": {},
        }
    else:
        body = {
            "clusterId": cluster_id,
            "clusterName": "etl",
            "requestId": parts[-1] if len(parts) > 5 else "req-1",
            "requestStatus": "Terminate",
            "requestResult": "Success",
        }
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _serve_programmable(api: ProgrammableApi, ssl_context: Any = None) -> Iterator[ProgrammableApi]:
    """Serve ``api`` from an aiohttp low-level server in a thread with its own event loop."""
    import asyncio

    from aiohttp import web

    async def handle(request: web.BaseRequest) -> web.Response:
        body = await request.read()
        recorded = Recorded(request.method, request.path_qs, dict(request.headers.items()), body)
        api.requests.append(recorded)
        status, headers, raw = api.answer(recorded)
        return web.Response(status=status, headers=headers, body=raw)

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        server = web.Server(handle, access_log=None)

        def factory() -> Any:
            api.connections += 1
            return server()

        holder["server"] = await loop.create_server(factory, "127.0.0.1", 0, ssl=ssl_context)
        holder["web"] = server

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        finally:
            ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="programmable-api", daemon=True)
    thread.start()
    ready.wait(10)
    api.port = holder["server"].sockets[0].getsockname()[1]
    api.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{api.port}"
    try:
        yield api
    finally:

        async def stop() -> None:
            holder["server"].close()
            await holder["web"].shutdown(1.0)
            await holder["server"].wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def programmable_api() -> Iterator[ProgrammableApi]:
    """A plain-HTTP :class:`ProgrammableApi` on 127.0.0.1 (also reachable as ``localhost``)."""
    yield from _serve_programmable(ProgrammableApi())


@pytest.fixture
def tls_api(tmp_path: Path) -> Iterator[ProgrammableApi]:
    """An HTTPS :class:`ProgrammableApi` on 127.0.0.1 with a throwaway self-signed certificate.

    ``ca_path`` is the certificate (its own CA); ``connections`` counts TCP connections accepted, so a
    client that retries a failed TLS handshake shows up as more than one.
    """
    from airflow_provider_hadoop_eco.emulator.tls import make_certificate

    files = make_certificate(tmp_path)
    yield from _serve_programmable(ProgrammableApi(ca_path=str(files.cert_path)), files.server_context())
