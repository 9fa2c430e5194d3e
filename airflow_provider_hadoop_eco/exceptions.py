"""Exceptions raised by the Hadoop Eco provider.

Every error the provider raises is a :class:`HadoopEcoError`, itself an ``AirflowException``, so a DAG
author can catch one family and Airflow shows a readable message. Messages name the cluster, the HTTP
status and a short excerpt of the response body; they never contain a credential.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException


class HadoopEcoError(AirflowException):
    """Base class of every error raised by the Hadoop Eco provider."""


class HadoopEcoConfigError(HadoopEcoError, ValueError):
    """The connection or the task arguments are invalid; nothing was sent."""


class HadoopEcoTransportError(HadoopEcoError):
    """The API could not be reached or did not answer in time (connection error, timeout)."""


class HadoopEcoConnectError(HadoopEcoTransportError):
    """No connection to the API could be opened, so the request was provably never sent."""


class HadoopEcoCertificateError(HadoopEcoConnectError):
    """The API's TLS certificate was not trusted: nothing was sent, and repeating will not help.

    Set the connection's ``verify`` extra to the CA bundle that signs it (for example a company's
    TLS-inspecting proxy CA).
    """


class HadoopEcoProxyRefusedError(HadoopEcoConnectError):
    """The connection's proxy refused the request (HTTP 407): nothing reached the API.

    Repeating the same request will not help: check the credentials in the proxy URL.
    """


class HadoopEcoConnectionLookupError(HadoopEcoError):
    """The Airflow connection could not be read (missing, or the secrets backend failed)."""


class HadoopEcoJobMayHaveStartedError(HadoopEcoError):
    """A create call was sent but its outcome is unknown: the job may be running.

    The API has no idempotency key, so the provider never repeats such a call on its own.
    """


class HadoopEcoResponseError(HadoopEcoError):
    """The API answered with a body the provider cannot use (not JSON, missing keys, wrong types)."""


class HadoopEcoApiError(HadoopEcoError):
    """The API answered with an HTTP status that is not a success.

    :param message: what went wrong, in words.
    :param http_status: the HTTP status code.
    :param cluster_id: the cluster the call was about.
    :param body: a short, secret-free excerpt of the response body.
    """

    def __init__(self, message: str, *, http_status: int, cluster_id: str, body: str = "") -> None:
        # Not ``status_code``: AirflowException already uses that name for another purpose.
        self.http_status = http_status
        self.cluster_id = cluster_id
        self.body = body
        text = f"{message} (cluster {cluster_id!r}, HTTP {http_status})"
        if body:
            text += f": {body}"
        super().__init__(text)


class HadoopEcoBadRequestError(HadoopEcoApiError):
    """HTTP 400: the API rejected the request (invalid setting or parameter)."""


class HadoopEcoAuthError(HadoopEcoApiError):
    """HTTP 401 or 403: the credentials or the cluster's Open API key were refused."""


class HadoopEcoNotFoundError(HadoopEcoApiError):
    """HTTP 404: the cluster or the request id does not exist."""


class HadoopEcoClusterBusyError(HadoopEcoApiError):
    """HTTP 202 on create: an operation on this cluster is already in progress; no new job was started."""


class HadoopEcoRateLimitError(HadoopEcoApiError):
    """HTTP 429: too many requests. ``retry_after`` holds the server's advice in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class HadoopEcoServerError(HadoopEcoApiError):
    """HTTP 5xx: the API or a load balancer in front of it failed."""


class HadoopEcoUnexpectedStatusError(HadoopEcoApiError):
    """An HTTP status the API does not document (for example a redirect, which is never followed)."""


class HadoopEcoJobFailedError(HadoopEcoError):
    """The job of the cluster ended with requestResult Failure."""


class HadoopEcoTimeoutError(HadoopEcoError):
    """Waiting for a request exceeded the configured timeout. The job itself may still be running."""


def rebuild_error(
    name: str | None, message: str, *, http_status: int | None, cluster_id: str
) -> HadoopEcoError:
    """The error a trigger's ``error`` event stands for, of the class the trigger saw (by name).

    Events are plain JSON, so the exception itself cannot cross from the triggerer to the worker; its class
    can, and a ``retry_policy`` or an ``except`` clause can then tell a configuration error from a timeout.
    """
    cls = globals().get(name or "")
    if not (isinstance(cls, type) and issubclass(cls, HadoopEcoError)):
        cls = HadoopEcoError
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    if isinstance(error, HadoopEcoApiError):
        error.http_status, error.cluster_id, error.body = http_status or 0, cluster_id, ""
    if isinstance(error, HadoopEcoRateLimitError):
        error.retry_after = None
    return error


def is_transient(exc: BaseException) -> bool:
    """Whether a failed call may succeed if repeated: the one retry predicate of the provider.

    An untrusted certificate or a proxy refusing our credentials is a configuration problem, so it is not
    transient; a connection lookup that failed (secrets backend down) may well succeed later.
    """
    if isinstance(exc, (HadoopEcoCertificateError, HadoopEcoProxyRefusedError)):
        return False
    return isinstance(
        exc,
        (
            HadoopEcoTransportError,
            HadoopEcoServerError,
            HadoopEcoRateLimitError,
            HadoopEcoConnectionLookupError,
        ),
    )
