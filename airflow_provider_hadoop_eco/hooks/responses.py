"""What an HTTP answer means: status to exception, capped body reading, JSON parsing, scrubbed excerpts.

Shared by the sync and async transports. Endpoint rules (202 on create means "busy", a lost create answer
means "may have started") are not here: they belong to the endpoint methods of the hook.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoApiError,
    HadoopEcoAuthError,
    HadoopEcoBadRequestError,
    HadoopEcoNotFoundError,
    HadoopEcoRateLimitError,
    HadoopEcoResponseError,
    HadoopEcoServerError,
    HadoopEcoUnexpectedStatusError,
)

#: Bodies larger than this are refused rather than parsed (the verbose status is a few KB).
MAX_BODY_BYTES = 1024 * 1024
#: How much of a response body an error message quotes.
BODY_EXCERPT_CHARS = 300

_TAGS = r"<[^>]+>"


class ApiRequest(NamedTuple):
    """One call to the API, as the transport sends it and as messages describe it.

    :param method: ``GET`` (read-only, retried on transient errors) or ``POST`` (never repeated once it
        may have reached the API).
    :param url: the full URL, query included.
    :param operation: what the call does, for messages (``Create cluster``, ``Request status``).
    :param cluster_id: the cluster the call is about, for messages.
    :param request_id: the create request a status call is about.
    :param body: the JSON body of a POST.
    """

    method: str
    url: str
    operation: str
    cluster_id: str
    request_id: str | None = None
    body: dict[str, Any] | None = None

    @property
    def read_only(self) -> bool:
        """Whether repeating the call cannot start anything."""
        return self.method == "GET"

    def describe(self) -> str:
        """``Request status for cluster 'c-1', request 'req-1'``: how every message about it starts."""
        about = f", request {self.request_id!r}" if self.request_id else ""
        return f"{self.operation} for cluster {self.cluster_id!r}{about}"


class ApiResponse(NamedTuple):
    """An answer read off the wire: status, headers and at most :data:`MAX_BODY_BYTES` of body.

    :param status: the HTTP status code.
    :param headers: the response headers.
    :param content: the body, cut at the cap.
    :param too_large: whether the body was longer than the cap.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes
    too_large: bool = False


Scrub = Callable[[str], str]


def body_excerpt(body: str | bytes | None, scrub: Scrub, limit: int = BODY_EXCERPT_CHARS) -> str:
    """A short, single-line, secret-free excerpt of a response body for an error message.

    HTML error pages (load balancers, proxies) are reduced to their text.
    """
    if not body:
        return ""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if "<html" in text[:500].lower():
        text = re.sub(_TAGS, " ", text)
    text = " ".join(scrub(text).split())
    if len(text) > limit:
        return text[:limit] + f"... [{len(text) - limit} more characters]"
    return text


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError):
            return None
    return max(0.0, seconds) if seconds == seconds else None  # NaN is not a delay


def raise_for_status(response: ApiResponse, request: ApiRequest, scrub: Scrub) -> None:
    """Return for a usable status; raise the matching error otherwise.

    A status call accepts only the documented 200. A create call accepts any 2xx, because a job it started
    must never be lost: the endpoint decides from the body (a ``requestId`` means started; 202 means busy).
    """
    status = response.status
    if status == 200 or (not request.read_only and 200 <= status < 300):
        return
    kwargs: dict[str, Any] = {
        "http_status": status,
        "cluster_id": request.cluster_id,
        "body": body_excerpt(response.content, scrub),
    }
    error: HadoopEcoApiError
    if 300 <= status < 400:
        location = urlsplit(response.headers.get("Location", "")).hostname or "(no location)"
        error = HadoopEcoUnexpectedStatusError(
            f"The API answered with a redirect to {location}; it is not followed, because the credentials "
            "must never be sent to another address",
            **kwargs,
        )
    elif status == 400:
        error = HadoopEcoBadRequestError("The API rejected the request as invalid", **kwargs)
    elif status == 401:
        error = HadoopEcoAuthError(
            "Authentication failed: check the connection's access key ID (Login) and secret access key "
            "(Password)",
            **kwargs,
        )
    elif status == 403:
        error = HadoopEcoAuthError(
            "Not permitted: check the connection's 'api_key', the Open API key issued for this very "
            "cluster (one connection per cluster)",
            **kwargs,
        )
    elif status == 404:
        error = HadoopEcoNotFoundError(
            "Not found: the cluster id (or the request id) does not exist", **kwargs
        )
    elif status == 429:
        error = HadoopEcoRateLimitError(
            "The API is rate limiting requests",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            **kwargs,
        )
    elif status >= 500:
        error = HadoopEcoServerError("The API failed with a server error", **kwargs)
    else:
        error = HadoopEcoUnexpectedStatusError("The API answered with an undocumented HTTP status", **kwargs)
    raise error


def parse_json(response: ApiResponse, request: ApiRequest, scrub: Scrub) -> Any:
    """The body as JSON.

    :raises HadoopEcoResponseError: the body is over the cap, not JSON, or nested beyond Python's limits.
    """
    if response.too_large:
        raise HadoopEcoResponseError(
            f"{request.describe()}: the response body is larger than {MAX_BODY_BYTES} bytes"
        )
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        excerpt = body_excerpt(response.content, scrub) or "(empty body)"
        raise HadoopEcoResponseError(
            f"{request.describe()}: the response (HTTP {response.status}) is not JSON: {excerpt}"
        ) from None


def read_capped_sync(response: Any) -> tuple[bytes, bool]:
    """Read a ``requests`` response streamed in chunks, stopping past the cap."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], True
    return b"".join(chunks), False


async def read_capped_async(response: Any) -> tuple[bytes, bool]:
    """Read an ``aiohttp`` response, stopping past the cap (one read when the length is known and small)."""
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
