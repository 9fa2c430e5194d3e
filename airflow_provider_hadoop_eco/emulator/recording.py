"""The request record: every API request the emulator received, with secret header values redacted."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_hadoop_eco.emulator.model import REDACTED

DEFAULT_MAX_RECORDS = 100_000
#: Header names (lower-case) whose values never reach the request record.
SECRET_HEADERS = frozenset(
    {"credential-secret", "hadoop-eco-api-key", "authorization", "cookie", "proxy-authorization"}
)


def _parse_body(raw_body: bytes) -> Any:
    if not raw_body:
        return None
    try:
        return json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        return raw_body.decode("utf-8", "replace")


class RequestRecord:
    """A bounded, thread-safe log of requests (oldest dropped first); a no-op when disabled."""

    def __init__(self, enabled: bool, max_records: int, lock: threading.RLock) -> None:
        self.enabled = bool(enabled)
        self.entries: deque[dict[str, Any]] = deque(maxlen=max_records)
        self._lock = lock
        self._seq = itertools.count(1)

    def add(
        self,
        *,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Iterable[tuple[str, str]],
        raw_body: bytes,
        status: int | None,
        fault: str | None,
        cluster_id: str | None,
        dialect: str | None,
        emulated_time: float,
        peer: str | None = None,
    ) -> None:
        """Append one entry (secret header values redacted, the body parsed as JSON when it is JSON)."""
        if not self.enabled:
            return
        entry = {
            "seq": next(self._seq),
            "timestamp": time.time(),
            "emulated_time": emulated_time,
            "method": method,
            "path": path,
            "query": dict(query),
            "headers": {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers},
            "body": _parse_body(raw_body),
            "status": status,
            "fault": fault,
            "cluster_id": cluster_id,
            "dialect": dialect,
            # The client end of the TCP connection: requests that share a connection share it, so a test
            # can count connections (e.g. prove every request came through a proxy's tunnels).
            "peer": peer,
        }
        with self._lock:
            self.entries.append(entry)

    def select(
        self,
        method: str | None = None,
        cluster_id: str | None = None,
        request_id: str | None = None,
        dialect: str | None = None,
    ) -> list[dict[str, Any]]:
        """Entries, oldest first, optionally filtered (``None`` = any)."""
        with self._lock:
            items = list(self.entries)
        out = []
        for r in items:
            if method is not None and r["method"] != method.upper():
                continue
            if cluster_id is not None and r["cluster_id"] != cluster_id:
                continue
            if request_id is not None and not r["path"].endswith("/request-id/" + request_id):
                continue
            if dialect is not None and r["dialect"] != dialect:
                continue
            out.append(r)
        return out

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)
