"""Transport, authentication and retries for the Hadoop Eco API.

This layer knows how to reach the API safely; it knows nothing about clusters or requests. The endpoint
methods live in :mod:`airflow_provider_hadoop_eco.hooks.hadoop_eco`.

What it guarantees:

* every request has a timeout, a User-Agent naming the provider and Airflow versions, and the three
  auth headers;
* redirects are never followed (the credentials travel in custom headers that a client would resend);
* TLS is verified unless the connection says otherwise; credentials never go over plain http to anything
  but a loopback address unless the connection explicitly allows it;
* secrets are registered with Airflow's secret masker as soon as they are read, and scrubbed from any
  response excerpt quoted in an error;
* GETs retry connection errors, timeouts, 429 (honouring Retry-After) and 5xx with capped, jittered
  exponential backoff; a POST is retried only when it provably never left this machine.

``requests``, ``aiohttp`` and ``tenacity`` are imported lazily: DAG files import the operator and sensor
modules, and those must stay cheap.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_hadoop_eco import __version__
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoApiError,
    HadoopEcoAuthError,
    HadoopEcoBadRequestError,
    HadoopEcoClusterBusyError,
    HadoopEcoConfigError,
    HadoopEcoConnectError,
    HadoopEcoError,
    HadoopEcoJobMayHaveStartedError,
    HadoopEcoNotFoundError,
    HadoopEcoRateLimitError,
    HadoopEcoResponseError,
    HadoopEcoServerError,
    HadoopEcoTransportError,
    HadoopEcoUnexpectedStatusError,
    body_excerpt,
)

if TYPE_CHECKING:
    import requests
    import tenacity

DEFAULT_BASE_URL = "https://hadoop-eco.kr-central-1.kakaoi.io"
CONN_TYPE = "hadoop_eco"
EXTRA_PREFIX = f"extra__{CONN_TYPE}__"

#: Bodies larger than this are refused rather than parsed (the verbose status is a few KB).
MAX_BODY_BYTES = 1024 * 1024
#: Longest wait a Retry-After header may impose on one retry.
MAX_RETRY_AFTER_SECONDS = 600.0

_TAGS = re.compile(r"<[^>]+>")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _is_loopback(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _mask(secret: str) -> None:
    from airflow.providers.common.compat.sdk import mask_secret

    mask_secret(secret)


@dataclass(frozen=True)
class HadoopEcoCredentials:
    """Everything needed to call the API, read from one Airflow connection.

    :param conn_id: the Airflow connection id they came from.
    :param base_url: scheme, host and optional port, without a trailing slash.
    :param access_key_id: sent as ``Credential-ID``.
    :param secret_access_key: sent as ``Credential-Secret``; never shown in ``repr``.
    :param api_key: the cluster's Open API key, sent as ``Hadoop-Eco-Api-Key``; never shown in ``repr``.
    :param verify: TLS verification: True, False, or the path of a CA bundle.
    """

    conn_id: str
    base_url: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    api_key: str = field(repr=False)
    verify: bool | str = True

    def auth_headers(self) -> dict[str, str]:
        """The request headers, credentials included: never log the result."""
        return {
            "Credential-ID": self.access_key_id,
            "Credential-Secret": self.secret_access_key,
            "Hadoop-Eco-Api-Key": self.api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": user_agent(),
        }

    def scrub(self, text: str) -> str:
        """Remove the credentials from a text quoted back from the server."""
        for secret in (self.secret_access_key, self.api_key):
            if secret:
                text = text.replace(secret, "***")
        return text


def credentials_from_connection(conn: Any) -> HadoopEcoCredentials:
    """Read and check an Airflow connection of type ``hadoop_eco``.

    Extras are read unprefixed and with the legacy ``extra__hadoop_eco__`` prefix; empty or null values count
    as unset (the Airflow 3 UI stores empty fields as null).

    :raises HadoopEcoConfigError: a credential is missing, or the base URL is unusable or unsafe.
    """
    conn_id = conn.conn_id or "(unnamed)"
    try:
        extras = conn.extra_dejson or {}
    except Exception as err:  # malformed extra JSON must not surface as a raw JSONDecodeError
        raise HadoopEcoConfigError(f"Connection {conn_id!r}: the Extra field is not valid JSON") from err
    if not isinstance(extras, dict):
        raise HadoopEcoConfigError(f"Connection {conn_id!r}: the Extra field must be a JSON object")

    def extra(name: str) -> Any:
        for key in (name, EXTRA_PREFIX + name):
            value = extras.get(key)
            if value is not None and value != "":
                return value
        return None

    secret = conn.password or ""
    api_key = extra("api_key") or ""
    # Mask first: even an error below must not give a secret the chance to reach a log line.
    for value in (secret, api_key):
        if isinstance(value, str) and value:
            _mask(value)
    access_key_id = (conn.login or "").strip()
    missing = [
        label
        for label, value in (
            ("Login (access key ID, sent as Credential-ID)", access_key_id),
            ("Password (secret access key, sent as Credential-Secret)", secret),
            ("extra 'api_key' (the cluster's Open API key, sent as Hadoop-Eco-Api-Key)", api_key),
        )
        if not value
    ]
    if missing:
        raise HadoopEcoConfigError(f"Connection {conn_id!r} is missing: " + "; ".join(missing))
    if not isinstance(api_key, str):
        raise HadoopEcoConfigError(f"Connection {conn_id!r}: extra 'api_key' must be a string")

    base_url = _base_url(conn, conn_id)
    parts = urlsplit(base_url)
    allow_http = _truthy(extra("allow_insecure_http"))
    if parts.scheme == "http" and not _is_loopback(parts.hostname or "") and not allow_http:
        raise HadoopEcoConfigError(
            f"Connection {conn_id!r}: refusing to send credentials over plain http to {parts.hostname!r}. "
            "Use https, or set the extra 'allow_insecure_http' to true if you really mean it."
        )
    verify_extra = extra("verify")
    verify: bool | str = True
    if isinstance(verify_extra, bool):
        verify = verify_extra
    elif isinstance(verify_extra, str):
        lowered = verify_extra.strip().lower()
        verify = (
            lowered not in {"false", "0", "no", "off"}
            if lowered in {"true", "1", "yes", "on", "false", "0", "no", "off"}
            else verify_extra.strip()
        )
    return HadoopEcoCredentials(
        conn_id=conn_id,
        base_url=base_url,
        access_key_id=access_key_id,
        secret_access_key=secret,
        api_key=api_key,
        verify=verify,
    )


def _base_url(conn: Any, conn_id: str) -> str:
    host = (conn.host or "").strip()
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "https"
        host = f"{scheme}://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HadoopEcoConfigError(
            f"Connection {conn_id!r}: Host must be a base URL like {DEFAULT_BASE_URL}, got {host!r}"
        )
    netloc = parts.netloc
    if conn.port and parts.port is None:
        netloc = f"{netloc}:{conn.port}"
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{netloc}{path}"


_USER_AGENT: str | None = None


def user_agent() -> str:
    """``airflow-provider-hadoop-eco/<version> apache-airflow/<version> python/<version>``."""
    global _USER_AGENT
    if _USER_AGENT is None:
        from airflow import __version__ as airflow_version

        python = ".".join(map(str, sys.version_info[:3]))
        _USER_AGENT = (
            f"airflow-provider-hadoop-eco/{__version__} apache-airflow/{airflow_version} python/{python}"
        )
    return _USER_AGENT


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def is_transient(exc: BaseException) -> bool:
    """Whether a failed call may succeed if repeated: the one retry predicate of the provider."""
    return isinstance(exc, (HadoopEcoTransportError, HadoopEcoServerError, HadoopEcoRateLimitError))


def _log_retry(log: logging.Logger | Any, what: str) -> Callable[[Any], None]:
    def before_sleep(retry_state: Any) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        delay = retry_state.next_action.sleep if retry_state.next_action else 0
        log.warning(
            "%s failed (attempt %d): %s; retrying in %.1f s", what, retry_state.attempt_number, exc, delay
        )

    return before_sleep


def _make_wait(initial: float, maximum: float) -> Any:
    import tenacity

    backoff = tenacity.wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)

    def wait(retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, HadoopEcoRateLimitError) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER_SECONDS)
        return float(backoff(retry_state))

    return wait


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
    default_conn_name = "hadoop_eco_default"
    conn_type = CONN_TYPE
    hook_name = "Kakao Cloud Hadoop Eco"

    def __init__(
        self,
        hadoop_eco_conn_id: str = default_conn_name,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        retry_limit: int = 4,
        retry_delay: float = 1.0,
        retry_max_delay: float = 30.0,
    ) -> None:
        super().__init__()
        if retry_limit < 1:
            raise HadoopEcoConfigError(f"retry_limit must be at least 1, got {retry_limit}")
        self.hadoop_eco_conn_id = hadoop_eco_conn_id
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.retry_max_delay = retry_max_delay

    # --- credentials ---------------------------------------------------------------------------------

    def _load_credentials(self) -> HadoopEcoCredentials:
        return credentials_from_connection(self.get_connection(self.hadoop_eco_conn_id))

    @cached_property
    def credentials(self) -> HadoopEcoCredentials:
        """The connection's credentials, read once per hook."""
        return self._load_credentials()

    async def aget_credentials(self, *, refresh: bool = False) -> HadoopEcoCredentials:
        """The credentials, looked up without blocking the event loop and shared across triggers.

        The lookup runs in a worker thread (``sync_to_async``), which works in the Airflow 3 triggerer and
        in ``airflow dags test`` alike. Results are cached per connection id for a short time so that
        thousands of triggers do not each ask the secrets backend.
        """
        from airflow_provider_hadoop_eco.hooks.async_http import credentials_cache

        return await credentials_cache().get(self.hadoop_eco_conn_id, self._load_credentials, refresh=refresh)

    # --- response handling, shared by sync and async ---------------------------------------------------

    def _raise_for_status(
        self,
        *,
        status: int,
        content: bytes,
        headers: Mapping[str, str],
        cluster_id: str,
        method: str,
        credentials: HadoopEcoCredentials,
    ) -> None:
        if status == 200:
            return
        text = content.decode("utf-8", errors="replace")
        if "<html" in text[:500].lower():
            text = _TAGS.sub(" ", text)
        excerpt = body_excerpt(credentials.scrub(text))
        kwargs: dict[str, Any] = {"http_status": status, "cluster_id": cluster_id, "body": excerpt}
        if status == 202 and method == "POST":
            raise HadoopEcoClusterBusyError(
                "An operation on this cluster is already in progress, so no new job was started", **kwargs
            )
        if 300 <= status < 400:
            location = urlsplit(headers.get("Location", "")).netloc or "(no location)"
            raise HadoopEcoUnexpectedStatusError(
                f"The API answered with a redirect to {location}; it is not followed, "
                "because the credentials must never be sent to another address",
                **kwargs,
            )
        if status == 400:
            raise HadoopEcoBadRequestError("The API rejected the request as invalid", **kwargs)
        if status == 401:
            raise HadoopEcoAuthError(
                "Authentication failed: check the connection's access key ID (Login) and secret access key "
                "(Password)",
                **kwargs,
            )
        if status == 403:
            raise HadoopEcoAuthError(
                "Not permitted: check the connection's 'api_key', the Open API key issued for this very "
                "cluster (one connection per cluster)",
                **kwargs,
            )
        if status == 404:
            raise HadoopEcoNotFoundError(
                "Not found: the cluster id (or the request id) does not exist", **kwargs
            )
        if status == 429:
            raise HadoopEcoRateLimitError(
                "The API is rate limiting requests",
                retry_after=_parse_retry_after(headers.get("Retry-After")),
                **kwargs,
            )
        if status >= 500:
            raise HadoopEcoServerError("The API failed with a server error", **kwargs)
        raise HadoopEcoUnexpectedStatusError("The API answered with an undocumented HTTP status", **kwargs)

    @staticmethod
    def _parse_json(content: bytes, *, too_large: bool, cluster_id: str, what: str) -> Any:
        if too_large:
            raise HadoopEcoResponseError(
                f"{what} for cluster {cluster_id!r}: the response body is larger than {MAX_BODY_BYTES} bytes"
            )
        try:
            return json.loads(content)
        except ValueError as err:
            raise HadoopEcoResponseError(
                f"{what} for cluster {cluster_id!r}: the response is not JSON: {body_excerpt(content)!r}"
            ) from err

    # --- sync transport (requests) ----------------------------------------------------------------------

    @cached_property
    def _session(self) -> requests.Session:
        import requests

        session = requests.Session()
        # Never take proxies, certificates or credentials from ~/.netrc or the environment silently.
        session.trust_env = False
        return session

    def get_conn(self) -> requests.Session:
        """Return the pooled ``requests`` session used for read-only calls."""
        return self._session

    def _send_sync(
        self,
        method: str,
        path: str,
        *,
        cluster_id: str,
        what: str,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        import requests

        credentials = self.credentials
        url = credentials.base_url + path
        is_post = method == "POST"
        # A POST always gets a fresh connection: a stale pooled one could fail after the request was sent,
        # and then nobody could tell whether the job started.
        session = requests.Session() if is_post else self._session
        session.trust_env = False
        try:
            try:
                response = session.request(
                    method,
                    url,
                    headers=credentials.auth_headers(),
                    json=json_body,
                    params=params,
                    timeout=(self.connect_timeout, self.timeout),
                    allow_redirects=False,
                    verify=credentials.verify,
                    stream=True,
                )
            except requests.exceptions.RequestException as err:
                raise self._transport_error(err, what=what, cluster_id=cluster_id, is_post=is_post) from None
            try:
                content, too_large = _read_capped_sync(response)
            except requests.exceptions.RequestException as err:
                raise self._transport_error(err, what=what, cluster_id=cluster_id, is_post=is_post) from None
            finally:
                response.close()
        finally:
            if is_post:
                session.close()
        try:
            self._raise_for_status(
                status=response.status_code,
                content=content,
                headers=response.headers,
                cluster_id=cluster_id,
                method=method,
                credentials=credentials,
            )
        except HadoopEcoServerError as err:
            if is_post:
                raise HadoopEcoJobMayHaveStartedError(_may_have_started(what, cluster_id, str(err))) from None
            raise
        return self._parse_json(content, too_large=too_large, cluster_id=cluster_id, what=what)

    def _transport_error(
        self, err: Exception, *, what: str, cluster_id: str, is_post: bool
    ) -> HadoopEcoTransportError | HadoopEcoJobMayHaveStartedError:
        # str(err) of requests/urllib3 errors holds the URL and reason only, never headers.
        reason = f"{type(err).__name__}: {err}"
        if _never_sent(err):
            return HadoopEcoConnectError(
                f"{what} for cluster {cluster_id!r}: could not connect to the Hadoop Eco API, "
                f"the request was not sent ({reason})"
            )
        if is_post:
            return HadoopEcoJobMayHaveStartedError(_may_have_started(what, cluster_id, reason))
        return HadoopEcoTransportError(f"{what} for cluster {cluster_id!r}: {reason}")

    def _retry_policy(self, what: str, *, read_only: bool) -> dict[str, Any]:
        """The one retry policy: transient errors for reads; for a POST, only a request never sent."""
        import tenacity

        if read_only:
            retry = tenacity.retry_if_exception(is_transient)
        else:
            retry = tenacity.retry_if_exception_type(HadoopEcoConnectError)
        return {
            "retry": retry,
            "stop": tenacity.stop_after_attempt(self.retry_limit),
            "wait": _make_wait(self.retry_delay, self.retry_max_delay),
            "before_sleep": _log_retry(self.log, what),
            "reraise": True,
        }

    def _call(
        self,
        method: str,
        path: str,
        *,
        cluster_id: str,
        what: str,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Send one API call with the retry policy its method allows."""
        import tenacity

        for attempt in tenacity.Retrying(**self._retry_policy(what, read_only=method == "GET")):
            with attempt:
                return self._send_sync(
                    method, path, cluster_id=cluster_id, what=what, json_body=json_body, params=params
                )
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    # --- async transport (aiohttp, one pool per event loop) ---------------------------------------------

    @cached_property
    def _aiohttp_timeout(self) -> Any:
        import aiohttp

        return aiohttp.ClientTimeout(
            total=self.connect_timeout + self.timeout + 60.0,
            sock_connect=self.connect_timeout,
            sock_read=self.timeout,
        )

    async def _asend(
        self,
        path: str,
        *,
        credentials: HadoopEcoCredentials,
        cluster_id: str,
        what: str,
        params: dict[str, str] | None = None,
    ) -> Any:
        import aiohttp

        from airflow_provider_hadoop_eco.hooks.async_http import shared_session, ssl_option

        session = shared_session()
        try:
            async with session.get(
                credentials.base_url + path,
                headers=credentials.auth_headers(),
                params=params,
                timeout=self._aiohttp_timeout,
                allow_redirects=False,
                ssl=ssl_option(credentials.verify),
            ) as response:
                content, too_large = await _read_capped_async(response)
                status, headers = response.status, response.headers
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            # ClientConnectorError means no connection was made; anything else happened on the wire.
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

    async def _acall_get(
        self, path: str, *, cluster_id: str, what: str, params: dict[str, str] | None = None
    ) -> Any:
        """GET with retries on transient errors, never blocking the event loop."""
        credentials = await self.aget_credentials()
        refreshed = False
        while True:
            try:
                return await self._aget_with_retries(
                    path, credentials=credentials, cluster_id=cluster_id, what=what, params=params
                )
            except HadoopEcoAuthError:
                # Credentials are cached across triggers; a rotated key earns one fresh lookup.
                if refreshed:
                    raise
                refreshed = True
                credentials = await self.aget_credentials(refresh=True)

    async def _aget_with_retries(
        self,
        path: str,
        *,
        credentials: HadoopEcoCredentials,
        cluster_id: str,
        what: str,
        params: dict[str, str] | None,
    ) -> Any:
        # Nearly every poll succeeds at once, and building tenacity's objects costs more CPU than the poll
        # itself (measured in benchmarks/RESULTS.md): so the first attempt runs bare, and only a transient
        # failure brings in the retry loop, which replays that failure as its own first attempt.
        try:
            return await self._asend(
                path, credentials=credentials, cluster_id=cluster_id, what=what, params=params
            )
        except HadoopEcoError as err:
            if not is_transient(err) or self.retry_limit < 2:
                raise
            first_failure: HadoopEcoError | None = err
        import tenacity

        async for attempt in tenacity.AsyncRetrying(**self._retry_policy(what, read_only=True)):
            with attempt:
                if first_failure is not None:
                    failure, first_failure = first_failure, None
                    raise failure
                return await self._asend(
                    path, credentials=credentials, cluster_id=cluster_id, what=what, params=params
                )
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises


def _may_have_started(what: str, cluster_id: str, reason: str) -> str:
    return (
        f"{what} for cluster {cluster_id!r} was sent, but no usable answer came back ({reason}). "
        "The job MAY HAVE STARTED. It was not resubmitted, because the API has no idempotency key and a "
        "second call could run the job twice. Check the cluster in the Kakao Cloud console (Hadoop Eco > "
        "cluster > request history) before retrying; while that job runs, a new create call is answered "
        "with HTTP 202 and starts nothing."
    )


def _never_sent(err: Exception) -> bool:
    """Whether a ``requests`` error happened before any byte of the request was sent."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(err, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(err, requests.exceptions.ConnectionError):
        reason = getattr(err.args[0], "reason", None) if err.args else None
        return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return False


def _read_capped_sync(response: requests.Response) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], True
    return b"".join(chunks), False


async def _read_capped_async(response: Any) -> tuple[bytes, bool]:
    length = response.content_length
    if length is not None and length <= MAX_BODY_BYTES:
        return await response.read(), False
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], True
    return b"".join(chunks), False


__all__ = [
    "DEFAULT_BASE_URL",
    "BaseHadoopEcoHook",
    "HadoopEcoApiError",
    "HadoopEcoCredentials",
    "credentials_from_connection",
    "is_transient",
    "user_agent",
]
