"""The three transports compared by the capacity benchmark, and the per-call counters.

* ``ours``: the provider's :class:`HadoopEcoRequestTrigger`, unchanged (one shared aiohttp session per loop).
* ``new_session``: the same trigger and hook, but ``_asend`` opens a new ``aiohttp.ClientSession`` for every
  request (what many providers' async hooks do: ``async with aiohttp.ClientSession() as s: ...``).
* ``sync_to_async``: the same trigger, but the status call is the provider's *sync* hook method (``requests``)
  wrapped in ``asgiref.sync.sync_to_async`` with its defaults (``thread_sensitive=True``), as some providers
  do.

Only the transport differs: the poll loop, retries (tenacity), status parsing, logging and the credentials
cache are the provider's own code in all three. Every HTTP attempt is counted per cluster id by a thin
wrapper (one dict update per call), installed the same way on every transport.

Imported only by the worker process (it imports Airflow and the provider).
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from typing import Any

from airflow_provider_hadoop_eco.hooks.base import BaseHadoopEcoHook, _read_capped_async
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

from airflow_provider_hadoop_eco.exceptions import (  # isort: skip
    HadoopEcoConnectError,
    HadoopEcoTransportError,
)

TRANSPORTS = ("ours", "new_session", "sync_to_async")

#: HTTP attempts per cluster id (status GETs, verbose ones included) and verbose ones alone.
CALLS: Counter[str] = Counter()
VERBOSE_CALLS: Counter[str] = Counter()


def _count(cluster_id: str, path: str, params: dict[str, str] | None) -> None:
    CALLS[cluster_id] += 1
    if (params and params.get("verbose") == "true") or path.endswith("verbose=true"):
        VERBOSE_CALLS[cluster_id] += 1


def _counting_async(func: Any) -> Any:
    @functools.wraps(func)
    async def wrapper(self: Any, path: str, *, cluster_id: str, params: Any = None, **kwargs: Any) -> Any:
        _count(cluster_id, path, params)
        return await func(self, path, cluster_id=cluster_id, params=params, **kwargs)

    return wrapper


def _counting_sync(func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(
        self: Any, method: str, path: str, *, cluster_id: str, params: Any = None, **kwargs: Any
    ) -> Any:
        _count(cluster_id, path, params)
        return func(self, method, path, cluster_id=cluster_id, params=params, **kwargs)

    return wrapper


# --- baseline (a): a new aiohttp ClientSession per request ---------------------------------------------


class NewSessionHook(HadoopEcoHook):
    """The provider's hook with one change: every request opens (and closes) its own ClientSession."""

    async def _asend(
        self,
        path: str,
        *,
        credentials: Any,
        cluster_id: str,
        what: str,
        params: dict[str, str] | None = None,
    ) -> Any:
        import aiohttp

        from airflow_provider_hadoop_eco.hooks.async_http import ssl_option

        try:
            async with (
                aiohttp.ClientSession(trust_env=False) as session,
                session.get(
                    credentials.base_url + path,
                    headers=credentials.auth_headers(),
                    params=params,
                    timeout=self._aiohttp_timeout,
                    allow_redirects=False,
                    ssl=ssl_option(credentials.verify),
                ) as response,
            ):
                content, too_large = await _read_capped_async(response)
                status, headers = response.status, response.headers
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            if isinstance(err, aiohttp.ClientConnectorError):
                raise HadoopEcoConnectError(f"{what} for cluster {cluster_id!r}: {reason}") from None
            raise HadoopEcoTransportError(f"{what} for cluster {cluster_id!r}: {reason}") from None
        self._raise_for_status(
            status=status,
            content=content,
            headers=headers,
            cluster_id=cluster_id,
            method="GET",
            credentials=credentials,
        )
        return self._parse_json(content, too_large=too_large, cluster_id=cluster_id, what=what)


class NewSessionTrigger(HadoopEcoRequestTrigger):
    """The provider's trigger polling through :class:`NewSessionHook`."""

    def _hook(self) -> Any:
        return NewSessionHook(self.hadoop_eco_conn_id)


# --- baseline (b): the sync requests call wrapped in sync_to_async ------------------------------------


class SyncToAsyncHook(HadoopEcoHook):
    """The provider's hook whose async status call runs the sync one (``requests``) via ``sync_to_async``."""

    async def aget_request_status(
        self, cluster_id: str, request_id: str, verbose: bool = False
    ) -> dict[str, Any]:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.get_request_status)(cluster_id, request_id, verbose)


class SyncToAsyncTrigger(HadoopEcoRequestTrigger):
    """The provider's trigger polling through :class:`SyncToAsyncHook`."""

    def _hook(self) -> Any:
        return SyncToAsyncHook(self.hadoop_eco_conn_id)


def trigger_class(transport: str) -> type[HadoopEcoRequestTrigger]:
    """The trigger class of ``transport``, with the call counter installed on its transport method."""
    if transport == "ours":
        BaseHadoopEcoHook._asend = _counting_async(BaseHadoopEcoHook._asend)  # type: ignore[method-assign]
        return HadoopEcoRequestTrigger
    if transport == "new_session":
        NewSessionHook._asend = _counting_async(NewSessionHook._asend)  # type: ignore[method-assign]
        return NewSessionTrigger
    if transport == "sync_to_async":
        SyncToAsyncHook._send_sync = _counting_sync(BaseHadoopEcoHook._send_sync)  # type: ignore[method-assign]
        return SyncToAsyncTrigger
    raise ValueError(f"unknown transport {transport!r}; expected one of {TRANSPORTS}")


async def close_transport(transport: str) -> None:
    """Release what the transport keeps open at the end of a run."""
    if transport in ("ours", "new_session"):
        from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session

        await close_shared_session()
