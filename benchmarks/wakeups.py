"""What an event-loop wake-up costs on this machine, apart from the work it serves.

``python -m benchmarks.wakeups`` (about a minute; standard library only, no emulator, no Airflow). For a
fixed piece of CPU work (parsing a status-sized JSON body ``reps`` times) it reports the CPU per piece when
the pieces run back to back, and when N coroutines each do one piece, then sleep, at a steady rate (the
shape of N triggers polling), with each sleep ending at its own moment or rounded up to a shared grid (what
:class:`~airflow_provider_hadoop_eco.triggers.hadoop_eco.HadoopEcoRequestTrigger` does). The difference is
the cost of the loop going idle and waking up again, which the back-to-back micro-benchmark never pays.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from typing import Any

from benchmarks.common import cpu_seconds

BODY = json.dumps(
    {
        "clusterId": "58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf",
        "clusterName": "bench",
        "requestId": "req-2f1d8c0e-6b7a-4c1e-9d55-0b7f0f3c1a2b",
        "requestStatus": "Running",
        "requestResult": "Running",
    }
).encode()


def work(reps: int) -> None:
    for _ in range(reps):
        json.loads(BODY)


def back_to_back(reps: int, pieces: int = 5000) -> float:
    """CPU microseconds per piece, run in a plain loop."""
    start = cpu_seconds()
    for _ in range(pieces):
        work(reps)
    return (cpu_seconds() - start) / pieces * 1e6


async def spread(reps: int, n: int, interval: float, seconds: float, grid: float) -> dict[str, Any]:
    """CPU microseconds per piece when ``n`` coroutines each do one piece every ``interval`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    done = 0

    async def sleep(delay: float) -> None:
        if grid > 0:
            delay += -(loop.time() + delay) % grid
        await asyncio.sleep(delay)

    async def one() -> None:
        nonlocal done
        await sleep(random.uniform(0, interval))
        while loop.time() < end:
            work(reps)
            done += 1
            await sleep(interval)

    start = cpu_seconds()
    await asyncio.gather(*(one() for _ in range(n)))
    cpu = cpu_seconds() - start
    return {"pieces": done, "rate": done / seconds, "cpu_us": cpu / max(done, 1) * 1e6}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1000, help="sleeping coroutines")
    p.add_argument("--interval", type=float, default=3.0, help="seconds between two pieces of one coroutine")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each spread measurement")
    p.add_argument("--reps", default="1,20,100", help="sizes of the piece of work, comma-separated")
    p.add_argument("--grids", default="0,0.05", help="wake-up grids in seconds (0: none), comma-separated")
    args = p.parse_args(argv)
    print(
        f"{args.n} coroutines, one piece each every {args.interval:g} s (~{args.n / args.interval:.0f}/s); "
        "CPU per piece in microseconds"
    )
    print(
        f"{'piece':>14} {'back to back':>13} "
        + " ".join(f"{'grid ' + g + ' s':>13}" for g in args.grids.split(","))
    )
    for reps in (int(x) for x in args.reps.split(",")):
        row = [f"{reps:>4} x loads", f"{back_to_back(reps):>13.1f}"]
        for grid in (float(g) for g in args.grids.split(",")):
            result = asyncio.run(spread(reps, args.n, args.interval, args.seconds, grid))
            row.append(f"{result['cpu_us']:>13.1f}")
        print(" ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
