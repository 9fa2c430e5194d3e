"""Helpers of the review regression tests (tests/regressions)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

from tests_support import CANARY_API_KEY, CANARY_SECRET
from tests_support import status_body as status

JSON = {"Content-Type": "application/json"}
CLUSTER = "c-1"
CREATED = {"clusterId": CLUSTER, "clusterName": "etl", "requestId": "req-1", "clusterMainSettingValues": {}}


def answer(status_code: int = 200, body: Any = None, headers: dict[str, str] | None = None, raw=None):
    if raw is None:
        raw = json.dumps(body if body is not None else {}).encode()
    return status_code, {**JSON, **(headers or {})}, raw


class ByMethod:
    """A handler for :class:`ProgrammableApi`: separate scripts for POST and GET, each with a default.

    ``gets`` and ``posts`` are answers ``(status, headers, raw)``; when a script runs out, its default is used.
    """

    def __init__(
        self,
        posts: Iterable[tuple] = (),
        gets: Iterable[tuple] = (),
        post_default: tuple | None = None,
        get_default: tuple | None = None,
    ) -> None:
        self.posts = deque(posts)
        self.gets = deque(gets)
        self.post_default = post_default or answer(200, CREATED)
        self.get_default = get_default or answer(200, status("Success", "Terminate"))

    def __call__(self, request: Any) -> tuple:
        if request.method == "POST":
            return self.posts.popleft() if self.posts else self.post_default
        return echo_request_id(request, self.gets.popleft() if self.gets else self.get_default)


def echo_request_id(request: Any, reply: tuple) -> tuple:
    """A status answer about the request id the GET asked for (scripts then fit any request id)."""
    code, headers, raw = reply
    path = request.path.split("?", 1)[0]
    if "/request-id/" not in path:
        return reply
    try:
        body = json.loads(raw)
    except ValueError:
        return reply
    if isinstance(body, dict) and isinstance(body.get("requestId"), str):
        body["requestId"] = path.rsplit("/", 1)[-1]
        raw = json.dumps(body).encode()
    return code, headers, raw


def run_trigger_events(trigger: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
    """All events of a trigger run in a fresh loop, bounded by ``timeout`` seconds; the shared session closed.

    The one place that knows how the provider's shared HTTP session is closed today.
    """

    async def go() -> list[dict[str, Any]]:
        try:
            return await asyncio.wait_for(_collect(trigger), timeout)
        finally:
            await close_shared_session()

    return asyncio.run(go())


async def _collect(trigger: Any) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


async def close_shared_session() -> None:
    try:
        from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session as close
    except ImportError:  # the session handling moved: nothing to close from here
        return
    await close()


def run_one_event(trigger: Any, timeout: float = 15.0) -> dict[str, Any]:
    events = run_trigger_events(trigger, timeout)
    assert len(events) == 1, events
    return events[0]


def arun(coro: Any, timeout: float = 15.0) -> Any:
    """Run a coroutine in a fresh loop, bounded, closing the shared session afterwards."""

    async def go() -> Any:
        try:
            return await asyncio.wait_for(coro, timeout)
        finally:
            await close_shared_session()

    return asyncio.run(go())


def secret_fragments(*values: str) -> list[str]:
    """Texts that must never appear: each secret, its repr, and its halves (a split value is still a leak)."""
    out: list[str] = []
    for value in values:
        out += [value, repr(value), repr(value)[1:-1], value[: len(value) // 2 + 1], value[len(value) // 2 :]]
    return [f for f in out if len(f) >= 6]


CANARY_FRAGMENTS = secret_fragments(CANARY_SECRET, CANARY_API_KEY)


def assert_no_secret(texts: Iterable[str], fragments: Iterable[str] = CANARY_FRAGMENTS) -> None:
    fragments = list(fragments)
    for text in texts:
        for fragment in fragments:
            assert fragment not in text, f"secret fragment {fragment[:10]!r}... leaked in: {text[:500]}"


def log_texts(caplog: Any) -> list[str]:
    """Every captured log record as text: the formatted message, the raw args and any exception text."""
    texts = []
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(repr(record.exc_info[1]))
            texts.append(str(record.exc_info[1]))
        if record.exc_text:
            texts.append(record.exc_text)
    texts.append(caplog.text)
    return texts


def airflow_version() -> tuple[int, int]:
    import airflow

    return tuple(int(x) for x in airflow.__version__.split(".")[:2])  # type: ignore[return-value]


def debug_logs(caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
