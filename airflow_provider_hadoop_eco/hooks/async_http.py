"""Loop-wide async plumbing: one HTTP pool and one credentials cache per event loop, and TLS contexts.

A triggerer runs thousands of triggers in one event loop. Giving each its own ``aiohttp.ClientSession``
(new pool, new TCP and TLS handshakes per poll) costs far more CPU and memory than the polls themselves,
so all triggers of a loop share one session here. Importing this module loads aiohttp: only async code
paths do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from airflow_provider_hadoop_eco.hooks.connection import HadoopEcoCredentials

#: Most TCP connections the shared pool opens to the API at once; further requests queue for a free one.
POOL_SIZE = 100
#: How long a credentials lookup is reused by other triggers of the same connection, in seconds.
CREDENTIALS_TTL_SECONDS = 60.0

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)
_users: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()


def shared_session() -> aiohttp.ClientSession:
    """The pooled session of the running event loop, created on first use."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(limit=POOL_SIZE, ttl_dns_cache=300, keepalive_timeout=30)
        session = aiohttp.ClientSession(
            connector=connector,
            # Proxies and ~/.netrc come from the connection only, never silently from the environment.
            trust_env=False,
            # The session is shared by every connection of the loop: a cookie one API answer sets must
            # never travel with another connection's credentials, so no cookie is kept at all.
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )
        _sessions[loop] = session
    return session


@contextlib.asynccontextmanager
async def shared_session_lease() -> AsyncIterator[aiohttp.ClientSession]:
    """Hold the loop's shared session open; the last holder out closes it.

    A trigger holds a lease for its whole run, and every call holds one too: in a long-lived triggerer the
    pool stays open while any trigger runs, and a call made outside any trigger (a short-lived loop, a
    script) leaves no unclosed session behind and no reference to its loop.
    """
    loop = asyncio.get_running_loop()
    _users[loop] = _users.get(loop, 0) + 1
    try:
        yield shared_session()
    finally:
        _users[loop] -= 1
        if _users[loop] == 0:
            del _users[loop]
            await close_shared_session()


async def close_shared_session() -> None:
    """Close the running loop's shared session (tests and benchmarks call this before the loop ends)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None and not session.closed:
        await session.close()


@lru_cache(maxsize=16)
def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    if os.path.isdir(ca_bundle):
        return ssl.create_default_context(capath=ca_bundle)
    return ssl.create_default_context(cafile=ca_bundle)


def ssl_option(verify: bool | str) -> bool | ssl.SSLContext:
    """The connection's ``verify`` for aiohttp, trusting the same certificates as the sync transport.

    ``requests`` verifies against certifi's bundle, so the default here is certifi's bundle too, not the
    system store: a worker and a triggerer must never disagree about a certificate.
    """
    if verify is False:
        return False
    if verify is True:
        import certifi

        return _ssl_context(certifi.where())
    return _ssl_context(verify)


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
        # A thread of the loop's own default executor: it ends with the loop, so nothing keeps a finished
        # loop alive (asgiref's sync_to_async keeps the last loop in a thread-local of its shared thread).
        # Airflow 3's triggerer serves connection lookups from any thread.
        credentials = await asyncio.to_thread(load)
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
