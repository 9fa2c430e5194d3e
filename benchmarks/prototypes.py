"""Prototypes of provider changes, applied by monkeypatching inside the benchmark worker only.

Figures measured with a prototype are labelled ``ours+<variant>`` and are never reported as the provider's.
Each prototype keeps the provider's behaviour (same validation errors, same retry policy, same headers); only
the per-poll work changes. ``fastpath`` and ``ids`` were adopted by the provider (commit c2baa4b): on the
current code they are equivalent re-implementations, kept to reproduce the before/after on older code.

* ``fastpath``: ``_acall_get`` makes the first attempt directly and builds the tenacity ``AsyncRetrying``
  only after a transient error (the common case, a successful poll, creates no tenacity objects);
* ``ids``: ``validate_identifier`` checks the id with one precompiled regex instead of two generator scans
  (``any(c.isspace() for c in value)`` runs a Python-level loop over every character, twice per poll);
* ``gcfreeze``: not a provider change; ``gc.freeze()`` after start-up, to show how much of the loop lag is
  the full garbage collections scanning Airflow's own objects;
* ``url``: the hook memoises the status URL (path + ``?verbose=...`` as one ``yarl.URL``) and the
  ``aiohttp.ClientTimeout``, so a poll neither re-validates/quotes the ids nor re-parses the URL and query.
  The provider has since adopted the cheap half (the query folded into the path, one ``ClientTimeout`` per
  hook); the memoised ``yarl.URL`` was not adopted.
"""

from __future__ import annotations

import re
from typing import Any

VARIANTS: dict[str, str] = {
    "gcfreeze": "NOT a provider change: gc.freeze() after start-up, as a triggerer could do",
    "fastpath": "first attempt without tenacity; AsyncRetrying only after a transient error",
    "ids": "validate_identifier with one precompiled regex",
    "url": "status URL (yarl.URL with the query) and ClientTimeout memoised per hook",
}
#: ``all`` = the prototypes recommended for the provider. ``url`` is measured but left out: it saves ~4% over
#: HTTP and costs more over HTTPS in this form (a global patch of ``ClientSession.get``).
ALIASES = {"all": "fastpath,ids"}


def apply(variant: str) -> None:
    """Apply the named prototype(s) (joined by ``+`` or ``,``; ``all`` = every provider prototype)."""
    for name in variant.replace("+", ",").split(","):
        name = name.strip()
        if name in ALIASES:
            apply(ALIASES[name])
            continue
        if name not in VARIANTS:
            raise ValueError(f"unknown variant {name!r}; known: {sorted(VARIANTS)} and {sorted(ALIASES)}")
        globals()["_apply_" + name]()


def _apply_gcfreeze() -> None:
    import gc

    gc.collect()
    gc.freeze()  # the objects of Airflow's imports leave the collector's generations for good


def _apply_fastpath() -> None:
    from airflow_provider_hadoop_eco.exceptions import HadoopEcoAuthError
    from airflow_provider_hadoop_eco.hooks import base

    async def _acall_get(
        self: Any, path: str, *, cluster_id: str, what: str, params: dict[str, str] | None = None
    ) -> Any:
        credentials = await self.aget_credentials()
        refreshed = False
        while True:
            try:
                try:
                    # Fast path: one attempt, no tenacity objects.
                    return await self._asend(
                        path, credentials=credentials, cluster_id=cluster_id, what=what, params=params
                    )
                except Exception as err:
                    if not base.is_transient(err) or self.retry_limit <= 1:
                        raise
                    first_error = err
                # Slow path, only after a transient error: the provider's AsyncRetrying, for the remaining
                # attempts, after the backoff the first failure earned.
                import asyncio

                import tenacity

                wait = base._make_wait(self.retry_delay, self.retry_max_delay)
                state = tenacity.RetryCallState(None, None, (), {})
                state.attempt_number = 1
                state.outcome = tenacity.Future(1)
                state.outcome.set_exception(first_error)
                delay = wait(state)
                self.log.warning("%s failed (attempt 1): %s; retrying in %.1f s", what, first_error, delay)
                await asyncio.sleep(delay)
                retrying = tenacity.AsyncRetrying(
                    retry=tenacity.retry_if_exception(base.is_transient),
                    stop=tenacity.stop_after_attempt(self.retry_limit - 1),
                    wait=wait,
                    before_sleep=base._log_retry(self.log, what),
                    reraise=True,
                )
                async for attempt in retrying:
                    with attempt:
                        return await self._asend(
                            path, credentials=credentials, cluster_id=cluster_id, what=what, params=params
                        )
            except HadoopEcoAuthError:
                if refreshed:
                    raise
                refreshed = True
                credentials = await self.aget_credentials(refresh=True)

    base.BaseHadoopEcoHook._acall_get = _acall_get  # type: ignore[method-assign]


_BAD_ID = re.compile(r"[/?#\s]")


def _apply_ids() -> None:
    from airflow_provider_hadoop_eco import cluster_settings
    from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError
    from airflow_provider_hadoop_eco.hooks import hadoop_eco

    def validate_identifier(name: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise HadoopEcoConfigError(f"{name} must be a non-empty string, got {value!r}")
        value = value.strip()
        if _BAD_ID.search(value):
            raise HadoopEcoConfigError(f"{name} must not contain '/', '?', '#' or spaces, got {value!r}")
        return value

    cluster_settings.validate_identifier = validate_identifier
    hadoop_eco.validate_identifier = validate_identifier


def _apply_url() -> None:
    import aiohttp
    from yarl import URL

    from airflow_provider_hadoop_eco.hooks import base, hadoop_eco

    original_status_call = hadoop_eco.HadoopEcoHook._status_call

    def _status_call(
        self: Any, cluster_id: str, request_id: str, verbose: bool
    ) -> tuple[str, dict[str, str]]:
        cache = self.__dict__.setdefault("_bench_status_calls", {})
        key = (cluster_id, request_id, verbose)
        hit = cache.get(key)
        if hit is None:
            path, params = original_status_call(self, cluster_id, request_id, verbose)
            # Query folded into the path: the async transport can then use one prebuilt URL.
            hit = cache[key] = (path + "?verbose=" + params["verbose"], {})
        return hit

    original_asend = base.BaseHadoopEcoHook._asend

    async def _asend(self: Any, path: str, *, credentials: Any, cluster_id: str, what: str,
                     params: dict[str, str] | None = None) -> Any:  # fmt: skip
        return await original_asend(
            self, path, credentials=credentials, cluster_id=cluster_id, what=what, params=params or None
        )

    class _Session:
        """Hands aiohttp a memoised yarl.URL instead of a string."""

    urls: dict[str, URL] = {}
    timeouts: dict[tuple[float, float], aiohttp.ClientTimeout] = {}
    original_get = aiohttp.ClientSession.get
    original_timeout = aiohttp.ClientTimeout

    def get(session: Any, url: Any, **kwargs: Any) -> Any:
        if isinstance(url, str):
            parsed = urls.get(url)
            if parsed is None:
                if len(urls) > 100_000:
                    urls.clear()
                parsed = urls[url] = URL(url, encoded=True)
            url = parsed
        return original_get(session, url, **kwargs)

    def client_timeout(*args: Any, **kwargs: Any) -> aiohttp.ClientTimeout:
        key = (args, tuple(sorted(kwargs.items())))
        value = timeouts.get(key)  # type: ignore[call-overload]
        if value is None:
            value = timeouts[key] = original_timeout(*args, **kwargs)  # type: ignore[index]
        return value

    hadoop_eco.HadoopEcoHook._status_call = _status_call  # type: ignore[method-assign]
    base.BaseHadoopEcoHook._asend = _asend  # type: ignore[method-assign]
    aiohttp.ClientSession.get = get  # type: ignore[method-assign]
    base_aiohttp_timeout = client_timeout
    aiohttp.ClientTimeout = base_aiohttp_timeout  # type: ignore[misc,assignment]
    del _Session
