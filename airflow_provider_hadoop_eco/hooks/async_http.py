"""Process-wide async plumbing for the triggerer: one HTTP pool and one credentials cache per event loop.

A triggerer runs thousands of triggers in one event loop. Giving each its own ``aiohttp.ClientSession``
(new pool, new TCP and TLS handshakes per poll) costs far more CPU and memory than the polls themselves,
so all triggers of a loop share one session here. Imported only by async code paths: importing it loads
aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

import aiohttp

if TYPE_CHECKING:
    from airflow_provider_hadoop_eco.hooks.base import HadoopEcoCredentials

T = TypeVar("T")

#: Most TCP connections the shared pool opens to the API at once; further requests queue for a free one.
POOL_SIZE = 100
#: How long a credentials lookup is reused by other triggers of the same connection, in seconds.
CREDENTIALS_TTL_SECONDS = 60.0

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)


def shared_session() -> aiohttp.ClientSession:
    """The pooled session of the running event loop, created on first use."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(limit=POOL_SIZE, ttl_dns_cache=300, keepalive_timeout=30)
        # trust_env=False: proxies and ~/.netrc must not silently receive the credentials headers.
        session = aiohttp.ClientSession(connector=connector, trust_env=False, raise_for_status=False)
        _sessions[loop] = session
    return session


_users: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def shared_session_lease() -> AsyncIterator[None]:
    """Hold the loop's shared session open while a trigger runs; the last one out closes it.

    A long-lived triggerer keeps its pool while any trigger runs; a short-lived loop (``airflow dags test``
    runs each trigger in its own) ends without an unclosed session.
    """
    loop = asyncio.get_running_loop()
    _users[loop] = _users.get(loop, 0) + 1
    try:
        yield
    finally:
        _users[loop] -= 1
        if _users[loop] == 0:
            await close_shared_session()


async def close_shared_session() -> None:
    """Close the running loop's shared session (tests and benchmarks call this before the loop ends)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None and not session.closed:
        await session.close()


@lru_cache(maxsize=8)
def _ssl_context(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def ssl_option(verify: bool | str) -> bool | ssl.SSLContext:
    """Translate the connection's ``verify`` (True, False or a CA bundle path) for aiohttp."""
    if isinstance(verify, str):
        return _ssl_context(verify)
    return bool(verify)


class CredentialsCache:
    """Short-lived cache of credentials per connection id, with one lookup in flight per id."""

    def __init__(self, ttl: float = CREDENTIALS_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, HadoopEcoCredentials]] = {}
        self._inflight: dict[str, asyncio.Future[HadoopEcoCredentials]] = {}

    async def get(
        self, conn_id: str, load: Callable[[], HadoopEcoCredentials], *, refresh: bool = False
    ) -> HadoopEcoCredentials:
        """Return cached credentials, or run ``load`` in a worker thread (once, however many ask)."""
        entry = self._entries.get(conn_id)
        if entry and not refresh and time.monotonic() - entry[0] < self.ttl:
            return entry[1]
        task = self._inflight.get(conn_id)
        if task is None:
            # A task of its own, so a trigger cancelled mid-lookup does not cancel it for the others.
            task = asyncio.ensure_future(self._load(conn_id, load))
            self._inflight[conn_id] = task
            task.add_done_callback(lambda _: self._inflight.pop(conn_id, None))
        return await asyncio.shield(task)

    async def _load(self, conn_id: str, load: Callable[[], HadoopEcoCredentials]) -> HadoopEcoCredentials:
        from asgiref.sync import sync_to_async

        credentials = await sync_to_async(load)()
        self._entries[conn_id] = (time.monotonic(), credentials)
        return credentials


_caches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CredentialsCache] = weakref.WeakKeyDictionary()


def credentials_cache() -> CredentialsCache:
    """The credentials cache of the running event loop."""
    loop = asyncio.get_running_loop()
    cache = _caches.get(loop)
    if cache is None:
        cache = _caches[loop] = CredentialsCache()
    return cache
