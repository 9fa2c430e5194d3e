"""The :class:`Emulator`: the emulator's aiohttp app served from a thread with its own event loop."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from airflow_provider_hadoop_eco.emulator.app import create_app
from airflow_provider_hadoop_eco.emulator.contract import DIALECTS
from airflow_provider_hadoop_eco.emulator.faults import Fault
from airflow_provider_hadoop_eco.emulator.model import ClusterConfig
from airflow_provider_hadoop_eco.emulator.recording import DEFAULT_MAX_RECORDS
from airflow_provider_hadoop_eco.emulator.scenario import load_scenario
from airflow_provider_hadoop_eco.emulator.state import EmulatorState
from airflow_provider_hadoop_eco.emulator.tls import TlsFiles, make_certificate

DEFAULT_BACKLOG = 4096


def check_loopback(host: str) -> None:
    """Raise ``ValueError`` unless ``host`` is a loopback address (the emulator never listens elsewhere)."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"refusing to bind the Hadoop Eco emulator to {host!r}: only loopback addresses "
            "(127.0.0.1, ::1, localhost) are allowed"
        )


async def start_site(
    app: web.Application,
    host: str,
    port: int,
    backlog: int = DEFAULT_BACKLOG,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[web.AppRunner, int]:
    """Start serving ``app`` (over TLS with ``ssl_context``); return the runner and the bound port."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=backlog, reuse_address=True, ssl_context=ssl_context)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    return runner, int(bound)


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def base_url(host: str, port: int, tls: bool = False) -> str:
    """``http://127.0.0.1:8089``, or ``https://...`` when served over TLS (IPv6 hosts in brackets)."""
    return f"{'https' if tls else 'http'}://{_format_host(host)}:{port}"


class Emulator:
    """A local Hadoop Eco API server for tests and demos.

    Example::

        with Emulator(time_scale=100) as emu:
            os.environ.update(emu.conn_env())
            ...  # run the hook/operator against emu.url
            assert len(emu.posts()) == 1

    ``dialects=("v2",)`` serves only the kr-central-2 paths (v1 requests get a 404), to prove which paths a
    client uses::

        with Emulator(dialects="v2") as emu:
            os.environ.update(emu.conn_env(region="kr-central-2"))
            ...
            assert emu.dialects_used() == {"v2"}

    ``tls=True`` serves HTTPS with a throwaway self-signed certificate for 127.0.0.1, ::1 and localhost,
    made at :meth:`start` and deleted at :meth:`stop`. ``ca_path`` is that certificate (the CA bundle a
    client trusts), ``url`` starts with ``https://``, and :meth:`conn_dict` puts ``"verify": ca_path`` into
    the connection's extra::

        with Emulator(tls=True) as emu:
            requests.get(emu.url + "/_emulator/health", verify=emu.ca_path)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        time_scale: float = 1.0,
        manual_clock: bool = False,
        record: bool = True,
        clusters: Iterable[ClusterConfig | Mapping[str, Any]] | None = None,
        faults: Iterable[Fault | Mapping[str, Any]] | None = None,
        max_records: int = DEFAULT_MAX_RECORDS,
        backlog: int = DEFAULT_BACKLOG,
        dialects: str | Iterable[str] | None = DIALECTS,
        tls: bool = False,
    ) -> None:
        check_loopback(host)
        self.host = host
        self.port = int(port)
        self.backlog = backlog
        self.tls = bool(tls)
        self._tls_files: TlsFiles | None = None
        self.state = EmulatorState(
            time_scale=time_scale,
            manual_clock=manual_clock,
            record=record,
            max_records=max_records,
            clusters=clusters,
            faults=faults,
            dialects=dialects,
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @classmethod
    def from_scenario(cls, scenario: str | Path | Mapping[str, Any], **overrides: Any) -> Emulator:
        """Build from a scenario file (.json/.yaml/.yml) or dict; keyword arguments override its values."""
        data = load_scenario(scenario)
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if v is not None}
        kwargs.update(overrides)
        return cls(**kwargs)

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (https with ``tls``); valid after :meth:`start`."""
        return base_url(self.host, self.port, self.tls)

    @property
    def ca_path(self) -> str | None:
        """With ``tls``: the path of the server's self-signed certificate, the CA bundle clients trust.

        It exists from :meth:`start` to :meth:`stop`. None without ``tls`` (or before the first start).
        """
        return str(self._tls_files.cert_path) if self._tls_files is not None else None

    @property
    def running(self) -> bool:
        """Whether the server thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> Emulator:
        """Start serving in a background thread; returns once the socket is bound."""
        if self.running:
            return self
        self._ready.clear()
        self._error = None
        if self.tls and self._tls_files is None:
            self._tls_files = make_certificate()
        self._thread = threading.Thread(
            target=self._run, name=f"hadoop-eco-emulator-{id(self):x}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the Hadoop Eco emulator did not start in time")
        if self._error is not None:
            self._thread.join(timeout)
            self._thread = None
            self._remove_certificate()
            raise self._error
        return self

    def _remove_certificate(self) -> None:
        if self._tls_files is not None:
            self._tls_files.remove()
            self._tls_files = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            try:
                context = self._tls_files.server_context() if self._tls_files is not None else None
                self._runner, self.port = loop.run_until_complete(
                    start_site(create_app(self.state), self.host, self.port, self.backlog, context)
                )
            except BaseException as exc:
                self._error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            loop.close()
            self._loop = None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and its thread (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None
        self._runner = None
        self._remove_certificate()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Emulator {self.url if self.running else 'stopped'} clusters={list(self.state.clusters)}>"

    # ------------------------------------------------------------------ clusters
    def add_cluster(
        self, cluster: ClusterConfig | Mapping[str, Any] | None = None, **fields: Any
    ) -> ClusterConfig:
        """Register a cluster: a ``ClusterConfig``, a dict, or keyword fields (``cluster_id=...``, ...)."""
        if cluster is None:
            return self.state.add_cluster(ClusterConfig.from_dict(fields))
        if fields:
            raise TypeError("pass either a cluster object/dict or keyword fields, not both")
        return self.state.add_cluster(cluster)

    def update_cluster(self, cluster_id: str | None = None, **changes: Any) -> ClusterConfig:
        """Change fields of a registered cluster (default: the first one), e.g. ``outcomes=["Failure"]``."""
        cid = cluster_id if cluster_id is not None else self.cluster().cluster_id
        return self.state.update_cluster(cid, **changes)

    def cluster(self, cluster_id: str | None = None) -> ClusterConfig:
        """The configuration of ``cluster_id`` (default: the first registered cluster)."""
        return self.state.cluster(cluster_id)

    @property
    def cluster_id(self) -> str:
        """Id of the first registered cluster (the default cluster unless ``clusters=`` was given)."""
        return self.cluster().cluster_id

    # ------------------------------------------------------------------ faults
    def inject_fault(self, kind: str | Fault | Mapping[str, Any], **params: Any) -> Fault:
        """Add a fault, e.g. ``inject_fault("status", code=503, method="GET", count=2)``."""
        if isinstance(kind, (Fault, Mapping)):
            if params:
                raise TypeError("pass either a Fault/dict or keyword parameters, not both")
            return self.state.add_fault(kind)
        return self.state.add_fault(Fault(kind=kind, **params))

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.state.clear_faults()

    @property
    def faults(self) -> list[Fault]:
        """Pending faults, in the order they are consumed."""
        with self.state.lock:
            return list(self.state.faults)

    # ------------------------------------------------------------------ time
    def advance(self, seconds: float) -> float:
        """Move emulated time forward (works with the manual and the scaled clock); returns the new time."""
        return self.state.advance(seconds)

    @property
    def now(self) -> float:
        """Emulated seconds since start."""
        return self.state.now()

    # ------------------------------------------------------------------ inspection
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every recorded API request (secrets redacted), oldest first."""
        return self.state.requests()

    def posts(self, cluster_id: str | None = None, dialect: str | None = None) -> list[dict[str, Any]]:
        """Recorded POSTs (optionally of one cluster and/or one dialect)."""
        return self.state.requests(method="POST", cluster_id=cluster_id, dialect=dialect)

    def gets(
        self, cluster_id: str | None = None, request_id: str | None = None, dialect: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded GETs (optionally of one cluster, one request id and/or one dialect)."""
        return self.state.requests(
            method="GET", cluster_id=cluster_id, request_id=request_id, dialect=dialect
        )

    def paths(self, method: str | None = None, dialect: str | None = None) -> list[str]:
        """The paths of recorded requests, oldest first (optionally of one method and/or one dialect)."""
        return [r["path"] for r in self.state.requests(method=method, dialect=dialect)]

    def dialects_used(self) -> set[str]:
        """The dialects (``"v1"``, ``"v2"``) of the API paths recorded so far; unknown paths do not count."""
        return {r["dialect"] for r in self.state.requests() if r["dialect"] is not None}

    @property
    def dialects(self) -> tuple[str, ...]:
        """The dialects this emulator serves (a request on another one gets a 404)."""
        return self.state.dialects

    def clear_requests(self) -> None:
        """Empty the request record."""
        self.state.clear_records()

    def jobs(self, cluster_id: str | None = None) -> list[dict[str, Any]]:
        """Job runs started by accepted POSTs, with their current status, oldest first."""
        return self.state.jobs(cluster_id)

    def reset(self) -> None:
        """Back to the initial clusters/faults; forget jobs and records; clock to 0."""
        self.state.reset()

    # ------------------------------------------------------------------ Airflow connection
    def conn_dict(self, cluster_id: str | None = None, region: str | None = None) -> dict[str, Any]:
        """The Airflow connection for ``cluster_id`` (default: the first cluster) as a dict.

        ``region`` (e.g. ``"kr-central-2"``) is put into the extra, where the provider reads it to pick the
        API dialect; ``None`` leaves it out. With ``tls`` the extra's ``verify`` is :attr:`ca_path`.
        """
        return self.cluster(cluster_id).airflow_connection(self.url, region=region, verify=self.ca_path)

    def conn_json(self, cluster_id: str | None = None, region: str | None = None) -> str:
        """JSON for an ``AIRFLOW_CONN_<ID>`` environment variable pointing at this emulator."""
        return json.dumps(self.conn_dict(cluster_id, region=region))

    def conn_env(
        self, conn_id: str = "hadoop_eco_default", cluster_id: str | None = None, region: str | None = None
    ) -> dict[str, str]:
        """``{"AIRFLOW_CONN_<CONN_ID>": <conn_json>}``, ready for ``os.environ.update`` / ``monkeypatch``."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": self.conn_json(cluster_id, region=region)}
