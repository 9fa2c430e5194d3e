"""The measured process: N concurrent trigger ``run()`` generators in one asyncio event loop.

Started by ``benchmarks/run.py`` (never by hand): ``python -m benchmarks.worker CONFIG.json``. It

1. imports Airflow, the provider and the transport's client libraries (a fixed cost, outside the figures);
2. writes ``ready_file`` and waits for one line on stdin: the path of a JSON list of requests
   ``[{"cluster_id", "request_id", "end_wall"}]`` (POSTed by the orchestrator, so this process never pays for
   it);
3. runs a 50 ms ticker (event-loop lag, RSS samples) while it creates the N triggers in batches of 100
   (yielding to the loop between batches, as a triggerer does) and drives each ``run()`` to exhaustion,
   recording every event;
4. writes the figures to ``out_file``.

Nothing here talks to the emulator except the triggers themselves.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import cpu_seconds, loadavg, max_rss_bytes, raise_fd_limit, rss_bytes, schedstat

TICK = 0.05
BATCH = 100


class GcPauses:
    """Times every garbage collection (a stop-the-world pause of the loop thread) by generation."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._start)

    def summary(self) -> dict[str, Any]:
        return {
            str(gen): {"count": len(p), "total_s": sum(p), "max_s": max(p, default=0.0)}
            for gen, p in self.pauses.items()
        }


class Ticker:
    """Measures how late a 50 ms sleep wakes up (event-loop lag) and samples RSS on every tick."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.peak_rss = 0
        self._stop = False

    async def run(self) -> None:
        perf = time.perf_counter
        while not self._stop:
            start = perf()
            await asyncio.sleep(TICK)
            self.lags.append(perf() - start - TICK)
            rss = rss_bytes()
            if rss > self.peak_rss:
                self.peak_rss = rss

    def stop(self) -> None:
        self._stop = True


async def _drive(trigger: Any, record: dict[str, Any]) -> None:
    events = record["events"]
    async for event in trigger.run():
        events.append((time.time(), event.payload))


async def measure(config: dict[str, Any], requests: list[dict[str, Any]]) -> dict[str, Any]:
    from benchmarks.transports import CALLS, VERBOSE_CALLS, close_transport, trigger_class

    transport = config["transport"]
    cls = trigger_class(transport)
    poll = float(config["poll_interval"])
    budget = float(config["budget"])

    gc.collect()  # before the ticker starts: a full collection after the imports takes ~0.4 s
    ticker = Ticker()
    ticker_task = asyncio.ensure_future(ticker.run())
    await asyncio.sleep(0.25)  # a few idle ticks
    idle_lags = list(ticker.lags)
    ticker.lags.clear()
    rss0 = rss_bytes()
    ticker.peak_rss = rss0
    gc_pauses = GcPauses()
    gc.callbacks.append(gc_pauses)
    cpu0 = cpu_seconds()
    sched0 = schedstat()
    load0 = loadavg()
    wall0 = time.time()
    perf0 = time.perf_counter()
    deadline = wall0 + budget

    records: list[dict[str, Any]] = []
    tasks: list[asyncio.Task[None]] = []
    for start in range(0, len(requests), BATCH):
        now = time.time()
        for req in requests[start : start + BATCH]:
            trigger = cls(
                cluster_id=req["cluster_id"],
                request_id=req["request_id"],
                poll_interval=poll,
                end_time=deadline,
                started_at=now,
            )
            record = {
                "cluster_id": req["cluster_id"],
                "request_id": req["request_id"],
                "start": now,
                "events": [],
            }
            records.append(record)
            tasks.append(asyncio.ensure_future(_drive(trigger, record)))
        await asyncio.sleep(0)
    created_s = time.perf_counter() - perf0

    done, pending = await asyncio.wait(tasks, timeout=budget + 30.0)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=10.0)
    crashed = [repr(t.exception()) for t in done if not t.cancelled() and t.exception() is not None]

    run_s = time.perf_counter() - perf0
    cpu = cpu_seconds() - cpu0
    sched1 = schedstat()
    gc.callbacks.remove(gc_pauses)
    ticker.stop()
    await ticker_task
    peak_rss = max(ticker.peak_rss, rss_bytes())
    await close_transport()

    per_trigger = []
    for record in records:
        per_trigger.append(
            {
                "cluster_id": record["cluster_id"],
                "request_id": record["request_id"],
                "start": record["start"],
                "calls": CALLS.get(record["cluster_id"], 0),
                "verbose_calls": VERBOSE_CALLS.get(record["cluster_id"], 0),
                "events": [
                    {
                        "t": t,
                        "status": p.get("status"),
                        "cluster_id": p.get("cluster_id"),
                        "request_id": p.get("request_id"),
                        "result": (p.get("response") or {}).get("requestResult"),
                        "message": p.get("message") if p.get("status") != "success" else None,
                    }
                    for t, p in record["events"]
                ],
            }
        )
    return {
        "transport": transport,
        "warmup_s": config.get("warmup_s"),
        "n": len(requests),
        "poll_interval": poll,
        "wall0": wall0,
        "run_s": run_s,
        "create_s": created_s,
        "cpu_s": cpu,
        "calls": sum(CALLS.values()),
        "verbose_calls": sum(VERBOSE_CALLS.values()),
        "rss0": rss0,
        "peak_rss": peak_rss,
        "max_rss": max_rss_bytes(),
        "lags": ticker.lags,
        "idle_lags": idle_lags,
        "cancelled": len(pending),
        "gc": gc_pauses.summary(),
        "runq_wait_s": sched1[1] - sched0[1],
        "loadavg": [load0, loadavg()],
        "crashed": crashed[:5],
        "crashed_count": len(crashed),
        "triggers": per_trigger,
    }


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    raise_fd_limit()
    # Fixed costs, paid once per process whatever N is: Airflow, the provider, and the client libraries of
    # every transport (imported here so the per-trigger RSS figure is the marginal cost of a trigger).
    import aiohttp  # noqa: F401
    import airflow  # noqa: F401
    import asgiref.sync  # noqa: F401
    import requests  # noqa: F401
    import tenacity  # noqa: F401

    import benchmarks.transports  # noqa: F401

    # The first connection lookup of a process imports a dozen Airflow SDK modules (~0.1-0.4 s, holding the
    # import lock): a one-time cost a running triggerer has long paid. Pay it here, outside the figures.
    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

    t0 = time.perf_counter()
    HadoopEcoHook(config.get("conn_id", "hadoop_eco_default")).credentials  # noqa: B018
    config["warmup_s"] = time.perf_counter() - t0

    Path(config["ready_file"]).write_text(json.dumps({"pid": os.getpid()}))
    line = sys.stdin.readline().strip()
    if not line:
        return 2
    requests_list = json.loads(Path(line).read_text())
    if config.get("profile_file"):
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: what the figures are about
        result = profiler.runcall(asyncio.run, measure(config, requests_list))
        profiler.dump_stats(config["profile_file"])
    else:
        result = asyncio.run(measure(config, requests_list))
    tmp = Path(config["out_file"] + ".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, config["out_file"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
