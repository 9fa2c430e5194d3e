"""Small helpers shared by tests."""

from __future__ import annotations

import json
import socket
from typing import Any


def closed_port() -> int:
    """A loopback port with nothing listening (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Canary secrets: tests assert these never show up in logs, errors, XCom, kwargs or files.
CANARY_SECRET = "CANARY-SECRET-7f3a9c2e51"
CANARY_API_KEY = "CANARY-APIKEY-d41c8e07b6"
ACCESS_KEY_ID = "test-access-key-id"


def conn_json(
    host: str,
    *,
    login: Any = ACCESS_KEY_ID,
    password: Any = CANARY_SECRET,
    api_key: Any = CANARY_API_KEY,
    **extra: Any,
) -> str:
    """Connection JSON for ``AIRFLOW_CONN_*``: the canary credentials unless given, and ``extra``."""
    return json.dumps(
        {
            "conn_type": "hadoop_eco",
            "host": host,
            "login": login,
            "password": password,
            "extra": {"api_key": api_key, **extra},
        }
    )


def status_body(result: str | None = None, status: str = "Running", **extra: Any) -> dict[str, Any]:
    """A status response of request ``req-1`` on cluster ``c-1`` (cluster name ``etl``)."""
    return {
        "clusterId": "c-1",
        "clusterName": "etl",
        "requestId": "req-1",
        "requestStatus": status,
        "requestResult": result,
        **extra,
    }


REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
