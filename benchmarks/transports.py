"""The three transports compared by the capacity benchmark, and the per-call counters.

* ``ours``: the provider's :class:`HadoopEcoRequestTrigger`, unchanged (one shared aiohttp session per loop).
* ``new_session``: the same trigger and hook, but the hook's ``_async_session`` seam opens a new
  ``aiohttp.ClientSession`` for every attempt (what many providers' async hooks do:
  ``async with aiohttp.ClientSession() as s: ...``).
* ``sync_to_async``: the same trigger, but the status call is the provider's *sync* hook method (``requests``)
  wrapped in ``asgiref.sync.sync_to_async`` with its defaults (``thread_sensitive=True``), as some providers
  do.

Only the transport differs: the poll loop, retries, status parsing, logging and the credentials cache are the
provider's own code in all three. Every HTTP attempt is counted per cluster id by a thin wrapper (one dict
update per call) around the hook's per-attempt send methods, installed the same way for every transport.

Imported only by the worker and micro-benchmark processes (they import Airflow and the provider).
"""

from __future__ import annotations

import functools
from collections import Counter
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp

from airflow_provider_hadoop_eco.hooks.base import BaseHadoopEcoHook
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.hooks.responses import ApiRequest
from airflow_provider_hadoop_eco.request_status import RequestStatus
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger
from airflow_provider_hadoop_eco.tuning import validate_hook_params

TRANSPORTS = ("ours", "new_session", "sync_to_async")

#: HTTP attempts per cluster id (status GETs, verbose ones included) and verbose ones alone.
CALLS: Counter[str] = Counter()
VERBOSE_CALLS: Counter[str] = Counter()


def _count(request: ApiRequest) -> None:
    CALLS[request.cluster_id] += 1
    if request.url.endswith("verbose=true"):
        VERBOSE_CALLS[request.cluster_id] += 1


def _counting_async(func: Any) -> Any:
    @functools.wraps(func)
    async def wrapper(self: Any, request: ApiRequest, *args: Any, **kwargs: Any) -> Any:
        _count(request)
        return await func(self, request, *args, **kwargs)

    wrapper.counting = True  # type: ignore[attr-defined]
    return wrapper


def _counting_sync(func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(self: Any, request: ApiRequest, *args: Any, **kwargs: Any) -> Any:
        _count(request)
        return func(self, request, *args, **kwargs)

    wrapper.counting = True  # type: ignore[attr-defined]
    return wrapper


def install_counters() -> None:
    """Count every attempt of both transports (``_asend`` for aiohttp, ``_send`` for requests); idempotent."""
    if not getattr(BaseHadoopEcoHook._asend, "counting", False):
        BaseHadoopEcoHook._asend = _counting_async(BaseHadoopEcoHook._asend)  # type: ignore[method-assign]
    if not getattr(BaseHadoopEcoHook._send, "counting", False):
        BaseHadoopEcoHook._send = _counting_sync(BaseHadoopEcoHook._send)  # type: ignore[method-assign]


# --- baseline (a): a new aiohttp ClientSession per request ---------------------------------------------


class NewSessionHook(HadoopEcoHook):
    """The provider's hook with one change: every attempt opens (and closes) its own ClientSession."""

    def _async_session(self) -> AbstractAsyncContextManager[aiohttp.ClientSession]:
        # Same settings as the provider's pool (no proxies from the environment, no cookies), no reuse.
        return aiohttp.ClientSession(trust_env=False, cookie_jar=aiohttp.DummyCookieJar())


class NewSessionTrigger(HadoopEcoRequestTrigger):
    """The provider's trigger polling through :class:`NewSessionHook`."""

    def _hook(self) -> Any:
        return NewSessionHook(self.hadoop_eco_conn_id, **validate_hook_params(self.hook_params))


# --- baseline (b): the sync requests call wrapped in sync_to_async ------------------------------------


class SyncToAsyncHook(HadoopEcoHook):
    """The provider's hook whose async status call runs the sync one (``requests``) via ``sync_to_async``."""

    async def aget_request_status(
        self, cluster_id: str, request_id: str, verbose: bool = False, *, deadline: float | None = None
    ) -> RequestStatus:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.get_request_status)(
            cluster_id, request_id, verbose, deadline=deadline
        )


class SyncToAsyncTrigger(HadoopEcoRequestTrigger):
    """The provider's trigger polling through :class:`SyncToAsyncHook`."""

    def _hook(self) -> Any:
        return SyncToAsyncHook(self.hadoop_eco_conn_id, **validate_hook_params(self.hook_params))


HOOKS: dict[str, type[HadoopEcoHook]] = {
    "ours": HadoopEcoHook,
    "new_session": NewSessionHook,
    "sync_to_async": SyncToAsyncHook,
}
TRIGGERS: dict[str, type[HadoopEcoRequestTrigger]] = {
    "ours": HadoopEcoRequestTrigger,
    "new_session": NewSessionTrigger,
    "sync_to_async": SyncToAsyncTrigger,
}


def hook_class(transport: str) -> type[HadoopEcoHook]:
    """The hook class of ``transport``."""
    if transport not in HOOKS:
        raise ValueError(f"unknown transport {transport!r}; expected one of {TRANSPORTS}")
    return HOOKS[transport]


def trigger_class(transport: str) -> type[HadoopEcoRequestTrigger]:
    """The trigger class of ``transport``, with the call counters installed."""
    if transport not in TRIGGERS:
        raise ValueError(f"unknown transport {transport!r}; expected one of {TRANSPORTS}")
    install_counters()
    return TRIGGERS[transport]


async def close_transport() -> None:
    """Close the loop's shared pool if a cancelled trigger left it open (every transport's trigger leases it)."""
    from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session

    await close_shared_session()
