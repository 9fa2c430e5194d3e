"""The aiohttp app of the Hadoop Eco API emulator: the API, fault injection, the ``/_emulator`` admin API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from airflow_provider_hadoop_eco.emulator.state import (
    _UNSET,
    API_PREFIX,
    EmulatorState,
    Fault,
    error_body,
)

STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("hadoop_eco_emulator_state", EmulatorState)

_HTML_PAGE = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>emulated-proxy</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_dumps(payload), status=status, content_type="application/json", headers=headers)


def _reason(code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


class _Dropped(Exception):
    """Marker: the connection was dropped on purpose."""


def create_app(state: EmulatorState | None = None) -> web.Application:
    """Build the emulator's ``aiohttp.web.Application`` around ``state`` (a new default state if omitted)."""
    state = state if state is not None else EmulatorState()
    app = web.Application(client_max_size=1024 * 1024)
    app[STATE_KEY] = state

    def _process(request: web.Request, raw_body: bytes) -> tuple[int, dict[str, Any]]:
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

    async def _apply_fault(request: web.Request, raw_body: bytes, fault: Fault) -> web.Response:
        kind = fault.kind
        processed: tuple[int, dict[str, Any]] | None = None
        if kind in ("slow", "unknown_status") or fault.process:
            processed = _process(request, raw_body)  # the job is started before the fault takes effect
        if kind == "slow":
            await asyncio.sleep(fault.delay)
            assert processed is not None
            return _json_response(*processed)
        if kind == "drop":
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise _Dropped
        if kind == "status":
            code = int(fault.code or 500)
            if fault.body is not None:
                text = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
                return web.Response(
                    text=text, status=code, content_type=fault.content_type or "application/json"
                )
            if fault.html:
                page = _HTML_PAGE.format(code=code, reason=_reason(code))
                return web.Response(text=page, status=code, content_type="text/html")
            return _json_response(code, error_body(code, f"emulated fault: {code} {_reason(code)}"))
        if kind == "rate_limit":
            retry_after = fault.retry_after
            value = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
            return _json_response(429, error_body(429, "Too Many Requests"), headers={"Retry-After": value})
        if kind == "malformed_json":
            if fault.body is not None:
                text = str(fault.body)
            elif processed is not None:
                full = _dumps(processed[1]).decode()
                text = full[: max(1, len(full) // 2)]
            else:
                cid = request.match_info.get("cluster_id", "")
                text = '{"clusterId":"' + cid + '","requestStatus":"Runn'
            return web.Response(text=text, status=200, content_type=fault.content_type or "application/json")
        if kind == "unknown_status":
            assert processed is not None
            status, payload = processed
            if status == 200 and isinstance(payload, dict):
                payload = dict(payload)
                if fault.request_status is not _UNSET:
                    payload["requestStatus"] = fault.request_status
                if fault.request_result is not _UNSET:
                    payload["requestResult"] = fault.request_result
            return _json_response(status, payload)
        if kind == "redirect":
            return web.Response(status=int(fault.code or 302), headers={"Location": str(fault.location)})
        if kind == "body":
            text = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
            return web.Response(
                text=text,
                status=int(fault.code or 200),
                content_type=fault.content_type or "application/json",
            )
        raise AssertionError(f"unhandled fault kind {kind}")  # pragma: no cover

    async def api_handler(request: web.Request) -> web.StreamResponse:
        raw_body = await request.read() if request.body_exists else b""
        cluster_id = request.match_info["cluster_id"]
        fault = state.take_fault(cluster_id, request.method)
        if fault is None:
            status, payload = _process(request, raw_body)
            if state.record_enabled:
                state.record(
                    request.method, request.path, request.query, request.headers.items(), raw_body, status,
                    cluster_id=cluster_id,
                )  # fmt: skip
            return _json_response(status, payload)
        try:
            response = await _apply_fault(request, raw_body, fault)
        except _Dropped:
            state.record(
                request.method, request.path, request.query, request.headers.items(), raw_body, None,
                fault="drop", cluster_id=cluster_id,
            )  # fmt: skip
            # The transport is already aborted; returning a response here would only log a write error.
            raise asyncio.CancelledError from None
        state.record(
            request.method, request.path, request.query, request.headers.items(), raw_body, response.status,
            fault=fault.kind, cluster_id=cluster_id,
        )  # fmt: skip
        return response

    async def not_found(request: web.Request) -> web.Response:
        raw_body = await request.read() if request.body_exists else b""
        state.record(request.method, request.path, request.query, request.headers.items(), raw_body, 404)
        return _json_response(404, error_body(404, f"no such endpoint: {request.method} {request.path}"))

    # ---------------------------------------------------------------- admin API (no auth; loopback only)
    async def _admin_json(request: web.Request) -> Any:
        if not request.body_exists:
            return {}
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise web.HTTPBadRequest(
                text=_dumps(error_body(400, f"invalid JSON: {exc}")).decode(), content_type="application/json"
            ) from None

    def _bad(message: str) -> web.Response:
        return _json_response(400, error_body(400, message))

    async def health(request: web.Request) -> web.Response:
        return _json_response(200, {"status": "ok", "now": state.now(), "clusters": len(state.clusters)})

    async def list_requests(request: web.Request) -> web.Response:
        q = request.query
        items = state.requests(method=q.get("method"), cluster_id=q.get("cluster_id"))
        if "limit" in q:
            try:
                limit = int(q["limit"])
            except ValueError:
                return _bad("limit must be an integer")
            items = items[-limit:] if limit > 0 else []
        return _json_response(200, items)

    async def clear_requests(request: web.Request) -> web.Response:
        state.clear_records()
        return _json_response(200, {"cleared": True})

    async def add_clusters(request: web.Request) -> web.Response:
        data = await _admin_json(request)
        items = data if isinstance(data, list) else [data]
        try:
            configs = [state.add_cluster(item) for item in items]
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return _json_response(201, {"clusters": [c.public_dict() for c in configs]})

    async def add_faults(request: web.Request) -> web.Response:
        data = await _admin_json(request)
        items = data if isinstance(data, list) else [data]
        try:
            faults = [Fault.from_dict(item) for item in items]
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        for fault in faults:
            state.add_fault(fault)
        return _json_response(201, {"faults": [f.to_dict() for f in faults]})

    async def list_faults(request: web.Request) -> web.Response:
        with state.lock:
            return _json_response(200, [f.to_dict() for f in state.faults])

    async def clear_faults(request: web.Request) -> web.Response:
        state.clear_faults()
        return _json_response(200, {"cleared": True})

    async def advance(request: web.Request) -> web.Response:
        data = await _admin_json(request)
        seconds = data.get("seconds") if isinstance(data, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            return _bad('body must be {"seconds": <number>}')
        try:
            now = state.advance(seconds)
        except ValueError as exc:
            return _bad(str(exc))
        return _json_response(200, {"now": now})

    async def reset(request: web.Request) -> web.Response:
        state.reset()
        return _json_response(200, {"reset": True})

    async def get_state(request: web.Request) -> web.Response:
        return _json_response(200, state.snapshot())

    r = app.router
    r.add_get("/_emulator/health", health)
    r.add_get("/_emulator/requests", list_requests)
    r.add_delete("/_emulator/requests", clear_requests)
    r.add_post("/_emulator/clusters", add_clusters)
    r.add_get("/_emulator/faults", list_faults)
    r.add_post("/_emulator/faults", add_faults)
    r.add_delete("/_emulator/faults", clear_faults)
    r.add_post("/_emulator/advance", advance)
    r.add_post("/_emulator/reset", reset)
    r.add_get("/_emulator/state", get_state)
    r.add_post(API_PREFIX + "/{cluster_id}", api_handler)
    r.add_get(API_PREFIX + "/{cluster_id}/request-id/{request_id}", api_handler)
    r.add_route("*", "/{tail:.*}", not_found)
    return app
