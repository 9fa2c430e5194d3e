"""Small helpers shared by the benchmark processes: process metrics, percentiles, machine facts.

Linux only (reads /proc). No third-party imports: the worker imports this before Airflow.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

#: Credentials every benchmark cluster of the emulator accepts (fake, local only).
BENCH_CREDENTIAL_ID = "bench-access-key"
BENCH_CREDENTIAL_SECRET = "bench-secret-key"
BENCH_API_KEY = "bench-api-key"


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * PAGE_SIZE


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads included."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def schedstat() -> tuple[float, float]:
    """(seconds on CPU, seconds runnable but waiting for a CPU) of this process's main thread."""
    try:
        with open("/proc/self/schedstat", "rb") as f:
            on_cpu, waiting = f.read().split()[:2]
        return int(on_cpu) / 1e9, int(waiting) / 1e9
    except (OSError, ValueError):
        return 0.0, 0.0


def loadavg() -> float:
    """The 1-minute load average."""
    try:
        with open("/proc/loadavg", "rb") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return 0.0


def proc_stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (index 0 is field 3, the state), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after its last ")".
    return data[data.rindex(b")") + 2 :].split()


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of another process (from /proc/PID/stat), or None if it is gone."""
    fields = proc_stat_fields(pid)
    # utime and stime are fields 14 and 15.
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list; 0.0 for an empty one."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))  # ceil(q/100 * n)
    return ordered[min(rank, len(ordered)) - 1]


def median(values: list[float]) -> float:
    """Median of a non-empty list; 0.0 for an empty one."""
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def raise_fd_limit() -> int:
    """Raise the soft open-files limit to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def conn_json(url: str, ca_file: str | None = None) -> str:
    """The ``AIRFLOW_CONN_HADOOP_ECO_DEFAULT`` value for the emulator; ``ca_file`` is trusted for TLS."""
    extra: dict[str, Any] = {"api_key": BENCH_API_KEY}
    if ca_file:
        extra["verify"] = ca_file
    return json.dumps(
        {
            "conn_type": "hadoop_eco",
            "host": url,
            "login": BENCH_CREDENTIAL_ID,
            "password": BENCH_CREDENTIAL_SECRET,
            "extra": extra,
        }
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def machine_info(python: str) -> dict[str, Any]:
    """Facts about the machine and the interpreter ``python`` the benchmark measures."""
    code = (
        "import sys, json, importlib.metadata as m\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except Exception: return None\n"
        "print(json.dumps({'python': sys.version.split()[0], 'airflow': v('apache-airflow'),"
        " 'aiohttp': v('aiohttp'), 'requests': v('requests'), 'tenacity': v('tenacity'),"
        " 'asgiref': v('asgiref'), 'provider': v('airflow-provider-hadoop-eco')}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    versions = json.loads(out.stdout)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gib": round(_mem_total_gib(), 1),
        "kernel": platform.release(),
        "interpreter": python,
        **versions,
        "orchestrator_python": sys.version.split()[0],
    }


def stop_process(proc: subprocess.Popen[Any] | None, grace: float = 10.0) -> None:
    """Stop a child started with ``start_new_session=True``: SIGTERM to it, then SIGKILL to its group."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
