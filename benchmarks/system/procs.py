"""CPU, memory and worker-slot accounting of the Airflow processes, read from /proc (Linux only).

* :func:`tree_usage`: CPU seconds (user + system) and RSS of a process and all its descendants. A
  descendant that exited and was reaped inside the tree is still counted (in its parent's ``cutime``), so
  the difference of two readings is exactly the tree's CPU between them.
* :class:`WorkerSampler`: attributes the CPU and the slot time of the LocalExecutor's workers to task
  instances. Each worker (titled ``airflow worker -- LocalExecutor: <ti id>`` while it runs a task and
  ``... <idle>`` otherwise) forks one task process per workload (``airflow worker -- <ti id>``) and reaps
  it. A worker's CPU *including* its reaped and live children only grows, and an idle worker uses none, so
  summing its increments over the run is exact; the sampler only decides which task instance each
  increment belongs to, from the title seen at each sample. Where two workloads meet between two samples,
  the new task process's own CPU goes to the new task instance and the rest to the old one.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import proc_stat_fields

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
WORKER_PREFIX = "airflow worker -- LocalExecutor"


@dataclass
class Stat:
    pid: int
    own_cpu: float  # utime + stime
    children_cpu: float  # cutime + cstime (reaped children)
    rss: int  # bytes
    start_ticks: int


def read_stat(pid: int) -> Stat | None:
    fields = proc_stat_fields(pid)
    if fields is None:
        return None
    return Stat(
        pid=pid,
        own_cpu=(int(fields[11]) + int(fields[12])) / TICKS,
        children_cpu=(int(fields[13]) + int(fields[14])) / TICKS,
        rss=int(fields[21]) * PAGE,
        start_ticks=int(fields[19]),
    )


def read_title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def children(pid: int, all_threads: bool = False) -> list[int]:
    """Direct children of ``pid`` (from ``/proc/PID/task/TID/children``)."""
    tids = [str(pid)]
    if all_threads:
        with contextlib.suppress(OSError):
            tids = os.listdir(f"/proc/{pid}/task")
    out: list[int] = []
    for tid in tids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
            out.extend(int(x) for x in f.read().split())
    return out


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    stack = [pid]
    while stack:
        kids = children(stack.pop(), all_threads=True)
        found.extend(kids)
        stack.extend(kids)
    return found


@dataclass
class Usage:
    cpu: float = 0.0
    rss: int = 0
    processes: int = 0
    rss_by_pid: dict[int, int] = field(default_factory=dict)
    cpu_by_pid: dict[int, float] = field(default_factory=dict)


def tree_usage(pid: int) -> Usage:
    """CPU seconds (own + reaped children, over the whole tree) and RSS of ``pid`` and its descendants."""
    usage = Usage()
    for p in [pid, *descendants(pid)]:
        st = read_stat(p)
        if st is None:
            continue
        usage.cpu += st.own_cpu + st.children_cpu
        usage.rss += st.rss
        usage.processes += 1
        usage.rss_by_pid[p] = st.rss
        usage.cpu_by_pid[p] = st.own_cpu + st.children_cpu
    return usage


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all CPUs, all processes, /proc/stat) since boot."""
    with open("/proc/stat", "rb") as f:
        fields = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def own_cpu(pid: int) -> float:
    st = read_stat(pid)
    return st.own_cpu if st else 0.0


@dataclass
class Workload:
    """What the sampler saw of one task instance (all its workloads: reschedule pokes are several)."""

    cpu: float = 0.0
    busy: float = 0.0  # seconds a worker slot was seen held, each workload +1 sample period (midpoint)
    runs: int = 0
    first_seen: float = 0.0
    last_seen: float = 0.0


def _workload_of(title: str) -> str | None:
    """The task instance id a LocalExecutor worker runs now, or None when idle."""
    if not title.startswith(WORKER_PREFIX):
        return None
    tail = title.split(":", 1)[1].strip() if ":" in title else ""
    return None if not tail or tail.startswith("<") else tail


class WorkerSampler(threading.Thread):
    """Samples the scheduler's LocalExecutor workers every ``period`` seconds (see the module docstring)."""

    def __init__(self, scheduler_pid: int, period: float = 0.2) -> None:
        super().__init__(name="worker-sampler", daemon=True)
        self.scheduler_pid = scheduler_pid
        self.period = period
        self.lock = threading.Lock()
        self.by_ti: dict[str, Workload] = defaultdict(Workload)
        self.idle_cpu = 0.0
        self.samples = 0
        self.sample_cpu = 0.0  # this thread's own CPU time
        self.workers: list[int] = []
        self._last: dict[int, tuple[float, str | None]] = {}  # worker -> (total cpu, workload)
        self._halt = threading.Event()
        self._last_refresh = 0.0

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def _refresh_workers(self) -> None:
        kids = children(self.scheduler_pid, all_threads=True)
        self.workers = [k for k in kids if read_title(k).startswith(WORKER_PREFIX)]

    def run(self) -> None:
        while not self._halt.is_set():
            started = time.thread_time()
            now = time.time()
            if now - self._last_refresh > 2.0:
                self._refresh_workers()
                self._last_refresh = now
            with self.lock:
                for worker in self.workers:
                    self._sample_worker(worker, now)
                self.samples += 1
                self.sample_cpu += time.thread_time() - started
            self._halt.wait(self.period)

    def _sample_worker(self, worker: int, now: float) -> None:
        st = read_stat(worker)
        if st is None:
            return
        ti = _workload_of(read_title(worker))
        total = st.own_cpu + st.children_cpu
        new_child_cpu = 0.0
        for kid in children(worker):
            kst = read_stat(kid)
            if kst is not None:
                kid_cpu = kst.own_cpu + kst.children_cpu
                total += kid_cpu
                new_child_cpu += kid_cpu
        previous = self._last.get(worker)
        self._last[worker] = (total, ti)
        if ti is not None:
            w = self.by_ti[ti]
            if previous is None or previous[1] != ti:
                w.runs += 1
                w.busy += self.period  # the unseen part before the first and after the last sample
                if not w.first_seen:
                    w.first_seen = now
            else:
                w.busy += now - w.last_seen
            w.last_seen = now
        if previous is None:
            return  # the first reading of this worker only sets the base
        delta = max(total - previous[0], 0.0)
        before = previous[1]
        if before == ti:
            if ti is None:
                self.idle_cpu += delta
            else:
                self.by_ti[ti].cpu += delta
        elif before is None:
            assert ti is not None
            self.by_ti[ti].cpu += delta
        elif ti is None:
            self.by_ti[before].cpu += delta
        else:
            # Two workloads met between the samples: the live task process is the new one's.
            mine = min(new_child_cpu, delta)
            self.by_ti[ti].cpu += mine
            self.by_ti[before].cpu += delta - mine

    def busy_workers(self) -> int:
        """Workers seen running a task at the last sample."""
        with self.lock:
            return sum(1 for _, ti in self._last.values() if ti is not None)

    def worker_total_cpu(self) -> float:
        """CPU of every worker with its reaped and live children, now (for the phase totals)."""
        total = 0.0
        for worker in list(self.workers):
            st = read_stat(worker)
            if st is None:
                continue
            total += st.own_cpu + st.children_cpu
            for kid in children(worker):
                kst = read_stat(kid)
                if kst is not None:
                    total += kst.own_cpu + kst.children_cpu
        return total

    def snapshot(self, ti_ids: set[str] | None = None) -> dict[str, Any]:
        with self.lock:
            items = {k: v for k, v in self.by_ti.items() if ti_ids is None or k in ti_ids}
            return {
                "by_ti": {
                    k: {
                        "cpu": v.cpu,
                        "busy": v.busy,
                        "runs": v.runs,
                        "first": v.first_seen,
                        "last": v.last_seen,
                    }
                    for k, v in items.items()
                },
                "idle_cpu": self.idle_cpu,
                "samples": self.samples,
                "sampler_cpu": self.sample_cpu,
                "workers": len(self.workers),
            }
