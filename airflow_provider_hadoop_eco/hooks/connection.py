"""Reading an Airflow connection of type ``hadoop_eco``: credentials, endpoint, TLS and proxies (no HTTP).

Every rule about what a connection may say lives here, so the sync and async transports, the trigger and
the connection test all judge a connection the same way. Errors name the field that is wrong, never its
value: the value may be a secret.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

from airflow_provider_hadoop_eco import __version__
from airflow_provider_hadoop_eco.defaults import (
    DEFAULT_REGION,
    LEGACY_EXTRA_PREFIX,
    REGIONS,
    is_loopback,
    parse_flag,
)
from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError


class Endpoint(NamedTuple):
    """Where the API of one connection lives: base URL and the paths of its dialect.

    :param region: the region whose dialect the paths follow.
    :param base_url: scheme, host, optional port and path prefix, without a trailing slash.
    :param create_path: path template of the create call, with ``{cluster_id}``.
    :param status_path: path template of the status call, with ``{cluster_id}`` and ``{request_id}``.
    """

    region: str
    base_url: str
    create_path: str
    status_path: str

    def create_url(self, cluster_id: str) -> str:
        """The URL of the create call for a (validated) cluster id."""
        return self.base_url + self.create_path.format(cluster_id=quote(cluster_id, safe=""))

    def status_url(self, cluster_id: str, request_id: str, verbose: bool) -> str:
        """The URL of the status call, its ``verbose`` query included."""
        path = self.status_path.format(
            cluster_id=quote(cluster_id, safe=""), request_id=quote(request_id, safe="")
        )
        return f"{self.base_url}{path}?verbose={'true' if verbose else 'false'}"


#: Shared empty default; a NamedTuple default is one object, so it must not be mutable.
_NO_PROXIES: Mapping[str, str] = MappingProxyType({})


class HadoopEcoCredentials(NamedTuple):
    """Everything needed to call the API, read from one Airflow connection (immutable).

    :param conn_id: the Airflow connection id they came from.
    :param endpoint: base URL and paths of the connection's region.
    :param access_key_id: sent as ``Credential-ID``.
    :param secret_access_key: sent as ``Credential-Secret``; never shown in ``repr``.
    :param api_key: the cluster's Open API key, sent as ``Hadoop-Eco-Api-Key``; never shown in ``repr``.
    :param verify: TLS verification: True (certifi's CA bundle), False, or the path of a CA bundle/directory.
    :param proxies: proxy URL per target scheme (``http``/``https``) named by the connection.
    :param env_proxies: proxy URL per target scheme taken from the environment (``trust_env``), for
        the schemes the connection names none.
    :param no_proxy: the environment's ``NO_PROXY``, which exempts hosts from ``env_proxies`` only.
    :param test_cluster_id: the extra ``cluster_id`` the connection test probes, if set.
    """

    conn_id: str
    endpoint: Endpoint
    access_key_id: str
    secret_access_key: str
    api_key: str
    verify: bool | str = True
    proxies: Mapping[str, str] = _NO_PROXIES
    env_proxies: Mapping[str, str] = _NO_PROXIES
    no_proxy: str | None = None
    test_cluster_id: str | None = None

    def __repr__(self) -> str:
        # Secrets and proxy URLs (which may carry a password) never appear in a repr or a log line.
        shown = ("conn_id", "endpoint", "access_key_id", "verify", "no_proxy", "test_cluster_id")
        return f"HadoopEcoCredentials({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"

    @property
    def base_url(self) -> str:
        """Scheme, host and path prefix of the API."""
        return self.endpoint.base_url

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

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL a request to ``url`` goes through, or None for a direct connection."""
        if not (self.proxies or self.env_proxies):
            return None
        scheme = urlsplit(url).scheme
        if scheme in self.proxies:
            return self.proxies[scheme]
        proxy = self.env_proxies.get(scheme)
        if proxy and self.no_proxy:
            # requests' own reading of NO_PROXY (host suffixes, IP networks, ports), as curl does.
            from requests.utils import should_bypass_proxies

            if should_bypass_proxies(url, no_proxy=self.no_proxy):
                return None
        return proxy

    def scrub(self, text: str) -> str:
        """Remove every secret of this connection from a text quoted back from a server or a library."""
        for secret in self._secrets():
            text = text.replace(secret, "***")
        return text

    def _secrets(self) -> list[str]:
        secrets = [s for s in (self.secret_access_key, self.api_key) if s]
        urls = [*self.proxies.values(), *self.env_proxies.values()]
        secrets += [p for p in (urlsplit(u).password for u in urls) if p]
        return secrets


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


def _mask(*values: str) -> None:
    from airflow.providers.common.compat.sdk import mask_secret

    for value in values:
        if value:
            mask_secret(value)


def _header_safe(value: str) -> bool:
    """Whether ``value`` may be sent in an HTTP header: printable ASCII only.

    Secrets from files and secrets backends often end in a newline; that is stripped before this check,
    anything else is refused rather than sent or echoed.
    """
    return value.isascii() and value.isprintable()


def _header_value(conn_id: str, label: str, value: Any, *, secret: bool) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise HadoopEcoConfigError(f"Connection {conn_id!r}: {label} must be a string")
    if secret:
        _mask(value, value.strip())  # before any check: an error below must not expose it either
    value = value.strip()
    if not _header_safe(value):
        raise HadoopEcoConfigError(
            f"Connection {conn_id!r}: {label} contains a control or non-ASCII character, which cannot be "
            "sent in an HTTP header. Copy the value again without it."
        )
    return value


def _path_template(conn_id: str, name: str, value: str, placeholders: tuple[str, ...]) -> str:
    fields = re.findall(r"\{([^{}]*)\}", value)
    problem = None
    if not value.startswith("/"):
        problem = "must start with '/'"
    elif sorted(fields) != sorted(placeholders) or not value.count("{") == value.count("}") == len(fields):
        problem = "must contain " + " and ".join("{" + p + "}" for p in placeholders) + " and no other braces"
    elif not _header_safe(value) or any(c in value for c in " ?#"):
        problem = "must be a URL path without spaces, '?', '#' or control characters"
    if problem:
        raise HadoopEcoConfigError(f"Connection {conn_id!r}: extra {name!r} {problem}, got {value!r}")
    return value


def _region(conn_id: str, value: Any, host: str) -> str:
    if value is None:
        return "kr-central-2" if "kr-central-2" in host else DEFAULT_REGION
    if value not in REGIONS:
        raise HadoopEcoConfigError(
            f"Connection {conn_id!r}: extra 'region' must be one of {', '.join(REGIONS)}, got {value!r}"
        )
    return str(value)


# A pattern, not a compiled regex: re compiles and caches it on first use, not at import.
_DNS_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"


def _valid_hostname(hostname: str) -> bool:
    """A DNS name (labels of 1 to 63 letters, digits or inner hyphens) or an IP address."""
    import ipaddress

    try:
        ipaddress.ip_address(hostname)
        return True
    except ValueError:
        pass
    name = hostname[:-1] if hostname.endswith(".") else hostname
    return 0 < len(name) <= 253 and all(re.fullmatch(_DNS_LABEL, label) for label in name.split("."))


def _base_url(conn: Any, conn_id: str, default: str) -> str:
    host = conn.host.strip() if isinstance(conn.host, str) else ""
    if not host:
        return default
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "https"
        host = f"{scheme}://{host}"
    problem = f"Connection {conn_id!r}: Host must be a base URL like {default}, got {host!r}"
    if not _header_safe(host) or " " in host:
        raise HadoopEcoConfigError(problem)
    try:
        parts = urlsplit(host)
        port = parts.port
    except ValueError:  # a bad port, or an unbalanced IPv6 bracket
        raise HadoopEcoConfigError(problem) from None
    netloc = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("http", "https") or not _valid_hostname(parts.hostname or "") or parts.query:
        raise HadoopEcoConfigError(problem)
    if parts.username or parts.password:
        raise HadoopEcoConfigError(f"Connection {conn_id!r}: Host must not carry credentials")
    if conn.port and port is None:
        netloc = f"{netloc}:{conn.port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _verify(conn_id: str, value: Any) -> bool | str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    flag = parse_flag(value)
    if flag is not None:
        return flag
    if not isinstance(value, str):
        raise HadoopEcoConfigError(
            f"Connection {conn_id!r}: extra 'verify' must be true, false or a CA bundle path"
        )
    path = value.strip()
    if not os.path.exists(path):
        raise HadoopEcoConfigError(
            f"Connection {conn_id!r}: extra 'verify' names the CA bundle {path!r}, which does not exist "
            "on this machine (it must exist on every worker and triggerer)"
        )
    return path


def _switch(conn_id: str, name: str, value: Any) -> bool:
    """An on/off extra: unset or empty is off; anything but a yes/no word is an error naming the extra."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    flag = parse_flag(value)
    if flag is None:
        raise HadoopEcoConfigError(f"Connection {conn_id!r}: extra {name!r} must be true or false")
    return flag


def _env_proxies() -> tuple[dict[str, str], str | None]:
    """The environment's HTTP(S) proxies and its NO_PROXY list, read as curl and requests read them."""
    from urllib.request import getproxies_environment

    env = getproxies_environment()
    return {k: v for k, v in env.items() if k in ("http", "https")}, env.get("no")


def _proxies(conn_id: str, value: Any, where: str = "extra 'proxies'") -> dict[str, str]:
    if isinstance(value, str) and value.strip().startswith("{"):
        import json

        try:  # the Airflow 2 form and secrets backends may hold the mapping as JSON text
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise HadoopEcoConfigError(f"Connection {conn_id!r}: {where} is not valid JSON") from None
    if value is None or value == {}:
        return {}
    if not isinstance(value, Mapping):
        raise HadoopEcoConfigError(
            f'Connection {conn_id!r}: {where} must be a mapping like {{"https": "http://proxy:3128"}}'
        )
    proxies: dict[str, str] = {}
    for scheme, url in value.items():
        if scheme not in ("http", "https"):
            raise HadoopEcoConfigError(
                f"Connection {conn_id!r}: {where} may only have the keys 'http' and 'https', got {scheme!r}"
            )
        if not isinstance(url, str) or not url.strip():
            raise HadoopEcoConfigError(f"Connection {conn_id!r}: proxy for {scheme!r} must be a URL")
        url = url.strip()
        parts = urlsplit(url)
        if parts.password:
            _mask(parts.password)
        shown = redact_url(url)
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise HadoopEcoConfigError(
                f"Connection {conn_id!r}: proxy for {scheme!r} has an invalid port: {shown}"
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname or not _header_safe(url):
            raise HadoopEcoConfigError(
                f"Connection {conn_id!r}: proxy for {scheme!r} must be an http:// or https:// URL with a "
                f"host, got {shown}"
            )
        proxies[scheme] = url
    return proxies


def redact_url(url: str) -> str:
    """A URL with its password replaced by ``***``, for messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _extras(conn: Any, conn_id: str) -> dict[str, Any]:
    try:
        extras = conn.extra_dejson or {}
    except (ValueError, RecursionError) as err:  # never a raw JSONDecodeError
        raise HadoopEcoConfigError(f"Connection {conn_id!r}: the Extra field is not valid JSON") from err
    if not isinstance(extras, dict):
        raise HadoopEcoConfigError(f"Connection {conn_id!r}: the Extra field must be a JSON object")
    return extras


def extra_value(extras: Mapping[str, Any], name: str) -> Any:
    """An extra read unprefixed or with the legacy prefix; empty and null values count as unset."""
    for key in (name, LEGACY_EXTRA_PREFIX + name):
        value = extras.get(key)
        if value is not None and value != "":
            return value
    return None


def credentials_from_connection(conn: Any) -> HadoopEcoCredentials:
    """Read and check an Airflow connection of type ``hadoop_eco``.

    :raises HadoopEcoConfigError: a credential is missing or unusable, or the endpoint, TLS or proxy
        settings are invalid or unsafe. Nothing has been sent.
    """
    conn_id = conn.conn_id or "(unnamed)"
    extras = _extras(conn, conn_id)

    def extra(name: str) -> Any:
        return extra_value(extras, name)

    secret = _header_value(
        conn_id, "Password (secret access key, sent as Credential-Secret)", conn.password, secret=True
    )
    api_key = _header_value(
        conn_id, "extra 'api_key' (the cluster's Open API key)", extra("api_key"), secret=True
    )
    access_key_id = _header_value(conn_id, "Login (access key ID)", conn.login, secret=False)
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

    host = conn.host if isinstance(conn.host, str) else ""
    region = REGIONS[_region(conn_id, extra("region"), host)]
    base_url = _base_url(conn, conn_id, region.base_url)
    parts = urlsplit(base_url)
    insecure_http_allowed = _switch(conn_id, "allow_insecure_http", extra("allow_insecure_http"))
    if parts.scheme == "http" and not is_loopback(parts.hostname or "") and not insecure_http_allowed:
        raise HadoopEcoConfigError(
            f"Connection {conn_id!r}: refusing to send credentials over plain http to {parts.hostname!r}. "
            "Use https, or set the extra 'allow_insecure_http' to true if you really mean it."
        )
    create_path = extra("create_path")
    status_path = extra("status_path")
    endpoint = Endpoint(
        region=region.name,
        base_url=base_url,
        create_path=_path_template(conn_id, "create_path", str(create_path), ("cluster_id",))
        if create_path is not None
        else region.create_path,
        status_path=_path_template(conn_id, "status_path", str(status_path), ("cluster_id", "request_id"))
        if status_path is not None
        else region.status_path,
    )
    test_cluster_id = extra("cluster_id")
    env_proxies, no_proxy = (
        _env_proxies() if _switch(conn_id, "trust_env", extra("trust_env")) else ({}, None)
    )
    return HadoopEcoCredentials(
        conn_id=conn_id,
        endpoint=endpoint,
        access_key_id=access_key_id,
        secret_access_key=secret,
        api_key=api_key,
        verify=_verify(conn_id, extra("verify")),
        proxies=_proxies(conn_id, extra("proxies")),
        env_proxies=_proxies(conn_id, env_proxies, "the environment's HTTP(S)_PROXY"),
        no_proxy=no_proxy,
        test_cluster_id=str(test_cluster_id).strip() if test_cluster_id is not None else None,
    )
