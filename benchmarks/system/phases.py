"""One measured phase of the system benchmark: N waits in one mode on the running stack, and what they cost.

A *mode phase* triggers ``N / pairs`` runs of ``sysbench_<mode>`` (each run: ``pairs`` create -> sensor
pairs, one emulated cluster per pair), waits until every run has ended, and measures:

* correctness: each sensor ended as its job did (Success -> success, Failure -> failed), each create
  succeeded, and the emulator saw exactly one create POST per cluster, answered 200;
* worker cost per wait: CPU seconds and slot-seconds of the LocalExecutor workers attributed to the
  sensor's task instance (``procs.WorkerSampler``), and how many worker runs (workloads) it took;
* end-to-success latency: the task instance's ``end_date`` minus the job's end (the emulator's job start +
  duration, its clock mapped to wall time; time scale 1);
* the status calls per wait, by the process that made them (each process has its own emulator port);
* triggerer CPU per status call (its process tree's CPU over the phase / the status calls it made) and
  RSS per waiting task (RSS at the largest number of deferred tasks minus RSS at the start of the phase);
* the CPU of every other component (scheduler, api-server, dag-processor, database, emulator, this
  orchestrator) and the load average.

A *capacity phase* defers N sensors started from the triggerer (``sysbench_capacity``) on jobs the
orchestrator started itself (one POST each), at the production poll interval, and measures the same.
"""

from __future__ import annotations

import math
import os
import random
import resource
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from benchmarks.common import percentile
from benchmarks.system.procs import WorkerSampler, machine_busy_seconds, own_cpu, tree_usage
from benchmarks.system.stack import Stack, cluster_config, emulator_headers

SENSOR_DONE = ("success", "failed", "skipped", "upstream_failed", "removed")
RUN_DONE = ("success", "failed")
MONITOR_EVERY = 5.0


@dataclass
class PhaseSpec:
    mode: str  # poke | reschedule | deferrable | sft | capacity
    n: int
    pairs: int
    poll: float
    job_min: float
    job_max: float
    failure_every: int
    timeout: float
    seed: int = 1
    label: str = ""  # run ids and cluster ids start with it (default: the mode)

    def __post_init__(self) -> None:
        self.label = self.label or self.mode

    @property
    def dag_id(self) -> str:
        return f"sysbench_{self.mode}"


def _iso(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _orchestrator_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Phase:
    def __init__(self, stack: Stack, sampler: WorkerSampler, spec: PhaseSpec, say: Any) -> None:
        self.stack = stack
        self.sampler = sampler
        self.spec = spec
        self.say = say
        self.emu = stack.emulator.session()
        self.timeline: list[dict[str, Any]] = []
        self.run_ids: list[str] = []
        self.jobs: list[dict[str, Any]] = []  # cluster_id, duration, outcome, run_id, slot
        self.posted_before = 0
        self.api_errors = 0

    # --- setup ---------------------------------------------------------------------------------------
    def _plan_jobs(self, runs: int, per_run: int) -> None:
        rng = random.Random(f"{self.spec.label}-{self.spec.seed}")
        for r in range(runs):
            run_id = f"{self.spec.label}-{r:04d}"
            for i in range(per_run):
                index = r * per_run + i
                failure = (
                    self.spec.failure_every > 0
                    and index % self.spec.failure_every == self.spec.failure_every - 1
                )
                self.jobs.append(
                    {
                        "cluster_id": f"sb-{self.spec.label}-{index:05d}-{rng.randrange(16**6):06x}",
                        "duration": round(rng.uniform(self.spec.job_min, self.spec.job_max), 3),
                        "outcome": "Failure" if failure else "Success",
                        "run_id": run_id,
                        "slot": i,
                    }
                )
            self.run_ids.append(run_id)

    def _register_clusters(self) -> None:
        url = self.stack.emulator.urls["control"]
        for start in range(0, len(self.jobs), 1000):
            batch = [
                cluster_config(j["cluster_id"], j["duration"], j["outcome"])
                for j in self.jobs[start : start + 1000]
            ]
            resp = self.emu.post(f"{url}/_emulator/clusters", json=batch, timeout=120)
            if resp.status_code != 201:
                raise RuntimeError(f"adding clusters failed: {resp.status_code} {resp.text[:500]}")

    def _clock_offset(self) -> float:
        """Wall time minus emulator time (time scale 1), measured to the round trip."""
        best: tuple[float, float] | None = None
        for _ in range(5):
            t0 = time.time()
            now = self.emu.get(self.stack.emulator.urls["control"] + "/_emulator/health", timeout=30).json()[
                "now"
            ]
            t1 = time.time()
            if best is None or t1 - t0 < best[1]:
                best = ((t0 + t1) / 2 - float(now), t1 - t0)
        assert best is not None
        return best[0]

    def _components(self) -> dict[str, Any]:
        pids = self.stack.component_pids()
        out: dict[str, Any] = {"time": time.time(), "loadavg": os.getloadavg()}
        for name, pid in pids.items():
            if name == "scheduler":
                out["scheduler"] = own_cpu(pid)  # the executor's workers are counted apart
            else:
                usage = tree_usage(pid)
                out[name] = usage.cpu
                if name == "triggerer":
                    out["triggerer_rss"] = usage.rss
        out["executor"] = self.sampler.worker_total_cpu()
        out["orchestrator"] = _orchestrator_cpu()
        out["machine"] = machine_busy_seconds()
        return out

    def _counts(self, **params: str) -> dict[str, Any]:
        resp = self.emu.get(
            self.stack.emulator.urls["control"] + "/_sysbench/counts", params=params, timeout=120
        )
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]

    def _api(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        """The REST API, tried again for a while on errors: a loaded api-server answers 5xx at times."""
        for attempt in range(10):
            try:
                return self.stack.api(method, path, body, ok=ok)
            except Exception as exc:  # AssertionError (HTTP status) or a requests error
                if attempt == 9:
                    raise
                self.api_errors += 1
                self.say(f"[{self.spec.label}] REST API error, trying again: {str(exc)[:200]}")
                time.sleep(5 + 5 * attempt)
        raise AssertionError("unreachable")

    def _ti_total(self, **params: Any) -> int:
        query = "&".join(
            f"{k}={v}"
            for k, values in params.items()
            for v in (values if isinstance(values, (list, tuple)) else [values])
        )
        data = self._api(
            "GET",
            f"/api/v2/dags/{self.spec.dag_id}/dagRuns/~/taskInstances?limit=1&run_id_prefix_pattern={self.spec.label}-&{query}",
        )
        return int(data["total_entries"])

    def _runs_open(self) -> int:
        data = self._api("GET", f"/api/v2/dags/{self.spec.dag_id}/dagRuns?limit=1&state=queued&state=running")
        return int(data["total_entries"])

    # --- run -----------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        spec = self.spec
        capacity = spec.mode == "capacity"
        runs = math.ceil(spec.n / spec.pairs)
        self._plan_jobs(runs, spec.pairs)
        n = len(self.jobs)
        self._register_clusters()
        offset = self._clock_offset()
        self.say(
            f"[{spec.label}] {n} waits in {runs} runs of {spec.pairs}; jobs {spec.job_min:g}-{spec.job_max:g} s, poll {spec.poll:g} s"
        )
        before = self._components()
        started = before["time"]
        summary = self._counts(summary="1")
        posts_before = summary["by_listener"]
        self.posted_before = int(summary["posted_clusters"])
        by_run: dict[str, list[dict[str, Any]]] = {}
        for job in self.jobs:
            by_run.setdefault(job["run_id"], []).append(job)
        post_seconds = 0.0
        for run_id in self.run_ids:
            jobs = by_run[run_id]
            if capacity:
                t = time.time()
                self._post_creates(jobs)
                post_seconds += time.time() - t
                conf: dict[str, Any] = {"jobs": [[j["cluster_id"], j["request_id"]] for j in jobs]}
            else:
                conf = {"clusters": [j["cluster_id"] for j in jobs]}
            self._api(
                "POST",
                f"/api/v2/dags/{spec.dag_id}/dagRuns",
                {"dag_run_id": run_id, "logical_date": None, "conf": conf},
                ok=(409,),  # a retry after a lost answer finds the run already there
            )
        triggered = time.time()
        self.say(f"[{spec.label}] triggered {runs} runs in {triggered - started:.0f} s")
        complete = self._monitor(n, started)
        # Let the last workers finish their bookkeeping, so that their CPU lands in this phase.
        deadline = time.time() + 30
        while time.time() < deadline and self._busy_workers():
            time.sleep(0.5)
        after = self._components()
        if not complete:
            self._abandon()
        result = self._measure(n, before, after, offset, complete, posts_before)
        result["trigger_seconds"] = triggered - started
        result["post_seconds"] = post_seconds
        return result

    def _post_creates(self, jobs: list[dict[str, Any]]) -> None:
        """The capacity phase starts its jobs itself: one POST per cluster, on the orchestrator's port."""
        from airflow_provider_hadoop_eco.defaults import DEFAULT_REGION, REGIONS

        url = self.stack.emulator.urls["control"] + REGIONS[DEFAULT_REGION].create_path
        headers = emulator_headers()
        for job in jobs:
            resp = self.emu.post(url.format(cluster_id=job["cluster_id"]), headers=headers, timeout=60)
            if resp.status_code != 200:
                raise RuntimeError(f"create {job['cluster_id']}: {resp.status_code} {resp.text[:300]}")
            job["request_id"] = resp.json()["requestId"]

    def _busy_workers(self) -> int:
        return self.sampler.busy_workers()

    def _monitor(self, n: int, started: float) -> bool:
        spec = self.spec
        last_print = 0.0
        deadline = started + spec.timeout
        while True:
            self.stack.assert_alive()
            now = time.time()
            done = self._ti_total(state=list(SENSOR_DONE), task_display_name_prefix_pattern="wait_")
            deferred = self._ti_total(state="deferred")
            resched = self._ti_total(state="up_for_reschedule") if spec.mode == "reschedule" else 0
            summary = self._counts(summary="1")
            trig = tree_usage(self.stack.pid("triggerer"))
            point = {
                "t": now - started,
                "done": done,
                "deferred": deferred,
                "up_for_reschedule": resched,
                "busy_workers": self._busy_workers(),
                "posted": summary["posted_clusters"] - self.posted_before,
                "worker_gets": summary["by_listener"].get("worker", {}).get("GET", 0),
                "triggerer_gets": summary["by_listener"].get("triggerer", {}).get("GET", 0),
                "triggerer_cpu": trig.cpu,
                "triggerer_rss": trig.rss,
                # The triggerer's supervisor (the process started) syncs triggers with the database and
                # writes their logs; its child, the trigger runner, runs the triggers' event loop.
                "triggerer_supervisor_cpu": trig.cpu_by_pid.get(self.stack.pid("triggerer"), 0.0),
                "triggerer_rss_by_pid": trig.rss_by_pid,
                "scheduler_cpu": own_cpu(self.stack.pid("scheduler")),
                "loadavg": os.getloadavg()[0],
            }
            self.timeline.append(point)
            if now - last_print >= 30:
                last_print = now
                self.say(
                    f"[{spec.label}] t={point['t']:.0f}s done {done}/{n} deferred {deferred} busy workers "
                    f"{point['busy_workers']} posted {point['posted']} load {point['loadavg']:.1f}"
                )
            if done >= n and self._runs_open() == 0:
                return True
            if now > deadline:
                self.say(f"[{spec.label}] phase timeout after {spec.timeout:.0f} s: {done}/{n} waits ended")
                return False
            time.sleep(MONITOR_EVERY)

    def _abandon(self) -> None:
        """Fail the runs still open (which stops their tasks), so that they do not load the next phase."""
        for run_id in self.run_ids:
            self._api(
                "PATCH",
                f"/api/v2/dags/{self.spec.dag_id}/dagRuns/{run_id}",
                {"state": "failed"},
                ok=(400, 409),
            )

    # --- measure -------------------------------------------------------------------------------------
    def _task_instances(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            data = self._api(
                "GET",
                f"/api/v2/dags/{self.spec.dag_id}/dagRuns/~/taskInstances?limit=1000&offset={offset}"
                f"&order_by=id&run_id_prefix_pattern={self.spec.label}-",
            )
            items = data["task_instances"]
            out.extend(items)
            offset += len(items)
            if not items or offset >= data["total_entries"]:
                return out

    def _measure(
        self,
        n: int,
        before: dict[str, Any],
        after: dict[str, Any],
        offset: float,
        complete: bool,
        posts_before: dict[str, Any],
    ) -> dict[str, Any]:
        spec = self.spec
        wall = after["time"] - before["time"]
        tis = self._task_instances()
        by_key = {(t["dag_run_id"], t["task_id"]): t for t in tis}
        state = self.emu.get(self.stack.emulator.urls["control"] + "/_emulator/state", timeout=300).json()
        jobs_by_cluster = {c["cluster_id"]: c["jobs"] for c in state["clusters"]}
        counts = self._counts(since=str(before["time"]))
        sampled = self.sampler.snapshot()["by_ti"]

        problems: list[str] = []
        one_post = 0
        waits: list[dict[str, Any]] = []
        creates: list[dict[str, Any]] = []
        for job in self.jobs:
            slot = f"{job['slot']:03d}"
            sensor = by_key.get((job["run_id"], f"wait_{slot}"))
            create = by_key.get((job["run_id"], f"create_{slot}"))
            cjobs = jobs_by_cluster.get(job["cluster_id"], [])
            posts = counts["posts"].get(job["cluster_id"], [])
            if posts == [200]:
                one_post += 1
            else:
                problems.append(f"{job['cluster_id']}: create POSTs {posts} (want exactly one, answered 200)")
            if len(cjobs) != 1:
                problems.append(f"{job['cluster_id']}: {len(cjobs)} jobs on the emulator")
            if sensor is None:
                problems.append(f"{job['run_id']}/wait_{slot}: no task instance")
                continue
            want = "success" if job["outcome"] == "Success" else "failed"
            if sensor["state"] != want:
                problems.append(
                    f"{job['run_id']}/wait_{slot}: {sensor['state']} (job {job['outcome']}, want {want})"
                )
            if spec.mode != "capacity" and (create is None or create["state"] != "success"):
                problems.append(f"{job['run_id']}/create_{slot}: {create and create['state']}")
            request_id = cjobs[0]["requestId"] if cjobs else None
            job_end = cjobs[0]["started_at"] + cjobs[0]["duration"] + offset if cjobs else None
            end = _iso(sensor.get("end_date"))
            gets = counts["gets"].get(request_id, {}) if request_id else {}
            work = sampled.get(sensor["id"], {})
            waits.append(
                {
                    "outcome": job["outcome"],
                    "state": sensor["state"],
                    "latency": (end - job_end) if (end is not None and job_end is not None) else None,
                    "job_duration": job["duration"],
                    "job_start": (cjobs[0]["started_at"] + offset) if cjobs else None,
                    "cpu": work.get("cpu", 0.0),
                    "busy": work.get("busy", 0.0),
                    "runs": work.get("runs", 0),
                    "worker_gets": gets.get("worker", 0),
                    "triggerer_gets": gets.get("triggerer", 0),
                    "verbose": counts["verbose"].get(request_id, 0) if request_id else 0,
                    "try_number": sensor.get("try_number"),
                }
            )
            if create is not None:
                cw = sampled.get(create["id"], {})
                creates.append(
                    {"cpu": cw.get("cpu", 0.0), "busy": cw.get("busy", 0.0), "runs": cw.get("runs", 0)}
                )

        def delta(name: str) -> float:
            return float(after.get(name, 0.0)) - float(before.get(name, 0.0))

        succ = [w for w in waits if w["outcome"] == "Success"]
        fail = [w for w in waits if w["outcome"] == "Failure"]

        def stats(items: list[dict[str, Any]], key: str) -> dict[str, float]:
            values = [float(w[key]) for w in items if w[key] is not None]
            if not values:
                return {"n": 0, "mean": 0.0, "p50": 0.0, "p99": 0.0, "max": 0.0, "min": 0.0, "sum": 0.0}
            return {
                "n": len(values),
                "mean": sum(values) / len(values),
                "p50": percentile(values, 50),
                "p99": percentile(values, 99),
                "max": max(values),
                "min": min(values),
                "sum": sum(values),
            }

        trig_gets = sum(w["triggerer_gets"] for w in waits)
        worker_gets = sum(w["worker_gets"] for w in waits)
        peak_deferred = max((p["deferred"] for p in self.timeline), default=0)
        base_rss = before.get("triggerer_rss", 0)
        # While (nearly) every sensor waits: from the first sample with 95% of the peak deferred.
        plateau = [p for p in self.timeline if peak_deferred and p["deferred"] >= 0.95 * peak_deferred]
        rss_at_peak = max((p["triggerer_rss"] for p in plateau), default=None)
        rss_per_task = (
            (rss_at_peak - base_rss) / peak_deferred if rss_at_peak is not None and peak_deferred else None
        )
        # The marginal cost: RSS growth from a quarter of the peak to the peak, per task added.
        quarter = next(
            (p for p in self.timeline if peak_deferred and p["deferred"] >= 0.25 * peak_deferred), None
        )
        rss_marginal = (
            (rss_at_peak - quarter["triggerer_rss"]) / (peak_deferred - quarter["deferred"])
            if rss_at_peak is not None and quarter is not None and peak_deferred > quarter["deferred"]
            else None
        )
        in_flight = [p["posted"] - p["done"] for p in self.timeline]
        # Steady state: every sensor deferred (95% of N), from two poll intervals after that was reached (the
        # triggers have started and polled once), until the first ones end.
        steady: list[dict[str, Any]] = []
        if plateau and peak_deferred >= 0.95 * n:
            t0 = plateau[0]["t"] + 2 * spec.poll
            ended = next((p["t"] for p in self.timeline if p["t"] >= t0 and p["done"] > 0), None)
            steady = [p for p in plateau if p["t"] >= t0 and (ended is None or p["t"] < ended)]
        steady_figures: dict[str, Any] = {}
        if len(steady) >= 2:
            a, b = steady[0], steady[-1]
            span = b["t"] - a["t"]
            gets = b["triggerer_gets"] - a["triggerer_gets"]
            trig_cpu = b["triggerer_cpu"] - a["triggerer_cpu"]
            sup_cpu = b["triggerer_supervisor_cpu"] - a["triggerer_supervisor_cpu"]
            steady_figures = {
                "seconds": span,
                "triggerer_share": trig_cpu / span,
                "runner_share": (trig_cpu - sup_cpu) / span,
                "supervisor_share": sup_cpu / span,
                "scheduler_share": (b["scheduler_cpu"] - a["scheduler_cpu"]) / span,
                "status_calls_per_second": gets / span,
                "triggerer_cpu_ms_per_status_call": 1000 * trig_cpu / gets if gets else None,
                "runner_cpu_ms_per_status_call": 1000 * (trig_cpu - sup_cpu) / gets if gets else None,
                "rss_mean": sum(p["triggerer_rss"] for p in steady) / len(steady),
                "loadavg_mean": sum(p["loadavg"] for p in steady) / len(steady),
            }
        steady_share = steady_figures.get("triggerer_share")
        attributed = sum(w["cpu"] for w in waits) + sum(c["cpu"] for c in creates)
        return {
            "spec": asdict(spec),
            "n": n,
            "complete": complete,
            "all_right": complete and not problems,
            "problems": problems[:50],
            "problem_count": len(problems),
            "wall_seconds": wall,
            "loadavg_start": before["loadavg"],
            "loadavg_end": after["loadavg"],
            "loadavg_mean": sum(p["loadavg"] for p in self.timeline) / max(len(self.timeline), 1),
            "loadavg_max": max((p["loadavg"] for p in self.timeline), default=0.0),
            "failures_expected": len(fail),
            "creates_with_one_post": one_post,
            "sensor_states": {
                s: sum(1 for w in waits if w["state"] == s) for s in {w["state"] for w in waits}
            },
            "worker_cpu": {
                "all": stats(waits, "cpu"),
                "success": stats(succ, "cpu"),
                "failure": stats(fail, "cpu"),
            },
            "worker_slot_seconds": {
                "all": stats(waits, "busy"),
                "success": stats(succ, "busy"),
                "failure": stats(fail, "busy"),
            },
            "worker_runs": {
                "all": stats(waits, "runs"),
                "success": stats(succ, "runs"),
                "failure": stats(fail, "runs"),
            },
            "create_cpu": stats(creates, "cpu"),
            "create_slot_seconds": stats(creates, "busy"),
            "latency": {"success": stats(succ, "latency"), "failure": stats(fail, "latency")},
            "job_duration": stats(waits, "job_duration"),
            "gets": {
                "worker_per_wait": worker_gets / max(n, 1),
                "triggerer_per_wait": trig_gets / max(n, 1),
                "verbose_exactly_one": sum(1 for w in waits if w["verbose"] == 1),
                "success_waits_with_worker_gets": sum(1 for w in succ if w["worker_gets"]),
            },
            "cpu": {
                "scheduler": delta("scheduler"),
                "executor": delta("executor"),
                "executor_attributed": attributed,
                "triggerer": delta("triggerer"),
                "api-server": delta("api-server"),
                "dag-processor": delta("dag-processor"),
                "postgres": delta("postgres"),
                "emulator": delta("emulator"),
                "orchestrator": delta("orchestrator"),
                "machine": delta("machine"),
            },
            "triggerer": {
                "cpu_ms_per_status_call": 1000 * delta("triggerer") / trig_gets if trig_gets else None,
                "status_calls": trig_gets,
                "rss_base": base_rss,
                "rss_at_peak": rss_at_peak,
                "rss_marginal_per_task": rss_marginal,
                "supervisor_cpu": (
                    self.timeline[-1]["triggerer_supervisor_cpu"]
                    - self.timeline[0]["triggerer_supervisor_cpu"]
                    if self.timeline
                    else None
                ),
                "peak_deferred": peak_deferred,
                "rss_per_deferred_task": rss_per_task,
                "cpu_share": delta("triggerer") / wall if wall else None,
                "cpu_share_steady": steady_share,
                "steady_seconds": steady_figures.get("seconds", 0.0),
                "steady": steady_figures,
            },
            "peak_in_flight": max(in_flight, default=0),
            "sampler": {k: v for k, v in self.sampler.snapshot(set()).items() if k != "by_ti"},
            "timeline": [{k: v for k, v in p.items() if k != "triggerer_rss_by_pid"} for p in self.timeline],
            "posts_before": posts_before,
            "api_errors": self.api_errors,
        }
