"""The emulator as a separate process (never in the measured event loop), and the POSTs that start jobs.

The orchestrator (``run.py``) owns this: it starts ``python -m airflow_provider_hadoop_eco.emulator`` on a
free loopback port, adds the benchmark clusters through the admin API, POSTs once per cluster to start one job
each, and stops the process by its PID at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_hadoop_eco.defaults import DEFAULT_REGION, REGIONS
from benchmarks.common import (
    BENCH_API_KEY,
    BENCH_CREDENTIAL_ID,
    BENCH_CREDENTIAL_SECRET,
    REPO,
    proc_cpu_seconds,
    stop_process,
)

#: The create call of the benchmark connection's region (``conn_json`` names none: the default region).
CREATE_PATH = REGIONS[DEFAULT_REGION].create_path
ADMIN_BATCH = 1000
POST_CONCURRENCY = 64


class EmulatorProcess:
    """``hadoop-eco-emulator`` in its own process group, bound to 127.0.0.1 on a free port."""

    def __init__(self, python: str, time_scale: float, workdir: Path, tls: bool = False) -> None:
        self.python = python
        self.tls = tls
        self.ca_file: str | None = None
        self.time_scale = time_scale
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.pid = 0
        self.log_path = workdir / "emulator.log"

    def start(self, timeout: float = 60.0) -> EmulatorProcess:
        ready = self.workdir / "emulator.ready.json"
        ready.unlink(missing_ok=True)
        scenario = self.workdir / "emulator-scenario.json"
        scenario.write_text(
            json.dumps({"time_scale": self.time_scale, "clusters": [_cluster("bench-probe", 1.0)]})
        )
        options = [
            "--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready),
            "--scenario", str(scenario), "--time-scale", repr(self.time_scale), "--no-record", "--quiet",
        ]  # fmt: skip
        env = dict(os.environ)
        cmd = [
            self.python,
            "-m",
            "airflow_provider_hadoop_eco.emulator",
            *(["--tls"] if self.tls else []),
            *options,
        ]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=str(REPO),
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"emulator exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}"
                )
            if ready.exists():
                info = json.loads(ready.read_text())
                self.url, self.pid, self.ca_file = info["url"], int(info["pid"]), info.get("ca_path")
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"emulator not ready after {timeout} s")

    def cpu_seconds(self) -> float | None:
        return proc_cpu_seconds(self.pid) if self.pid else None

    def stop(self) -> None:
        stop_process(self.proc, grace=15.0)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _cluster(cluster_id: str, duration: float) -> dict[str, Any]:
    return {
        "cluster_id": cluster_id,
        "name": f"bench-{cluster_id}",
        "job_type": "hive",
        "credential_id": BENCH_CREDENTIAL_ID,
        "credential_secret": BENCH_CREDENTIAL_SECRET,
        "api_key": BENCH_API_KEY,
        "duration": duration,
        "outcomes": ["Success"],
    }


def _headers() -> dict[str, str]:
    return {
        "Credential-ID": BENCH_CREDENTIAL_ID,
        "Credential-Secret": BENCH_CREDENTIAL_SECRET,
        "Hadoop-Eco-Api-Key": BENCH_API_KEY,
        "Content-Type": "application/json",
    }


async def _start_jobs(
    url: str, prefix: str, n: int, duration: float, time_scale: float, ca_file: str | None
) -> list[dict[str, Any]]:
    import ssl

    import aiohttp

    ids = [f"{prefix}-{i:05d}" for i in range(n)]
    out: list[dict[str, Any]] = [{} for _ in ids]
    timeout = aiohttp.ClientTimeout(total=120)
    ssl_option: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
    connector = aiohttp.TCPConnector(limit=POST_CONCURRENCY, ssl=ssl_option)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session:
        for start in range(0, n, ADMIN_BATCH):
            batch = [_cluster(cid, duration) for cid in ids[start : start + ADMIN_BATCH]]
            async with session.post(url + "/_emulator/clusters", json=batch) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"adding clusters failed: {resp.status} {await resp.text()}")
        queue = list(enumerate(ids))
        real_duration = duration / time_scale

        async def post_one(index: int, cluster_id: str) -> None:
            sent = time.time()
            async with session.post(
                url + CREATE_PATH.format(cluster_id=cluster_id), headers=_headers()
            ) as resp:
                body = await resp.json()
                received = time.time()
                if resp.status != 200:
                    raise RuntimeError(f"POST {cluster_id}: {resp.status} {body}")
            # The job starts while the emulator handles the POST, between `sent` and `received`.
            out[index] = {
                "cluster_id": cluster_id,
                "request_id": body["requestId"],
                "end_wall": (sent + received) / 2 + real_duration,
                "end_uncertainty": (received - sent) / 2,
            }

        async def worker() -> None:
            while queue:
                index, cluster_id = queue.pop()
                await post_one(index, cluster_id)

        await asyncio.gather(*(worker() for _ in range(POST_CONCURRENCY)))
    return out


def start_jobs(
    url: str, prefix: str, n: int, duration: float, time_scale: float, ca_file: str | None = None
) -> list[dict[str, Any]]:
    """Create ``n`` clusters named ``{prefix}-NNNNN`` and start one job (one POST) on each.

    Returns ``[{"cluster_id", "request_id", "end_wall", "end_uncertainty"}]``: ``end_wall`` is the wall-clock
    time the job reaches Terminate/Success (``duration`` is in emulated seconds).
    """
    return asyncio.run(_start_jobs(url, prefix, n, duration, time_scale, ca_file))


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="hadoop-eco-bench-"))
