"""CPU cost of one status call, per transport, without the triggers around it.

``python -m benchmarks.micro CONFIG.json`` (started by ``run.py``): one fresh process per transport; it calls
``hook.aget_request_status`` for one running job ``calls`` times from ``concurrency`` coroutines, three
rounds, and reports the lowest CPU time per call (the least disturbed round). A ``raw`` transport gives the
floor: a bare ``session.get`` + ``json.loads`` of the status URL on the provider's shared session.

Like a trigger, the measurement holds a lease on the loop's shared session throughout, so the pool stays
open between calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.common import cpu_seconds

ROUNDS = 3


async def _raw_call(session: Any, cluster_id: str, request_id: str) -> Callable[[], Awaitable[Any]]:
    from airflow_provider_hadoop_eco.hooks.async_http import ssl_option
    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

    credentials = await HadoopEcoHook().aget_credentials()
    url = credentials.endpoint.status_url(cluster_id, request_id, False)
    headers = credentials.auth_headers()
    ssl = ssl_option(credentials.verify)

    async def call() -> Any:
        async with session.get(url, headers=headers, ssl=ssl) as response:
            return json.loads(await response.read())

    return call


async def _measure(config: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_hadoop_eco.hooks.async_http import shared_session_lease
    from benchmarks.transports import hook_class

    transport = config["transport"]
    cluster_id, request_id = config["cluster_id"], config["request_id"]
    calls, concurrency = int(config["calls"]), int(config["concurrency"])
    per_worker = max(1, calls // concurrency)
    async with shared_session_lease() as session:
        if transport == "raw":
            call = await _raw_call(session, cluster_id, request_id)
        else:
            hook = hook_class(transport)()

            async def call() -> Any:
                return await hook.aget_request_status(cluster_id, request_id)

        for _ in range(concurrency):  # warm-up: pool connections, caches, first-use imports
            await call()
        per_round = []
        for _ in range(ROUNDS):
            cpu0, wall0 = cpu_seconds(), time.perf_counter()

            async def worker(count: int) -> None:
                for _ in range(count):
                    await call()

            await asyncio.gather(*(worker(per_worker) for _ in range(concurrency)))
            done = per_worker * concurrency
            per_round.append(
                {
                    "cpu_us": (cpu_seconds() - cpu0) / done * 1e6,
                    "calls_per_s": done / (time.perf_counter() - wall0),
                }
            )
    best = min(per_round, key=lambda r: r["cpu_us"])
    return {"transport": transport, "rounds": per_round, **best}


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    import aiohttp  # noqa: F401
    import airflow  # noqa: F401

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

    HadoopEcoHook().credentials  # noqa: B018 - first-use imports of the connection lookup, outside the figures
    result = asyncio.run(_measure(config))
    Path(config["out_file"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
