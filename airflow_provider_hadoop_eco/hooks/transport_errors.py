"""What a failed HTTP call means: never sent, sent without an answer, or not even buildable.

The transport's one job with errors: turn ``requests`` and ``aiohttp`` exceptions into the provider's
neutral errors, with a secret-free reason. Whether "sent without an answer" means the job may have
started is for the endpoint to say.
"""

from __future__ import annotations

import ssl

from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoCertificateError,
    HadoopEcoConfigError,
    HadoopEcoConnectError,
    HadoopEcoError,
    HadoopEcoProxyRefusedError,
    HadoopEcoTransportError,
)
from airflow_provider_hadoop_eco.hooks.connection import HadoopEcoCredentials, redact_url
from airflow_provider_hadoop_eco.hooks.responses import ApiRequest


def _reason(err: BaseException, credentials: HadoopEcoCredentials) -> str:
    # Library messages hold the URL and reason, never headers; scrubbed all the same, in case a proxy
    # URL with a password or an echoed value slipped in.
    text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    for url in [*credentials.proxies.values(), *credentials.env_proxies.values()]:
        text = text.replace(url, redact_url(url))
    return credentials.scrub(text)[:500]


def _connect_error(
    request: ApiRequest, credentials: HadoopEcoCredentials, reason: str, *, before_tls: bool
) -> HadoopEcoConnectError:
    proxy = credentials.proxy_for(request.url)
    via = f" through the proxy {redact_url(proxy)}" if proxy else ""
    error = HadoopEcoConnectError(
        f"{request.describe()}: could not connect to the Hadoop Eco API{via}; the request was not sent "
        f"({reason})"
    )
    error.before_tls = before_tls  # type: ignore[attr-defined]
    return error


def proxy_refused_error(request: ApiRequest, credentials: HadoopEcoCredentials) -> HadoopEcoProxyRefusedError:
    """The error for a proxy that answered 407: it forwarded nothing."""
    proxy = redact_url(credentials.proxy_for(request.url) or "")
    return HadoopEcoProxyRefusedError(
        f"{request.describe()}: the proxy {proxy} refused the request (HTTP 407 Proxy Authentication "
        "Required), so it was not sent to the Hadoop Eco API. Check the user and password in the "
        "connection's 'proxies' URL."
    )


def _certificate_error(request: ApiRequest, reason: str) -> HadoopEcoCertificateError:
    return HadoopEcoCertificateError(
        f"{request.describe()}: the API's TLS certificate is not trusted, so the request was not sent "
        f"({reason}). If a proxy inspects TLS, set the connection's extra 'verify' to its CA bundle."
    )


def sync_transport_error(
    err: Exception, request: ApiRequest, credentials: HadoopEcoCredentials
) -> HadoopEcoError:
    """The provider error for a ``requests`` exception (sync transport)."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    reason = _reason(err, credentials)
    if not isinstance(err, requests.exceptions.RequestException):
        # urllib3's LocationParseError and the like: the URL or a header could not be built.
        return HadoopEcoConfigError(
            f"{request.describe()}: the request could not be built, nothing was sent ({reason})"
        )
    if isinstance(
        err,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidHeader,
            requests.exceptions.InvalidProxyURL,
        ),
    ):
        return HadoopEcoConfigError(
            f"{request.describe()}: the request could not be built, nothing was sent ({reason})"
        )
    if isinstance(err, requests.exceptions.SSLError):
        if _caused_by(err, ssl.SSLCertVerificationError):
            return _certificate_error(request, reason)
        return _connect_error(request, credentials, reason, before_tls=False)
    if isinstance(err, requests.exceptions.ProxyError) and " 407" in str(err):
        return proxy_refused_error(request, credentials)
    if isinstance(err, (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError)):
        return _connect_error(request, credentials, reason, before_tls=True)
    if isinstance(err, requests.exceptions.ConnectionError) and _caused_by(
        err, (NewConnectionError, ConnectTimeoutError)
    ):
        return _connect_error(request, credentials, reason, before_tls=True)
    return HadoopEcoTransportError(f"{request.describe()}: {reason}")


def async_transport_error(
    err: BaseException, request: ApiRequest, credentials: HadoopEcoCredentials
) -> HadoopEcoError:
    """The provider error for an ``aiohttp`` exception (async transport)."""
    import aiohttp

    reason = _reason(err, credentials)
    if isinstance(err, aiohttp.ClientConnectorCertificateError) or _caused_by(
        err, ssl.SSLCertVerificationError
    ):
        return _certificate_error(request, reason)
    if isinstance(err, aiohttp.ClientHttpProxyError):
        if err.status == 407:
            return proxy_refused_error(request, credentials)
        return _connect_error(request, credentials, reason, before_tls=True)
    if isinstance(err, aiohttp.ClientConnectorSSLError):
        return _connect_error(request, credentials, reason, before_tls=False)
    if isinstance(err, (aiohttp.ClientConnectorError, aiohttp.ClientProxyConnectionError)):
        return _connect_error(request, credentials, reason, before_tls=True)
    if isinstance(err, aiohttp.InvalidURL) or (
        isinstance(err, ValueError) and not isinstance(err, aiohttp.ClientError)
    ):
        return HadoopEcoConfigError(
            f"{request.describe()}: the request could not be built, nothing was sent ({type(err).__name__})"
        )
    return HadoopEcoTransportError(f"{request.describe()}: {reason}")


def _caused_by(err: BaseException, types: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
    """Whether ``err`` or anything in its chain of causes (and urllib3's ``reason``) is one of ``types``."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [err]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, types):
            return True
        stack += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        stack += [a for a in current.args if isinstance(a, BaseException)]
    return False
