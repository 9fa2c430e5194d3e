"""Transport, authentication and retries for the Hadoop Eco API: how to reach it safely, not what to ask.

What it guarantees:

* every request has a timeout, a User-Agent naming the provider and Airflow versions, and the three
  auth headers; redirects are never followed and no cookie is ever kept;
* TLS is verified against one CA bundle in the worker and the triggerer alike;
* a proxy is used only when the connection names one;
* GETs retry connection errors, timeouts, 429 (honouring Retry-After) and 5xx with capped, jittered
  exponential backoff, never past the caller's deadline; a POST is retried only when it provably never
  left this machine;
* after a 401 or 403 the connection is read again once, in case its key was rotated.

The transport raises neutral errors: :class:`HadoopEcoConfigError` or :class:`HadoopEcoConnectError`
(nothing was sent), :class:`HadoopEcoTransportError` (sent, no answer), or the error of an HTTP status.
What they mean for a given call is the endpoint methods' business
(:mod:`airflow_provider_hadoop_eco.hooks.hadoop_eco`).

``requests``, ``aiohttp`` and ``tenacity`` are imported lazily: DAG files import the operator and sensor
modules, and those must stay cheap.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_hadoop_eco.defaults import CONN_TYPE, DEFAULT_CONN_ID, HOOK_NAME
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoAuthError,
    HadoopEcoConnectError,
    HadoopEcoConnectionLookupError,
    HadoopEcoError,
    HadoopEcoRateLimitError,
    is_transient,
)
from airflow_provider_hadoop_eco.hooks.connection import (
    HadoopEcoCredentials,
    credentials_from_connection,
)
from airflow_provider_hadoop_eco.hooks.responses import (
    ApiRequest,
    ApiResponse,
    raise_for_status,
    read_capped_async,
    read_capped_sync,
)
from airflow_provider_hadoop_eco.hooks.transport_errors import (
    async_transport_error,
    proxy_refused_error,
    sync_transport_error,
)
from airflow_provider_hadoop_eco.tuning import HOOK_PARAM_DEFAULTS, validate_hook_params

if TYPE_CHECKING:
    import aiohttp
    import requests

#: Longest wait a Retry-After header may impose on one retry.
MAX_RETRY_AFTER_SECONDS = 600.0


class BaseHadoopEcoHook(BaseHook):
    """Connection handling, transport, auth headers and retries shared by the Hadoop Eco hook.

    :param hadoop_eco_conn_id: the Airflow connection to use (type ``hadoop_eco``).
    :param timeout: seconds to wait for an answer to one HTTP request.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param retry_limit: attempts for a read-only call (GET) before giving up on transient errors.
    :param retry_delay: first backoff delay in seconds; doubles each attempt, with jitter.
    :param retry_max_delay: cap on one backoff delay in seconds.
    """

    conn_name_attr = "hadoop_eco_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME

    def __init__(
        self,
        hadoop_eco_conn_id: str = default_conn_name,
        *,
        timeout: float = HOOK_PARAM_DEFAULTS["timeout"],
        connect_timeout: float = HOOK_PARAM_DEFAULTS["connect_timeout"],
        retry_limit: int = int(HOOK_PARAM_DEFAULTS["retry_limit"]),
        retry_delay: float = HOOK_PARAM_DEFAULTS["retry_delay"],
        retry_max_delay: float = HOOK_PARAM_DEFAULTS["retry_max_delay"],
    ) -> None:
        super().__init__()
        params = validate_hook_params(
            {
                "timeout": timeout,
                "connect_timeout": connect_timeout,
                "retry_limit": retry_limit,
                "retry_delay": retry_delay,
                "retry_max_delay": retry_max_delay,
            }
        )
        self.hadoop_eco_conn_id = hadoop_eco_conn_id
        self.timeout = params["timeout"]
        self.connect_timeout = params["connect_timeout"]
        self.retry_limit = int(params["retry_limit"])
        self.retry_delay = params["retry_delay"]
        self.retry_max_delay = params["retry_max_delay"]

    # --- credentials ---------------------------------------------------------------------------------

    def _load_credentials(self) -> HadoopEcoCredentials:
        try:
            conn = self.get_connection(self.hadoop_eco_conn_id)
        except Exception as err:  # missing connection, secrets backend down: a provider error, not a crash
            raise HadoopEcoConnectionLookupError(
                f"Could not read the Airflow connection {self.hadoop_eco_conn_id!r}: "
                f"{type(err).__name__}: {str(err)[:300]}"
            ) from None
        return credentials_from_connection(conn)

    @cached_property
    def credentials(self) -> HadoopEcoCredentials:
        """The connection's credentials, read once per hook (and again after a 401/403)."""
        return self._load_credentials()

    async def aget_credentials(self, *, refresh: bool = False) -> HadoopEcoCredentials:
        """The credentials, looked up without blocking the event loop and shared across triggers.

        The lookup runs in a thread of the event loop's executor, which works in the Airflow 3 triggerer
        and in ``airflow dags test`` alike. Results are cached per connection id for a short time so that
        thousands of triggers do not each ask the secrets backend.
        """
        from airflow_provider_hadoop_eco.hooks.async_http import credentials_cache

        return await credentials_cache().get(self.hadoop_eco_conn_id, self._load_credentials, refresh=refresh)

    # --- retry policy, shared by both transports -------------------------------------------------------

    def _retryable(self, request: ApiRequest, err: BaseException) -> bool:
        if request.read_only:
            return is_transient(err)
        # A POST is repeated only when no connection was ever made; even a TLS failure is not repeated.
        return type(err) is HadoopEcoConnectError and getattr(err, "before_tls", False)

    def _retry_policy(self, request: ApiRequest, deadline: float | None, first: int = 1) -> dict[str, Any]:
        """The tenacity arguments for attempts ``first``..``retry_limit`` of one call."""
        import tenacity

        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.retry_delay * 2 ** (first - 1), max=self.retry_max_delay, jitter=self.retry_delay
        )

        def delay(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, HadoopEcoRateLimitError) and exc.retry_after is not None:
                return min(exc.retry_after, MAX_RETRY_AFTER_SECONDS)
            return float(backoff(state))

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number + first - 1 >= self.retry_limit:
                return True
            # Never sleep past the caller's deadline: its last status check must still come in time.
            return deadline is not None and time.time() + delay(state) > deadline

        def wait(state: tenacity.RetryCallState) -> float:
            seconds = delay(state)
            return seconds if deadline is None else max(min(seconds, deadline - time.time()), 0.0)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            self.log.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.1f s",
                request.describe(),
                state.attempt_number + first - 1,
                self.retry_limit,
                state.outcome.exception() if state.outcome else None,
                state.next_action.sleep if state.next_action else 0,
            )

        return {
            "retry": tenacity.retry_if_exception(lambda e: self._retryable(request, e)),
            "stop": stop,
            "wait": wait,
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def _timeouts(self, deadline: float | None) -> tuple[float, float]:
        """Connect and read timeouts, shortened so a call never runs long past the caller's deadline."""
        if deadline is None:
            return self.connect_timeout, self.timeout
        left = max(deadline - time.time(), 1.0)
        return min(self.connect_timeout, left), min(self.timeout, left)

    # --- sync transport (requests) -----------------------------------------------------------------------

    @cached_property
    def _session(self) -> requests.Session:
        return _new_requests_session()

    def get_conn(self) -> requests.Session:
        """Return the pooled ``requests`` session used for read-only calls."""
        return self._session

    def request(self, request: ApiRequest, *, deadline: float | None = None) -> ApiResponse:
        """Send one call with the retries its method allows; return a 2xx answer or raise.

        :param deadline: UNIX time no retry may wait past.
        """
        import tenacity

        for attempt in tenacity.Retrying(**self._retry_policy(request, deadline)):
            with attempt:
                return self._with_fresh_credentials(lambda creds: self._send(request, creds, deadline))
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    def _with_fresh_credentials(self, call: Callable[[HadoopEcoCredentials], ApiResponse]) -> ApiResponse:
        credentials = self.credentials
        try:
            return call(credentials)
        except HadoopEcoAuthError:
            # A rotated key earns one fresh read of the connection (a 401/403 started nothing); the same
            # credentials again would only be refused again.
            self.__dict__.pop("credentials", None)
            if self.credentials == credentials:
                raise
            return call(self.credentials)

    def _send(
        self, request: ApiRequest, credentials: HadoopEcoCredentials, deadline: float | None
    ) -> ApiResponse:
        import requests

        # A POST always gets a fresh connection: a stale pooled one could fail after the request was sent,
        # and then nobody could tell whether the job started.
        session = self._session if request.read_only else _new_requests_session()
        proxy = credentials.proxy_for(request.url)
        try:
            response = session.request(
                request.method,
                request.url,
                headers=credentials.auth_headers(),
                json=request.body,
                timeout=self._timeouts(deadline),
                allow_redirects=False,
                verify=credentials.verify,
                proxies={"http": proxy, "https": proxy} if proxy else None,
                stream=True,
            )
            try:
                if response.status_code == 407 and proxy:  # the proxy's own answer: nothing was forwarded
                    raise proxy_refused_error(request, credentials)
                content, too_large = read_capped_sync(response)
            finally:
                response.close()
        except (requests.exceptions.RequestException, ValueError) as err:
            raise sync_transport_error(err, request, credentials) from None
        finally:
            if not request.read_only:
                session.close()
        answer = ApiResponse(response.status_code, response.headers, content, too_large)
        raise_for_status(answer, request, credentials.scrub)
        return answer

    # --- async transport (aiohttp, one pool per event loop) ------------------------------------------

    def _async_session(self) -> AbstractAsyncContextManager[aiohttp.ClientSession]:
        """The session one async attempt goes through: a lease on the loop's shared pool.

        The seam for another session policy (the benchmarks' new-session-per-request baseline).
        """
        from airflow_provider_hadoop_eco.hooks.async_http import shared_session_lease

        return shared_session_lease()

    async def arequest(self, request: ApiRequest, *, deadline: float | None = None) -> ApiResponse:
        """Async twin of :meth:`request`, for triggers: never blocks the event loop."""
        try:
            # Nearly every poll succeeds at once, and tenacity's set-up costs more CPU than the poll:
            # the retry machinery is built only once a first attempt has failed.
            return await self._asend_with_fresh_credentials(request, deadline)
        except HadoopEcoError as err:
            if not self._retryable(request, err):
                raise
            first_failure = err
        return await self._aretry(request, deadline, first_failure)

    async def _aretry(
        self, request: ApiRequest, deadline: float | None, failure: HadoopEcoError
    ) -> ApiResponse:
        import tenacity

        # The first attempt ran bare; tenacity takes over from the second, after the same wait it would
        # have made.
        failed = _failed_state(failure)
        first_policy = self._retry_policy(request, deadline)
        if first_policy["stop"](failed):
            raise failure
        delay = first_policy["wait"](failed)
        self.log.warning(
            "%s failed (attempt 1 of %d): %s; retrying in %.1f s",
            request.describe(),
            self.retry_limit,
            failure,
            delay,
        )
        await asyncio.sleep(delay)
        async for attempt in tenacity.AsyncRetrying(**self._retry_policy(request, deadline, first=2)):
            with attempt:
                return await self._asend_with_fresh_credentials(request, deadline)
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    async def _asend_with_fresh_credentials(self, request: ApiRequest, deadline: float | None) -> ApiResponse:
        credentials = await self.aget_credentials()
        try:
            return await self._asend(request, credentials, deadline)
        except HadoopEcoAuthError:
            # Credentials are cached across triggers; a rotated key earns one fresh lookup.
            fresh = await self.aget_credentials(refresh=True)
            if fresh == credentials:
                raise
            return await self._asend(request, fresh, deadline)

    async def _asend(
        self, request: ApiRequest, credentials: HadoopEcoCredentials, deadline: float | None
    ) -> ApiResponse:
        import aiohttp

        from airflow_provider_hadoop_eco.hooks.async_http import ssl_option

        connect, read = self._timeouts(deadline)
        try:
            async with (
                self._async_session() as session,
                session.request(
                    request.method,
                    request.url,
                    headers=credentials.auth_headers(),
                    json=request.body,
                    timeout=_aiohttp_timeout(connect, read),
                    allow_redirects=False,
                    ssl=ssl_option(credentials.verify),
                    proxy=credentials.proxy_for(request.url),
                ) as response,
            ):
                if response.status == 407 and credentials.proxy_for(request.url):
                    raise proxy_refused_error(request, credentials)
                content, too_large = await read_capped_async(response)
                answer = ApiResponse(response.status, response.headers, content, too_large)
        except (TimeoutError, aiohttp.ClientError, ValueError, ssl.SSLError) as err:
            raise async_transport_error(err, request, credentials) from None
        raise_for_status(answer, request, credentials.scrub)
        return answer


def _new_requests_session() -> requests.Session:
    import http.cookiejar

    import requests

    session = requests.Session()
    # Proxies, CA bundles and credentials come from the connection only, never silently from the
    # environment or ~/.netrc.
    session.trust_env = False
    # No cookie is ever kept: the API needs none, and one must never travel with other credentials.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


_AIOHTTP_TIMEOUTS: dict[tuple[float, float], Any] = {}


def _aiohttp_timeout(connect: float, read: float) -> Any:
    # One ClientTimeout per distinct pair: building one per poll shows up in the triggerer's CPU.
    timeout = _AIOHTTP_TIMEOUTS.get((connect, read))
    if timeout is None:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=connect + read + 60.0, sock_connect=connect, sock_read=read)
        if len(_AIOHTTP_TIMEOUTS) < 256:
            _AIOHTTP_TIMEOUTS[(connect, read)] = timeout
    return timeout


def _failed_state(failure: BaseException) -> Any:
    """A tenacity call state for one failed attempt, to compute the first retry's delay."""
    import tenacity

    state = tenacity.RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.set_exception((type(failure), failure, failure.__traceback__))
    return state
