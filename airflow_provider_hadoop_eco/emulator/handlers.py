"""The aiohttp handlers of the emulated API (both calls, both dialects, faults applied) and of unknown paths.

Handlers are module-level and find the :class:`~.state.EmulatorState` in ``request.app[STATE_KEY]``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from airflow_provider_hadoop_eco.emulator.contract import UNSET, dialect_of_template, error_body
from airflow_provider_hadoop_eco.emulator.faults import FaultAnswer, fault_answer
from airflow_provider_hadoop_eco.emulator.state import EmulatorState

STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("hadoop_eco_emulator_state", EmulatorState)


def dumps(obj: Any) -> bytes:
    """Compact JSON, as bytes."""
    return json.dumps(obj, separators=(",", ":")).encode()


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response (``Content-Type: application/json`` without a charset, like the real API)."""
    return web.Response(body=dumps(payload), status=status, content_type="application/json", headers=headers)


def _process(state: EmulatorState, request: web.Request, raw_body: bytes) -> tuple[int, dict[str, Any]]:
    h = request.headers
    cluster_id = request.match_info["cluster_id"]
    if request.method == "POST":
        return state.handle_post(
            cluster_id,
            h.get("Credential-ID"),
            h.get("Credential-Secret"),
            h.get("Hadoop-Eco-Api-Key"),
            raw_body,
        )
    return state.handle_get(
        cluster_id,
        request.match_info["request_id"],
        h.get("Credential-ID"),
        h.get("Credential-Secret"),
        h.get("Hadoop-Eco-Api-Key"),
        request.query.get("verbose"),
    )


def _response(answer: FaultAnswer) -> web.Response:
    if answer.payload is not UNSET:
        return json_response(answer.status, answer.payload, headers=answer.headers)
    if answer.text is not None:
        return web.Response(
            text=answer.text, status=answer.status, content_type=answer.content_type, headers=answer.headers
        )
    return web.Response(status=answer.status, headers=answer.headers)


def _peer(request: web.BaseRequest) -> str | None:
    """``host:port`` of the client end of the request's TCP connection (one value per connection)."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if not peer:
        return None
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _dialect(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return dialect_of_template(resource.canonical if resource is not None else None)


async def api_handler(request: web.Request) -> web.StreamResponse:
    """Both API calls: take a pending fault if one matches, else answer from the state; record the request.

    A request on a dialect the state does not serve gets a JSON 404 (recorded, with its dialect).
    """
    state = request.app[STATE_KEY]
    raw_body = await request.read() if request.body_exists else b""
    cluster_id = request.match_info["cluster_id"]
    dialect = _dialect(request)
    peer = _peer(request)

    def record(status: int | None, fault: str | None = None) -> None:
        state.record(
            request.method, request.path, request.query, request.headers.items(), raw_body, status,
            fault=fault, cluster_id=cluster_id, dialect=dialect, peer=peer,
        )  # fmt: skip

    if dialect not in state.dialects:
        # Before faults: a path the server does not have cannot misbehave either.
        record(404)
        message = (
            f"no such endpoint: {request.method} {request.path} "
            f"(dialect {dialect} is switched off; this emulator serves {', '.join(state.dialects)})"
        )
        return json_response(404, error_body(404, message))
    fault = state.take_fault(cluster_id, request.method)
    if fault is None:
        status, payload = _process(state, request, raw_body)
        if state.record_enabled:
            record(status)
        return json_response(status, payload)
    # The job is started (and the answer computed) before the fault takes effect.
    processed = _process(state, request, raw_body) if fault.needs_processing else None
    answer = fault_answer(fault, processed, cluster_id)
    if answer.drop:
        transport = request.transport
        if transport is not None:
            transport.abort()
        record(None, fault.kind)
        # The transport is already aborted; returning a response here would only log a write error.
        raise asyncio.CancelledError
    if answer.delay:
        await asyncio.sleep(answer.delay)
    response = _response(answer)
    record(response.status, fault.kind)
    return response


async def not_found(request: web.Request) -> web.Response:
    """Any other path or method: a JSON 404, recorded like API requests."""
    state = request.app[STATE_KEY]
    raw_body = await request.read() if request.body_exists else b""
    state.record(
        request.method, request.path, request.query, request.headers.items(), raw_body, 404,
        peer=_peer(request),
    )  # fmt: skip
    return json_response(404, error_body(404, f"no such endpoint: {request.method} {request.path}"))
