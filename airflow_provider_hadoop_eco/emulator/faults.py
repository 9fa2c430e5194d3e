"""Scripted misbehaviour: the :class:`Fault` definition and what the emulator answers when one applies.

No aiohttp here: :func:`fault_answer` describes the answer as a :class:`FaultAnswer`, and the HTTP layer
(:mod:`.handlers`) turns that into a response, so this module stays importable without a web server.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from airflow_provider_hadoop_eco.emulator.contract import UNSET, error_body

FAULT_KINDS = ("status", "rate_limit", "slow", "drop", "malformed_json", "unknown_status", "redirect", "body")
_fault_ids = itertools.count(1)

# What an nginx-style proxy in front of the API would send, for clients that assume JSON errors.
_HTML_PAGE = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>emulated-proxy</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass
class Fault:
    """A scripted misbehaviour applied to the next ``count`` matching API requests.

    ``cluster_id``/``method`` narrow which requests match (``None`` = any). ``count=None`` never runs out.
    """

    kind: str
    cluster_id: str | None = None
    method: str | None = None
    count: int | None = 1
    code: int | None = None
    html: bool = False
    retry_after: float = 1
    delay: float = 1.0
    process: bool = False
    location: str | None = None
    body: Any = None
    content_type: str | None = None
    request_status: Any = UNSET
    request_result: Any = UNSET
    id: int = field(default_factory=lambda: next(_fault_ids))
    hits: int = 0

    PARAMS = (
        "kind", "cluster_id", "method", "count", "code", "html", "retry_after", "delay", "process",
        "location", "body", "content_type", "request_status", "request_result",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.method is not None:
            self.method = str(self.method).upper()
            if self.method not in ("GET", "POST"):
                raise ValueError(f"fault method must be GET or POST, got {self.method!r}")
        if self.count is not None and (type(self.count) is not int or self.count < 1):
            raise ValueError(f"fault count must be a positive integer or null, got {self.count!r}")
        if self.kind == "status":
            self.code = 500 if self.code is None else int(self.code)
            if not 400 <= self.code <= 599:
                raise ValueError(f"status fault code must be 4xx/5xx, got {self.code}")
        elif self.kind == "redirect":
            self.code = 302 if self.code is None else int(self.code)
            if self.code not in (301, 302, 303, 307, 308):
                raise ValueError(f"redirect code must be 301/302/303/307/308, got {self.code}")
            if not self.location:
                raise ValueError("redirect fault needs a 'location'")
        elif self.kind == "body":
            if self.body is None:
                raise ValueError("body fault needs a 'body' (a raw string, or any JSON value)")
            self.code = 200 if self.code is None else int(self.code)
        elif self.kind == "unknown_status" and self.request_status is UNSET and self.request_result is UNSET:
            self.request_status = "WEIRD"
        if self.kind in ("slow",) and float(self.delay) < 0:
            raise ValueError("delay must be >= 0")
        self.delay = float(self.delay)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build from a scenario/admin dict (``type`` = ``kind``); unknown keys raise ``ValueError``."""
        data = dict(data)
        if "type" in data and "kind" not in data:
            data["kind"] = data.pop("type")
        if "status" in data and "code" not in data and isinstance(data.get("status"), int):
            data["code"] = data.pop("status")
        unknown = sorted(set(data) - set(cls.PARAMS))
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        if "kind" not in data:
            raise ValueError("a fault needs a 'kind'")
        return cls(**data)

    def matches(self, cluster_id: str | None, method: str) -> bool:
        """Whether this fault applies to a request for ``cluster_id`` with HTTP ``method``."""
        return (self.cluster_id is None or self.cluster_id == cluster_id) and (
            self.method is None or self.method == method
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (for the admin API)."""
        out = {name: getattr(self, name) for name in self.PARAMS}
        for name in ("request_status", "request_result"):
            if out[name] is UNSET:
                del out[name]
        out["id"] = self.id
        out["hits"] = self.hits
        return out

    @property
    def needs_processing(self) -> bool:
        """Whether the real handler runs first (so a POST starts its job before the fault shows)."""
        return self.kind in ("slow", "unknown_status") or self.process


def take_fault(faults: list[Fault], cluster_id: str | None, method: str) -> Fault | None:
    """Consume one use of the first fault in ``faults`` matching the request (the caller holds the lock)."""
    for index, fault in enumerate(faults):
        if fault.matches(cluster_id, method):
            fault.hits += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    del faults[index]
            return fault
    return None


@dataclass(frozen=True)
class FaultAnswer:
    """The answer to send for a fault, independent of any web framework.

    Exactly one of ``payload`` (sent as compact JSON) and ``text`` is set, or neither (an empty body).
    """

    status: int = 200
    payload: Any = UNSET
    text: str | None = None
    content_type: str | None = None
    headers: dict[str, str] | None = None
    delay: float = 0.0
    drop: bool = False


def reason(code: int) -> str:
    """The standard reason phrase of HTTP status ``code`` (``"Error"`` when there is none)."""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def _as_text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)


def fault_answer(fault: Fault, processed: tuple[int, dict[str, Any]] | None, cluster_id: str) -> FaultAnswer:
    """What to answer for ``fault``; ``processed`` is the real handler's (status, body) when it ran."""
    kind = fault.kind
    if kind == "slow":
        assert processed is not None
        return FaultAnswer(status=processed[0], payload=processed[1], delay=fault.delay)
    if kind == "drop":
        return FaultAnswer(drop=True)
    if kind == "status":
        code = int(fault.code or 500)
        if fault.body is not None:
            return FaultAnswer(
                code, text=_as_text(fault.body), content_type=fault.content_type or "application/json"
            )
        if fault.html:
            page = _HTML_PAGE.format(code=code, reason=reason(code))
            return FaultAnswer(code, text=page, content_type="text/html")
        return FaultAnswer(code, payload=error_body(code, f"emulated fault: {code} {reason(code)}"))
    if kind == "rate_limit":
        retry_after = fault.retry_after
        value = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        return FaultAnswer(429, payload=error_body(429, "Too Many Requests"), headers={"Retry-After": value})
    if kind == "malformed_json":
        if fault.body is not None:
            text = str(fault.body)
        elif processed is not None:
            full = json.dumps(processed[1], separators=(",", ":"))
            text = full[: max(1, len(full) // 2)]
        else:
            text = '{"clusterId":"' + cluster_id + '","requestStatus":"Runn'
        return FaultAnswer(200, text=text, content_type=fault.content_type or "application/json")
    if kind == "unknown_status":
        assert processed is not None
        status, payload = processed
        if status == 200 and isinstance(payload, dict):
            payload = dict(payload)
            if fault.request_status is not UNSET:
                payload["requestStatus"] = fault.request_status
            if fault.request_result is not UNSET:
                payload["requestResult"] = fault.request_result
        return FaultAnswer(status, payload=payload)
    if kind == "redirect":
        return FaultAnswer(int(fault.code or 302), headers={"Location": str(fault.location)})
    if kind == "body":
        return FaultAnswer(
            int(fault.code or 200),
            text=_as_text(fault.body),
            content_type=fault.content_type or "application/json",
        )
    raise AssertionError(f"unhandled fault kind {kind}")  # pragma: no cover
