"""CPU cost of one status call, per transport and per prototype, without the triggers around it.

``python -m benchmarks.micro CONFIG.json`` (started by ``run.py``): one fresh process per (transport,
variant); it calls ``hook.aget_request_status`` for one running job ``calls`` times from ``concurrency``
coroutines, three rounds, and reports the lowest CPU time per call (the least disturbed round). A ``raw``
transport gives the floor: a bare ``session.get`` + ``json.loads`` on the provider's shared session.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import cpu_seconds

ROUNDS = 3


async def _measure(config: dict[str, Any]) -> dict[str, Any]:
    import aiohttp  # noqa: F401

    from airflow_provider_hadoop_eco.hooks import async_http
    from benchmarks.transports import NewSessionHook, SyncToAsyncHook

    transport = config["transport"]
    cluster_id, request_id = config["cluster_id"], config["request_id"]
    calls, concurrency = int(config["calls"]), int(config["concurrency"])
    if transport == "raw":
        from airflow_provider_hadoop_eco.hooks.async_http import ssl_option
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        hook: Any = HadoopEcoHook()
        credentials = await hook.aget_credentials()
        session = async_http.shared_session()
        url = (
            f"{credentials.base_url}/hadoop-eco/v1/cluster/{cluster_id}/request-id/{request_id}?verbose=false"
        )
        headers = credentials.auth_headers()
        ssl = ssl_option(credentials.verify)

        async def call() -> Any:
            async with session.get(url, headers=headers, ssl=ssl) as response:
                return json.loads(await response.read())

    else:
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        cls = {"ours": HadoopEcoHook, "new_session": NewSessionHook, "sync_to_async": SyncToAsyncHook}[
            transport
        ]
        hook = cls()

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

        await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
        done = (calls // concurrency) * concurrency
        per_round.append(
            {
                "cpu_us": (cpu_seconds() - cpu0) / done * 1e6,
                "calls_per_s": done / (time.perf_counter() - wall0),
            }
        )
    await async_http.close_shared_session()
    best = min(per_round, key=lambda r: r["cpu_us"])
    return {"transport": transport, "variant": config.get("variant"), "rounds": per_round, **best}


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    import airflow  # noqa: F401

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

    HadoopEcoHook()._load_credentials()  # first-use imports of the connection lookup
    if config.get("variant"):
        from benchmarks.prototypes import apply

        apply(config["variant"])
    result = asyncio.run(_measure(config))
    Path(config["out_file"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
