"""The ``/_emulator`` admin API: inspect and script the emulator over HTTP (no auth; loopback only)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from airflow_provider_hadoop_eco.emulator.contract import error_body
from airflow_provider_hadoop_eco.emulator.faults import Fault
from airflow_provider_hadoop_eco.emulator.handlers import STATE_KEY, dumps, json_response


async def _json_body(request: web.Request) -> Any:
    if not request.body_exists:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=dumps(error_body(400, f"invalid JSON: {exc}")).decode(), content_type="application/json"
        ) from None


def _bad(message: str) -> web.Response:
    return json_response(400, error_body(400, message))


async def health(request: web.Request) -> web.Response:
    """``GET /_emulator/health``."""
    state = request.app[STATE_KEY]
    return json_response(200, {"status": "ok", "now": state.now(), "clusters": len(state.clusters)})


async def list_requests(request: web.Request) -> web.Response:
    """``GET /_emulator/requests?method=&cluster_id=&dialect=&limit=``."""
    state = request.app[STATE_KEY]
    q = request.query
    items = state.requests(method=q.get("method"), cluster_id=q.get("cluster_id"), dialect=q.get("dialect"))
    if "limit" in q:
        try:
            limit = int(q["limit"])
        except ValueError:
            return _bad("limit must be an integer")
        items = items[-limit:] if limit > 0 else []
    return json_response(200, items)


async def clear_requests(request: web.Request) -> web.Response:
    """``DELETE /_emulator/requests``."""
    request.app[STATE_KEY].clear_records()
    return json_response(200, {"cleared": True})


async def add_clusters(request: web.Request) -> web.Response:
    """``POST /_emulator/clusters``: one cluster object or a list."""
    state = request.app[STATE_KEY]
    data = await _json_body(request)
    items = data if isinstance(data, list) else [data]
    try:
        configs = [state.add_cluster(item) for item in items]
    except (TypeError, ValueError) as exc:
        return _bad(str(exc))
    return json_response(201, {"clusters": [c.public_dict() for c in configs]})


async def add_faults(request: web.Request) -> web.Response:
    """``POST /_emulator/faults``: one fault object or a list; none is added unless all are valid."""
    state = request.app[STATE_KEY]
    data = await _json_body(request)
    items = data if isinstance(data, list) else [data]
    try:
        faults = [Fault.from_dict(item) for item in items]
    except (TypeError, ValueError) as exc:
        return _bad(str(exc))
    for fault in faults:
        state.add_fault(fault)
    return json_response(201, {"faults": [f.to_dict() for f in faults]})


async def list_faults(request: web.Request) -> web.Response:
    """``GET /_emulator/faults``."""
    state = request.app[STATE_KEY]
    with state.lock:
        return json_response(200, [f.to_dict() for f in state.faults])


async def clear_faults(request: web.Request) -> web.Response:
    """``DELETE /_emulator/faults``."""
    request.app[STATE_KEY].clear_faults()
    return json_response(200, {"cleared": True})


async def advance(request: web.Request) -> web.Response:
    """``POST /_emulator/advance`` with ``{"seconds": N}``."""
    state = request.app[STATE_KEY]
    data = await _json_body(request)
    seconds = data.get("seconds") if isinstance(data, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return _bad('body must be {"seconds": <number>}')
    try:
        now = state.advance(seconds)
    except ValueError as exc:
        return _bad(str(exc))
    return json_response(200, {"now": now})


async def reset(request: web.Request) -> web.Response:
    """``POST /_emulator/reset``."""
    request.app[STATE_KEY].reset()
    return json_response(200, {"reset": True})


async def get_state(request: web.Request) -> web.Response:
    """``GET /_emulator/state``."""
    return json_response(200, request.app[STATE_KEY].snapshot())
