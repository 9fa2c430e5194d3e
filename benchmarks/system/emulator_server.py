"""The emulator for the system benchmark: one emulator state, served over HTTPS on one port per client.

``python -m benchmarks.system.emulator_server --listeners worker,triggerer,control [hadoop-eco-emulator options]``

Each Airflow component gets a connection to its own port (the task processes to ``worker``, the triggerer to
``triggerer``, the orchestrator to ``control``), so every status call is counted against the process that
made it. A middleware keeps cheap, exact tallies, read with ``GET /_sysbench/counts`` (on any port):

* per listener: requests by method;
* per cluster: the HTTP status of every create POST (one POST per create is a benchmark invariant);
* per request id: status GETs (plain and verbose) by listener, and the wall-clock times of the first and
  the last one.

The emulator's own request record is off (``--no-record``): at 5,000 waits it would hold ~100,000 entries.
The certificate is the emulator's own throwaway one (``emulator.tls``), written beside the ready file, whose
``ca_path`` names it. Loopback only; the process stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any


class Tally:
    """What the middleware counts (see the module docstring)."""

    def __init__(self) -> None:
        self.by_listener: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.posts: dict[str, list[int]] = defaultdict(list)
        self.post_times: dict[str, float] = {}
        self.gets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.verbose: dict[str, int] = defaultdict(int)
        self.first_get: dict[str, float] = {}
        self.last_get: dict[str, float] = {}

    def snapshot(self, since: float | None = None) -> dict[str, Any]:
        rids = list(self.gets) if since is None else [r for r, t in self.last_get.items() if t >= since]
        return {
            "time": time.time(),
            "by_listener": {k: dict(v) for k, v in self.by_listener.items()},
            "posts": {k: list(v) for k, v in self.posts.items()},
            "post_times": dict(self.post_times),
            "gets": {r: dict(self.gets[r]) for r in rids},
            "verbose": {r: self.verbose.get(r, 0) for r in rids},
            "first_get": {r: self.first_get[r] for r in rids if r in self.first_get},
            "last_get": {r: self.last_get[r] for r in rids if r in self.last_get},
        }


def _counting_middleware(tally: Tally, names: dict[int, str]) -> Any:
    from aiohttp import web

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/_sysbench/counts":
            if request.query.get("summary"):
                body: dict[str, Any] = {
                    "time": time.time(),
                    "by_listener": {k: dict(v) for k, v in tally.by_listener.items()},
                    "posted_clusters": len(tally.posts),
                }
            else:
                since = request.query.get("since")
                body = tally.snapshot(float(since) if since else None)
            return web.Response(body=json.dumps(body).encode(), content_type="application/json")
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        listener = names.get(sockname[1] if sockname else -1, "unknown")
        tally.by_listener[listener][request.method] += 1
        status = 0
        try:
            response = await handler(request)
            status = response.status
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            if not request.path.startswith("/_emulator"):
                cluster_id = request.match_info.get("cluster_id")
                request_id = request.match_info.get("request_id")
                now = time.time()
                if request.method == "POST" and cluster_id and not request_id:
                    tally.posts[cluster_id].append(status)
                    tally.post_times[cluster_id] = now
                elif request.method == "GET" and request_id:
                    tally.gets[request_id][listener] += 1
                    if request.query.get("verbose", "").lower() == "true":
                        tally.verbose[request_id] += 1
                    tally.first_get.setdefault(request_id, now)
                    tally.last_get[request_id] = now
        return response

    return count


async def _serve(args: Any, listeners: list[str]) -> None:
    from aiohttp import web

    from airflow_provider_hadoop_eco.emulator.app import create_app
    from airflow_provider_hadoop_eco.emulator.cli import build_state
    from airflow_provider_hadoop_eco.emulator.tls import make_certificate

    ready = Path(args.ready_file)
    tls = make_certificate(ready.parent)
    context = tls.server_context()
    tally = Tally()
    names: dict[int, str] = {}
    app = create_app(build_state(args))
    app.middlewares.append(_counting_middleware(tally, names))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    ports: dict[str, int] = {}
    for name in listeners:
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=args.backlog, ssl_context=context)
        await site.start()
        server: Any = site._server  # the asyncio server: its socket says which port this listener got
        port = int(server.sockets[0].getsockname()[1]) if server is not None else 0
        ports[name] = port
        names[port] = name
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tmp = ready.with_name(ready.name + ".tmp")
    tmp.write_text(
        json.dumps(
            {
                "urls": {n: f"https://127.0.0.1:{p}" for n, p in ports.items()},
                "ports": ports,
                "pid": os.getpid(),
                "ca_path": str(tls.cert_path),
            }
        )
    )
    os.replace(tmp, ready)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    from airflow_provider_hadoop_eco.emulator.cli import build_parser

    # --listeners is this server's own option; everything else is the emulator CLI's.
    own = argparse.ArgumentParser(prog="emulator_server", add_help=False)
    own.add_argument("--listeners", required=True, help="comma-separated listener names, one port each")
    picked, rest = own.parse_known_args(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(rest)
    if args.host != "127.0.0.1" or not args.ready_file:
        raise SystemExit("emulator_server: --host must be 127.0.0.1 and --ready-file is required")
    listeners = [n for n in picked.listeners.split(",") if n]
    asyncio.run(_serve(args, listeners))
    return 0


if __name__ == "__main__":
    sys.exit(main())
