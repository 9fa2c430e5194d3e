"""The provider on a production topology: PostgreSQL, CeleryExecutor on Redis, two of each Airflow process.

The topology starts once (conftest.py). One campaign (:func:`campaign`) then plays every scenario at once,
overlapping in time, and records what happened; each test asserts one scenario on that record:

1. load: 100 runs (create -> deferrable sensor) started together, mixed job lengths, some Failure;
2. a triggerer SIGKILLed while it holds about half of the waiting sensors; the other one takes over;
3. a Celery worker SIGKILLed while a create task with ``wait_for_completion`` waits in it; the retry runs on
   another worker and re-attaches to the running request (no second POST);
4. a scheduler SIGKILLed mid-run;
5. a deferred sensor whose triggerer dies keeps its deadline (fails as a sensor timeout on time);
6. the canary secret and API key are in no log file, not in Redis (keys, values and every command it
   received), and in the PostgreSQL dump only as the Fernet-encrypted connection row.

The emulator's clock makes the campaign independent of the machine's speed: every job lasts 20 minutes or
more of emulated time, so none ends while the failovers are staged; once they are over, the clock is sped
up and the jobs end in their mixed order within seconds. The sensor's timeout is real time (the trigger's
absolute deadline), untouched by the emulator's clock.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from dist_env import (
    DAGS,
    TRIGGERER_HEALTH_CHECK_THRESHOLD,
    Kill,
    Topology,
    find_secret,
    first_log_timestamp,
    parse_ts,
    start_triggerer,
    start_worker,
    wait_for,
    wait_worker_ready,
)

WARMUP_DAG = "distributed_warmup"
LOAD_DAG = "distributed_load"
TIMEOUT_DAG = "distributed_sensor_timeout"
DB_DAG = "distributed_db_connection"
REATTACH_DAG = "distributed_reattach"
ALL_DAGS = (WARMUP_DAG, LOAD_DAG, TIMEOUT_DAG, DB_DAG, REATTACH_DAG)
#: Runs whose sensors poll through a triggerer's own emulator port (the DB connection has one shared port).
ATTRIBUTED_DAGS = (WARMUP_DAG, LOAD_DAG, TIMEOUT_DAG)
WARMUP_RUNS = 4
CREATE, SENSOR = "start_job", "wait_for_job"

LOAD_RUNS = 100
#: Every fifth load job ends in Failure (its run must fail, at the sensor).
FAILURE_EVERY = 5
#: Emulated job lengths: long enough that no job ends before the clock is sped up, and mixed.
BASE_DURATION = 1500.0
DURATION_SPREAD = 600.0
#: Emulated seconds added per real second once the failovers are over.
CLOCK_SPEED_UP = 40.0
TIMEOUT_RUNS = 2
#: ``SENSOR_TIMEOUT`` of tests/distributed/dags (the deferred sensor of scenario 5), read from the DAG file.
SENSOR_TIMEOUT = int(
    re.search(r"^SENSOR_TIMEOUT = (\d+)$", (DAGS / "distributed_hadoop_eco_dags.py").read_text(), re.M)[1]
)
#: The triggerer is killed at least this long before the deadline of its timeout sensor(s).
DEADLINE_MARGIN = 35
#: Longest tolerated overlap of two triggerers polling one request (a handover in progress).
HANDOVER_SLACK = 15.0
#: How long after its trigger fires a task may take to be failed by a worker (queueing on 2 busy cores).
RESUME_SLACK = 90.0
CAMPAIGN_TIMEOUT = 720

#: The triggerer is killed once this many sensors wait (and it holds about half of them).
KILL_AT_WAITING = 40
#: Share of the waiting sensors the killed triggerer must hold ("about half").
SHARE_RANGE = (0.3, 0.7)

# The first test also pays for the venv, the start-up and the whole campaign (~6-8 min on 2 busy cores).
pytestmark = [pytest.mark.e2e, pytest.mark.airflow3, pytest.mark.timeout(1500)]


@dataclass
class Run:
    dag_id: str
    run_id: str
    cluster_id: str
    expected: str  # the run's expected final state


@dataclass
class Campaign:
    topo: Topology
    runs: list[Run] = field(default_factory=list)
    worker_kill: Kill | None = None
    scheduler_kill: Kill | None = None
    triggerer_kill: Kill | None = None
    #: Triggerer job id -> component name, and the victim/survivor names.
    triggerer_jobs: dict[str, str] = field(default_factory=dict)
    scheduler_jobs: dict[str, str] = field(default_factory=dict)
    #: Deferred sensors per triggerer at the moment of the triggerer kill: {name: [request ids]}.
    held_at_kill: dict[str, list[str]] = field(default_factory=dict)
    victim_timeout_runs: list[Run] = field(default_factory=list)
    #: The sensor's start (try 1) of each timeout run, by run id.
    sensor_started: dict[str, float] = field(default_factory=dict)
    #: TIs the killed scheduler had queued that were not finished at its death.
    orphaned_by_scheduler: list[dict[str, str]] = field(default_factory=list)
    redis_mid_run: dict[bytes, bytes] = field(default_factory=dict)
    clock_sped_up_at: float = 0.0
    finished_at: float = 0.0
    final_tis: list[dict[str, str]] = field(default_factory=list)
    request_ids: dict[str, str] = field(default_factory=dict)  # cluster id -> request id
    errors: list[str] = field(default_factory=list)
    #: (seconds into the campaign, waiting sensors, share of triggerer-0), sampled before the triggerer kill.
    shares: list[tuple[int, int, float]] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    balancing_pauses: dict[str, int] = field(default_factory=dict)
    trigger_rows: list[dict[str, str]] = field(default_factory=list)
    listening: list[tuple[str, str, int]] = field(default_factory=list)

    def by_dag(self, dag_id: str) -> list[Run]:
        return [r for r in self.runs if r.dag_id == dag_id]

    def ti(self, run: Run, task_id: str, tis: list[dict[str, str]] | None = None) -> dict[str, str]:
        rows = tis if tis is not None else self.final_tis
        return next(
            (
                t
                for t in rows
                if t["dag_id"] == run.dag_id and t["run_id"] == run.run_id and t["task_id"] == task_id
            ),
            {},
        )

    @property
    def victim(self) -> str:
        assert self.triggerer_kill is not None
        return self.triggerer_kill.component

    @property
    def survivor(self) -> str:
        return next(n for n in ("triggerer-0", "triggerer-1") if n != self.victim)

    def triggerer_job_of(self, name: str) -> list[str]:
        return self.job_ids(self.triggerer_jobs, name)

    @staticmethod
    def job_ids(jobs: dict[str, str], name: str) -> list[str]:
        return [job for job, who in jobs.items() if who == name]

    def run_of(self, ti: dict[str, str]) -> Run:
        return next(r for r in self.runs if r.run_id == ti["run_id"] and r.dag_id == ti["dag_id"])


def _tis(topo: Topology) -> list[dict[str, str]]:
    return topo.task_instances(ALL_DAGS)


def _count(tis: list[dict[str, str]], dag_id: str, task_id: str, states: tuple[str, ...]) -> int:
    return sum(1 for t in tis if t["dag_id"] == dag_id and t["task_id"] == task_id and t["state"] in states)


def _deferred_by_triggerer(camp: Campaign, tis: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    held: dict[str, list[dict[str, str]]] = defaultdict(list)
    for t in tis:
        if (
            t["task_id"] == SENSOR
            and t["state"] == "deferred"
            and t["triggerer_id"]
            and t["dag_id"] in ATTRIBUTED_DAGS
        ):
            held[camp.triggerer_jobs.get(t["triggerer_id"], f"job-{t['triggerer_id']}")].append(t)
    return held


def _gets_by_component(camp: Campaign, request_id: str, since: float = 0.0) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for record in camp.topo.emulator.gets(request_id=request_id):
        if record["timestamp"] >= since:
            out[camp.topo.frontends.component_of(record)].append(record["timestamp"])
    return out


def _request_id(camp: Campaign, run: Run) -> str:
    if run.cluster_id not in camp.request_ids:
        jobs = camp.topo.emulator.jobs(run.cluster_id)
        if jobs:
            camp.request_ids[run.cluster_id] = jobs[0]["requestId"]
    return camp.request_ids.get(run.cluster_id, "")


# --- the campaign ----------------------------------------------------------------------------------------
class _Staging:
    """The campaign's steps, each taken once its condition holds (checked about once a second).

    Phases: ``first`` (the first waits, in triggerer-0 alone: warm-up runs and the timeout runs of scenario 5)
    -> ``reattach`` (scenario 3: kill the worker of a waiting create task) -> ``load`` (scenario 1, with the
    scheduler kill of 4 and the triggerer kill of 2 and 5) -> ``ending`` (the clock sped up; the jobs end).
    """

    def __init__(self, camp: Campaign) -> None:
        self.camp = camp
        self.topo = camp.topo
        self.reattach: Run | None = None
        self.killed_worker_retry_seen = False
        self.takeover_done_at = 0.0
        self.all_deferred_at = 0.0
        self._speed_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._paused: int | None = None

    def _trigger(self, dag_id: str, prefix: str, duration: float, outcome: str = "Success") -> Run:
        cluster = self.topo.add_cluster(prefix, duration, outcome)
        expected = "failed" if outcome == "Failure" or dag_id == TIMEOUT_DAG else "success"
        run = Run(dag_id, self.topo.trigger(dag_id, {"cluster_id": cluster}), cluster, expected)
        self.camp.runs.append(run)
        return run

    def start_first_waits(self) -> None:
        for i in range(WARMUP_RUNS):
            self._trigger(WARMUP_DAG, f"warmup{i}", BASE_DURATION + i)
        for i in range(TIMEOUT_RUNS):
            self._trigger(TIMEOUT_DAG, f"timeout{i}", 100 * BASE_DURATION)
        self.topo.log_event(
            f"first waits: {WARMUP_RUNS} warm-up runs, {TIMEOUT_RUNS} timeout runs (scenario 5)"
        )

    def first_waits_running(self, tis: list[dict[str, str]]) -> bool:
        """Every first wait is deferred and polled by triggerer-0 (the only triggerer yet)."""
        first = [r for r in self.camp.runs if r.dag_id in (WARMUP_DAG, TIMEOUT_DAG)]
        for run in first:
            ti = self.camp.ti(run, SENSOR, tis)
            if ti.get("state") != "deferred" or not _gets_by_component(
                self.camp, _request_id(self.camp, run)
            ).get("triggerer-0"):
                return False
            if run.dag_id == TIMEOUT_DAG:
                self.camp.sensor_started.setdefault(run.run_id, float(ti["start_ts"]))
        return True

    def start_second_triggerer(self) -> None:
        start_triggerer(self.topo.airflow, "triggerer-1")
        self.topo.log_event(f"started triggerer-1 pid {self.topo.airflow.pids['triggerer-1']}")

    def start_reattach(self) -> None:
        self.reattach = self._trigger(REATTACH_DAG, "reattach", BASE_DURATION)
        self.topo.log_event(f"scenario 3: triggered {self.reattach.run_id}")

    def maybe_kill_worker(self, tis: list[dict[str, str]]) -> None:
        """SIGKILL the Celery worker whose create task has POSTed, stored its request and waits on it."""
        assert self.reattach is not None
        ti = self.camp.ti(self.reattach, CREATE, tis)
        if ti.get("state") != "running" or not self.topo.emulator.posts(self.reattach.cluster_id):
            return
        # The request is stored (task_state_store) right after the POST; the XCom is pushed after that.
        xcom = self.topo.sql(
            f"SELECT count(*) AS n FROM xcom WHERE dag_id = '{REATTACH_DAG}' AND key = 'request_id' "
            f"AND run_id = '{self.reattach.run_id}'"
        )
        if xcom[0]["n"] == "0":
            return
        waiting = _gets_by_component(self.camp, _request_id(self.camp, self.reattach)).get(ti["hostname"])
        if not waiting:
            return
        assert ti["hostname"].startswith("worker-"), ti
        self.camp.worker_kill = self.topo.kill(
            ti["hostname"], note=f"running {REATTACH_DAG} try {ti['try_number']}"
        )
        start_worker(self.topo, "worker-2")

    def start_load(self) -> None:
        """100 runs at once: the REST calls go out in parallel (one by one they take ~40 s on a busy host)."""
        from concurrent.futures import ThreadPoolExecutor

        def one(i: int) -> Run:
            outcome = "Failure" if i % FAILURE_EVERY == FAILURE_EVERY - 1 else "Success"
            return self._trigger(
                LOAD_DAG, f"load{i:03d}", BASE_DURATION + (i * 37) % DURATION_SPREAD, outcome
            )

        started = time.time()
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(one, range(LOAD_RUNS)))
        self._trigger(DB_DAG, "dbconn", BASE_DURATION)
        self.topo.figures["load_trigger_seconds"] = round(time.time() - started, 1)
        self.topo.log_event(f"scenario 1: triggered {LOAD_RUNS} load runs (+1 with the DB-stored connection)")

    def maybe_kill_scheduler(self, tis: list[dict[str, str]]) -> None:
        if self.camp.scheduler_kill is not None:
            return
        done = _count(tis, LOAD_DAG, CREATE, ("success", "failed"))
        if done < LOAD_RUNS // 4:
            return
        queued_by: dict[str, int] = defaultdict(int)
        for t in tis:
            if t["queued_by_job_id"]:
                queued_by[self.camp.scheduler_jobs.get(t["queued_by_job_id"], "?")] += 1
        if not (queued_by.get("scheduler-0") and queued_by.get("scheduler-1")):
            return  # both must have been scheduling before one of them dies
        victim = max(("scheduler-0", "scheduler-1"), key=lambda n: queued_by[n])
        victim_jobs = set(self.camp.job_ids(self.camp.scheduler_jobs, victim))
        self.camp.orphaned_by_scheduler = [
            t
            for t in tis
            if t["queued_by_job_id"] in victim_jobs and t["state"] in ("queued", "running", "scheduled")
        ]
        self.camp.redis_mid_run = self.topo.redis.scan_all()
        self.camp.scheduler_kill = self.topo.kill(
            victim, note=f"{done} load creates done; it had queued {queued_by[victim]} task instances"
        )

    def maybe_kill_triggerer(self, tis: list[dict[str, str]]) -> None:
        """SIGKILL triggerer-0 (with the timeout sensors) once it holds about half of the waiting sensors."""
        camp = self.camp
        if camp.triggerer_kill is not None:
            return
        held = _deferred_by_triggerer(camp, tis)
        waiting = sum(len(v) for v in held.values())
        share = len(held.get("triggerer-0", [])) / max(waiting, 1)
        if waiting and (not camp.shares or waiting - camp.shares[-1][1] >= 10):
            camp.shares.append((round(time.time() - camp.started_at), waiting, round(share, 2)))
        deadline = min(camp.sensor_started[r.run_id] for r in camp.by_dag(TIMEOUT_DAG)) + SENSOR_TIMEOUT
        urgent = time.time() > deadline - DEADLINE_MARGIN
        settled = waiting >= KILL_AT_WAITING
        if not urgent and not (settled and 0.4 <= share <= 0.6):
            return
        if self._paused is not None:  # never kill a paused triggerer, nor leave the other one paused
            return
        camp.held_at_kill = {
            name: [_request_id(camp, camp.run_of(t)) for t in rows] for name, rows in held.items()
        }
        camp.listening = self.topo.listening()  # every process is up: what do they listen on?
        # The triggers' arguments are stored Fernet-encrypted (a dump search cannot see into them): keep them.
        camp.trigger_rows = self.topo.sql("SELECT id, classpath, kwargs FROM trigger")
        camp.victim_timeout_runs = [
            r for r in camp.by_dag(TIMEOUT_DAG) if camp.ti(r, SENSOR, tis).get("triggerer_id") in camp.job_ids(
                camp.triggerer_jobs, "triggerer-0"
            )
        ]  # fmt: skip
        camp.triggerer_kill = self.topo.kill(
            "triggerer-0", note=f"holding {len(held.get('triggerer-0', []))} of {waiting} waiting sensors ({share:.0%})"
            + (" (the deadline was near)" if urgent else "")
        )  # fmt: skip

    def takeover_complete(self) -> bool:
        camp = self.camp
        if camp.triggerer_kill is None:
            return False
        if not self.takeover_done_at:
            kill_at = camp.triggerer_kill.at
            pending = [
                rid for rid in camp.held_at_kill.get("triggerer-0", [])
                if not _gets_by_component(camp, rid, since=kill_at).get("triggerer-1")
            ]  # fmt: skip
            if not pending or time.time() - kill_at > 120:
                self.takeover_done_at = time.time()
                self.topo.log_event(
                    f"scenario 2: takeover over ({len(pending)} request(s) never polled again)"
                )
        return bool(self.takeover_done_at)

    def reattach_retry_waiting(self, tis: list[dict[str, str]]) -> bool:
        """The retry of scenario 3 runs on another worker and polls the request from there."""
        if not self.killed_worker_retry_seen and self.camp.worker_kill is not None:
            assert self.reattach is not None
            ti = self.camp.ti(self.reattach, CREATE, tis)
            killed = self.camp.worker_kill.component
            gets = _gets_by_component(
                self.camp, _request_id(self.camp, self.reattach), since=self.camp.worker_kill.at
            )
            if ti.get("try_number") == "2" and any(c.startswith("worker-") and c != killed for c in gets):
                self.killed_worker_retry_seen = True
                self.topo.log_event(f"scenario 3: try 2 waits on {ti['hostname']}")
        return self.killed_worker_retry_seen

    def reattach_gave_up(self, tis: list[dict[str, str]]) -> bool:
        """The retry of scenario 3 ended without waiting (a broken provider), or never came: stop waiting."""
        assert self.reattach is not None and self.camp.worker_kill is not None
        ti = self.camp.ti(self.reattach, CREATE, tis)
        ended = ti.get("try_number") == "2" and ti.get("state") in ("success", "failed")
        return ended or time.time() - self.camp.worker_kill.at > 240

    def ready_to_end_jobs(self, tis: list[dict[str, str]]) -> bool:
        """The failovers are over: every sensor deferred (or done) for a while, the retry of 3 waiting."""
        settled = _count(tis, LOAD_DAG, SENSOR, ("deferred", "success", "failed")) == LOAD_RUNS
        settled = settled and _count(tis, DB_DAG, SENSOR, ("running", "up_for_reschedule")) == 1
        if settled and not self.all_deferred_at:
            self.all_deferred_at = time.time()
        retry_waiting = self.reattach_retry_waiting(tis) or self.reattach_gave_up(tis)
        return bool(
            self.takeover_complete()
            and retry_waiting
            and self.all_deferred_at
            and time.time() - self.all_deferred_at > 5
        )

    def speed_up_clock(self) -> None:
        self.camp.clock_sped_up_at = time.time()
        self.topo.log_event(f"emulator clock sped up x{CLOCK_SPEED_UP + 1:.0f}: the jobs end now")

        def run() -> None:
            while not self._stop.wait(1.0):
                self.topo.emulator.advance(CLOCK_SPEED_UP)

        self._speed_thread = threading.Thread(target=run, name="emulator-clock", daemon=True)
        self._speed_thread.start()

    def balance_triggerers(self, tis: list[dict[str, str]]) -> None:
        """Pause (SIGSTOP, 2 s) the main process of the triggerer that is ahead, while the sensors defer.

        Airflow 3.3 gives each new trigger to whichever triggerer asks first; one triggerer often ends up with
        three quarters of them (37-82% for triggerer-0 in four unshaped runs). A paused triggerer asks for
        none, so the next ones go to the other. Its trigger runner (a child process) keeps polling, and 2 s
        is far below the health-check threshold, so no trigger moves: only new ones are steered.
        """
        if self.camp.triggerer_kill is not None or self._paused is not None:
            return
        held = _deferred_by_triggerer(self.camp, tis)
        counts = {name: len(held.get(name, [])) for name in ("triggerer-0", "triggerer-1")}
        leader = max(counts, key=lambda n: counts[n])
        if counts[leader] - min(counts.values()) <= 2 or not self.topo.alive("triggerer-1"):
            return
        pid = self.topo.airflow.pids[leader]
        os.kill(pid, signal.SIGSTOP)
        self._paused = pid
        self.camp.balancing_pauses[leader] = self.camp.balancing_pauses.get(leader, 0) + 1

        def resume() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
            self._paused = None

        timer = threading.Timer(2.0, resume)
        timer.daemon = True
        timer.start()

    def stop(self) -> None:
        self._stop.set()
        if self._speed_thread is not None:
            self._speed_thread.join(5)
        if self._paused is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._paused, signal.SIGCONT)


def _unfinished(camp: Campaign) -> list[str]:
    rows = camp.topo.sql("SELECT dag_id, run_id, state FROM dag_run")
    states = {(r["dag_id"], r["run_id"]): r["state"] for r in rows}
    return [
        f"{r.dag_id}/{r.run_id}"
        for r in camp.runs
        if states.get((r.dag_id, r.run_id)) not in ("success", "failed")
    ]


def _all_done(camp: Campaign) -> bool:
    return not _unfinished(camp)


@pytest.fixture(scope="module")
def campaign(topology: Topology) -> Iterator[Campaign]:
    topo = topology
    camp = Campaign(topo)
    stage = _Staging(camp)
    started = time.time()
    phase = "first"
    try:
        stage.start_first_waits()
        while True:
            tis = _tis(topo)
            if phase == "first":
                if stage.first_waits_running(tis):
                    stage.start_second_triggerer()
                    stage.start_reattach()
                    phase = "reattach"
            elif phase == "reattach":
                if camp.worker_kill is None:
                    stage.maybe_kill_worker(tis)
                    if camp.worker_kill is not None:
                        wait_worker_ready(topo, "worker-2")
                # The load starts once the retry waits on another worker: with 100 more runs to look at, the
                # scheduler would take minutes to get round to queueing it.
                elif stage.reattach_retry_waiting(tis) or stage.reattach_gave_up(tis):
                    wait_for(
                        topo,
                        "triggerer-1 to heartbeat",
                        lambda: topo.job_alive("TriggererJob", "triggerer-1"),
                        90,
                    )
                    stage.start_load()
                    phase = "load"
            elif phase == "load":
                stage.maybe_kill_scheduler(tis)
                stage.balance_triggerers(tis)
                stage.maybe_kill_triggerer(tis)
                if stage.ready_to_end_jobs(tis):
                    stage.speed_up_clock()
                    phase = "ending"
            elif _all_done(camp):
                break
            elif time.time() > max(camp.sensor_started.values()) + SENSOR_TIMEOUT + RESUME_SLACK + 60:
                # A trigger that ignores its deadline would keep scenario 5's sensors waiting for ever.
                camp.errors.append(
                    f"runs still unfinished long after the timeout sensors' deadline: {_unfinished(camp)}"
                )
                topo.log_event(camp.errors[-1])
                break
            camp.triggerer_jobs = {row["id"]: name for name, row in topo.jobs("TriggererJob").items()}
            camp.scheduler_jobs = {row["id"]: name for name, row in topo.jobs("SchedulerJob").items()}
            topo.assert_alive(
                n for n in topo.airflow.started if not any(k.component == n for k in topo.kills)
            )
            if time.time() - started > CAMPAIGN_TIMEOUT:
                camp.errors.append(f"campaign did not finish within {CAMPAIGN_TIMEOUT} s (phase {phase})")
                topo.log_event(camp.errors[-1])
                break
            time.sleep(1.0)
        camp.finished_at = time.time()
        camp.final_tis = _tis(topo)
        for run in camp.runs:
            _request_id(camp, run)
        topo.figures["campaign_seconds"] = round(camp.finished_at - started, 1)
        topo.figures["triggerer_0_share_before_kill"] = camp.shares
        topo.figures["balancing_pauses"] = camp.balancing_pauses
        topo.log_event(f"campaign over after {camp.finished_at - started:.0f} s")
    finally:
        stage.stop()
    yield camp


def _detail(camp: Campaign) -> str:
    return f"errors={camp.errors}\n{camp.topo.diagnostics()}"


def _final_run_states(camp: Campaign) -> dict[str, str]:
    return {r["run_id"]: r["state"] for r in camp.topo.sql("SELECT run_id, state FROM dag_run")}


# --- 1 -------------------------------------------------------------------------------------------------
def test_load_every_run_right_one_post_each_one_triggerer_at_a_time(campaign: Campaign) -> None:
    camp, topo = campaign, campaign.topo
    states = _final_run_states(camp)
    load = camp.by_dag(LOAD_DAG)
    assert len(load) == LOAD_RUNS
    wrong = [
        (r.run_id, r.cluster_id, states.get(r.run_id), r.expected)
        for r in load
        if states.get(r.run_id) != r.expected
    ]
    assert not wrong, f"{len(wrong)} load runs ended wrong: {wrong[:10]}\n{_detail(camp)}"
    for run in load:
        create, sensor = camp.ti(run, CREATE), camp.ti(run, SENSOR)
        assert create["state"] == "success" and create["try_number"] == "1", (run, create)
        assert sensor["state"] == run.expected and sensor["try_number"] == "1", (run, sensor)

    # Exactly one POST per create task, everywhere in the campaign (load, timeout, DB connection, reattach).
    posts = topo.emulator.posts()
    per_cluster: dict[str, int] = defaultdict(int)
    for post in posts:
        per_cluster[post["cluster_id"]] += 1
    doubled = {c: n for c, n in per_cluster.items() if n != 1}
    assert not doubled, f"clusters POSTed more than once: {doubled}"
    assert sorted(per_cluster) == sorted(r.cluster_id for r in camp.runs), "a create task never POSTed"
    assert all(p["status"] == 200 for p in posts), [p for p in posts if p["status"] != 200]
    # Posted by workers only: through their own port, or the DB connection's (its host is shared).
    assert {topo.frontends.component_of(p) for p in posts} <= {"worker-0", "worker-1", "worker-2", "db"}
    topo.figures["runs"] = {"load": LOAD_RUNS, "all": len(camp.runs)}
    topo.figures["posts"] = {
        "total": len(posts),
        "create_tasks": len(camp.runs),
        "max_per_create": max(per_cluster.values()),
    }

    # No process but workers and triggerers ever called the API (scheduler, api-server, dag-processor: never).
    components = {topo.frontends.component_of(r) for r in topo.emulator.requests}
    assert components <= {"worker-0", "worker-1", "worker-2", "triggerer-0", "triggerer-1", "db"}, components

    # Each request was polled by at most one triggerer at a time, except during a handover.
    both_polled: set[str] = set()
    overlaps: list[tuple[str, float]] = []
    switches: dict[str, list[str]] = {}
    for run in [r for r in camp.runs if r.dag_id in ATTRIBUTED_DAGS]:
        request_id = camp.request_ids[run.cluster_id]
        polls = sorted(
            (r["timestamp"], topo.frontends.component_of(r))
            for r in topo.emulator.gets(request_id=request_id)
            if topo.frontends.component_of(r).startswith("triggerer-")
        )
        if not polls:
            continue  # the job ended before the sensor deferred, or the first check saw its end
        order = [polls[0][1]]
        for _, who in polls[1:]:
            if who != order[-1]:
                order.append(who)
        both_polled.update(order)
        if len(order) > 1:
            switches[request_id] = order
            spans = {
                who: (min(t for t, w in polls if w == who), max(t for t, w in polls if w == who))
                for who in order
            }
            first, second = spans[order[0]], spans[order[1]]
            overlaps.append((request_id, max(0.0, first[1] - second[0])))
    assert both_polled == {"triggerer-0", "triggerer-1"}, f"not both triggerers polled: {both_polled}"
    assert all(len(order) <= 2 for order in switches.values()), {
        k: v for k, v in switches.items() if len(v) > 2
    }
    too_long = [(rid, round(o, 1)) for rid, o in overlaps if o > HANDOVER_SLACK]
    assert not too_long, f"two triggerers polled one request at once for longer than a handover: {too_long}"
    topo.figures["handovers"] = {
        "requests_moved": len(switches),
        "max_overlap_seconds": round(max((o for _, o in overlaps), default=0.0), 1),
    }


# --- 2 -------------------------------------------------------------------------------------------------
def test_triggerer_sigkill_the_other_takes_over(campaign: Campaign) -> None:
    camp, topo = campaign, campaign.topo
    kill = camp.triggerer_kill
    assert kill is not None, f"the triggerer was never killed\n{_detail(camp)}"
    victim, survivor = camp.victim, camp.survivor
    orphaned = camp.held_at_kill.get(victim, [])
    waiting = sum(len(v) for v in camp.held_at_kill.values())
    share = len(orphaned) / max(waiting, 1)
    topo.figures["triggerer_failover"] = {"victim": victim, "held": len(orphaned), "waiting": waiting}
    assert orphaned, "the killed triggerer held no sensor"
    assert SHARE_RANGE[0] <= share <= SHARE_RANGE[1], (
        f"{victim} held {len(orphaned)} of {waiting} waiting sensors ({share:.0%})"
    )

    takeovers: list[float] = []
    for request_id in orphaned:
        after = _gets_by_component(camp, request_id, since=kill.at)
        assert not after.get(victim), f"{victim} polled {request_id} after its SIGKILL"
        assert after.get(survivor), f"{survivor} never took over {request_id}"
        takeovers.append(min(after[survivor]) - kill.at)
    longest = max(takeovers)
    topo.figures["triggerer_failover"].update(
        {
            "longest_takeover_seconds": round(longest, 1),
            "median_takeover_seconds": round(sorted(takeovers)[len(takeovers) // 2], 1),
        }
    )
    # Reassignment needs the victim's heartbeat to be older than the threshold; then one triggerer loop and
    # the trigger's jittered first poll (up to one poke interval).
    assert longest < TRIGGERER_HEALTH_CHECK_THRESHOLD + 30, takeovers

    # Every orphaned sensor still ended right, in its first try, through the survivor.
    states = _final_run_states(camp)
    by_request = {camp.request_ids.get(r.cluster_id): r for r in camp.runs}
    for request_id in orphaned:
        run = by_request[request_id]
        sensor = camp.ti(run, SENSOR)
        assert states.get(run.run_id) == run.expected, (run, states.get(run.run_id))
        assert sensor["try_number"] == "1", sensor
        # The survivor ran the trigger to its end: it had the last word on the request, and fired the event.
        last = max(topo.emulator.gets(request_id=request_id), key=lambda r: r["timestamp"])
        assert topo.frontends.component_of(last) == survivor, (run, last)
        assert _fired_at(camp, run, survivor) is not None, f"{survivor} never fired the event of {run}"


def _trigger_logs(topo: Topology, run: Run, job_ids: list[str]) -> str:
    folder = (
        topo.airflow.home / "logs" / f"dag_id={run.dag_id}" / f"run_id={run.run_id}" / f"task_id={SENSOR}"
    )
    files = [p for j in job_ids for p in folder.glob(f"attempt=1.log.trigger.{j}.log")]
    return "".join(p.read_text(errors="replace") for p in files)


def _fired_at(camp: Campaign, run: Run, triggerer: str) -> float | None:
    """When ``triggerer`` fired the trigger event of ``run``'s sensor (try 1), from Airflow's log lines.

    The line is in the trigger's own log file next to the task's log, or, when Airflow had already closed
    that file, in the triggerer's service log (which names the trigger ``dag/run/task/map_index/try``).
    """
    own = _trigger_logs(camp.topo, run, camp.triggerer_job_of(triggerer))
    fired = first_log_timestamp(own, "Trigger fired event")
    if fired is None:
        name = f"name='{run.dag_id}/{run.run_id}/{SENSOR}/-1/1 "
        service_log = camp.topo.service(triggerer).log()
        fired = first_log_timestamp(
            "\n".join(line for line in service_log.splitlines() if name in line), "Trigger fired event"
        )
    return fired


# --- 3 -------------------------------------------------------------------------------------------------
def test_worker_sigkill_retry_reattaches_on_another_worker(campaign: Campaign) -> None:
    camp, topo = campaign, campaign.topo
    kill = camp.worker_kill
    assert kill is not None, f"no worker was killed\n{_detail(camp)}"
    run = camp.by_dag(REATTACH_DAG)[0]
    ti = camp.ti(run, CREATE)
    posts = topo.emulator.posts(run.cluster_id)
    jobs = topo.emulator.jobs(run.cluster_id)
    history = topo.sql(
        "SELECT try_number, state, hostname FROM task_instance_history "
        f"WHERE dag_id = '{REATTACH_DAG}' AND run_id = '{run.run_id}' ORDER BY try_number"
    )
    detail = f"ti={ti}\nhistory={history}\nposts={posts}\njobs={jobs}\n{_detail(camp)}"
    # The essential property first: the job was started once.
    assert len(posts) == 1 and len(jobs) == 1, detail
    assert _final_run_states(camp)[run.run_id] == "success", detail
    # Try 1 ran on the killed worker; try 2 (the retry) on another one, and it waited on the same request.
    assert ti["try_number"] == "2" and ti["state"] == "success", detail
    assert [h["hostname"] for h in history if h["try_number"] == "1"] == [kill.component], detail
    assert ti["hostname"] != kill.component and ti["hostname"].startswith("worker-"), detail
    request_id = jobs[0]["requestId"]
    after = _gets_by_component(camp, request_id, since=kill.at)
    assert not after.get(kill.component), detail
    assert after.get(ti["hostname"]), f"the retry never polled {request_id}\n{detail}"
    second = topo.task_log(run.dag_id, run.run_id, CREATE, 2)
    assert request_id in second, second[-3000:]
    xcom = topo.sql(
        f"SELECT value FROM xcom WHERE dag_id = '{REATTACH_DAG}' AND run_id = '{run.run_id}' AND key = 'request_id'"
    )
    assert xcom and request_id in xcom[0]["value"], xcom
    topo.figures["worker_crash"] = {
        "killed": kill.component,
        "retry_on": ti["hostname"],
        "posts": len(posts),
        "retry_started_after_kill_seconds": round(float(ti["start_ts"]) - kill.at, 1),
    }


# --- 4 -------------------------------------------------------------------------------------------------
def test_scheduler_sigkill_runs_complete(campaign: Campaign) -> None:
    camp, topo = campaign, campaign.topo
    kill = camp.scheduler_kill
    assert kill is not None, f"no scheduler was killed\n{_detail(camp)}"
    survivor = next(n for n in ("scheduler-0", "scheduler-1") if n != kill.component)
    states = _final_run_states(camp)
    unfinished = [
        (r.dag_id, r.run_id, states.get(r.run_id))
        for r in camp.runs
        if states.get(r.run_id) not in ("success", "failed")
    ]
    assert not unfinished, f"runs never completed: {unfinished[:10]}\n{_detail(camp)}"
    # The survivor did the scheduling after the kill: every task queued later was queued by it.
    victim_jobs = {j for j, n in camp.scheduler_jobs.items() if n == kill.component}
    late = [t for t in camp.final_tis if parse_ts(t["queued_ts"]) and float(t["queued_ts"]) > kill.at + 1]
    assert late, "nothing was queued after the scheduler died"
    assert not [t for t in late if t["queued_by_job_id"] in victim_jobs], "the dead scheduler queued tasks"
    # The dead scheduler's job row stopped heartbeating.
    victim_row = topo.jobs("SchedulerJob")[kill.component]
    assert float(victim_row["heartbeat_ts"]) <= kill.at + 1, victim_row
    # What it had queued or was running when it died still finished.
    for row in camp.orphaned_by_scheduler:
        final = next(
            t for t in camp.final_tis if t["run_id"] == row["run_id"] and t["task_id"] == row["task_id"]
        )
        assert final["state"] in ("success", "failed"), (row, final)
    # A task it queued but never published to Celery is requeued by the survivor after task_queued_timeout.
    requeued = topo.sql("SELECT count(*) AS n FROM log WHERE event = 'stuck in queued reschedule'")[0]["n"]
    topo.figures["scheduler_failover"] = {
        "killed": kill.component,
        "survivor": survivor,
        "tasks_in_flight_of_the_dead_scheduler": len(camp.orphaned_by_scheduler),
        "tasks_queued_after_kill": len(late),
        "tasks_requeued_after_task_queued_timeout": int(requeued),
    }


# --- 5 -------------------------------------------------------------------------------------------------
def test_sensor_deadline_holds_across_triggerer_failover(campaign: Campaign) -> None:
    camp, topo = campaign, campaign.topo
    kill = camp.triggerer_kill
    assert kill is not None and camp.victim_timeout_runs, (
        f"no timeout sensor died with its triggerer\n{_detail(camp)}"
    )
    takeovers = [
        min(_gets_by_component(camp, rid, since=kill.at).get(camp.survivor, [float("inf")])) - kill.at
        for rid in camp.held_at_kill.get(camp.victim, [])
    ]
    longest_takeover = max(takeovers)
    figures = []
    for run in camp.victim_timeout_runs:
        sensor = camp.ti(run, SENSOR)
        started = camp.sensor_started[run.run_id]
        deadline = started + SENSOR_TIMEOUT
        detail = f"{run} sensor={sensor}\n{_detail(camp)}"
        assert kill.at < deadline - 10, (
            f"precondition: the triggerer died {deadline - kill.at:.0f} s before the deadline"
        )
        assert sensor["state"] == "failed" and sensor["try_number"] == "1", detail
        log = topo.task_log(run.dag_id, run.run_id, SENSOR, 1)
        assert "AirflowSensorTimeout" in log, log[-3000:]
        assert _trigger_logs(topo, run, camp.triggerer_job_of(camp.survivor)), f"the survivor never ran {run}"
        fired = _fired_at(camp, run, camp.survivor)
        assert fired is not None, f"{camp.survivor} never fired the event of {run}"
        # The survivor fired the timeout at the original deadline: not earlier, and not a whole timeout after
        # adopting the trigger (the deadline is absolute). The sensor's start is a lower bound of the
        # trigger's own start, so the deadline may be a few seconds later than computed here.
        assert fired >= deadline - 1, f"fired {deadline - fired:.1f} s before the deadline"
        assert fired <= deadline + longest_takeover + 10, (
            f"fired {fired - deadline:.1f} s after the deadline (longest takeover {longest_takeover:.1f} s)"
        )
        ended = float(sensor["end_ts"])
        assert ended <= deadline + longest_takeover + RESUME_SLACK, (
            f"failed {ended - deadline:.0f} s after the deadline"
        )
        # The job itself still runs: the API has no cancel call; and it was started once.
        assert len(topo.emulator.posts(run.cluster_id)) == 1
        figures.append(
            {
                "fired_after_deadline_seconds": round(fired - deadline, 1),
                "task_failed_after_deadline_seconds": round(ended - deadline, 1),
            }
        )
    topo.figures["deadline_across_failover"] = figures


# --- 6 -------------------------------------------------------------------------------------------------
def test_no_secret_in_logs_redis_or_database_dump(campaign: Campaign) -> None:
    camp, topo = campaign, campaign.topo
    secrets = topo.canaries
    # The secrets were really used, both from the environment and from the DB-stored connection.
    accepted = [r for r in topo.emulator.requests if r["status"] == 200]
    assert accepted and any(topo.frontends.component_of(r) == "db" for r in accepted)
    db_run = camp.by_dag(DB_DAG)[0]
    assert _final_run_states(camp)[db_run.run_id] == "success"

    # Nothing listened beyond loopback (log servers off, PostgreSQL, Redis and the emulator on 127.0.0.1).
    assert any(who == "postgres" for who, _, _ in camp.listening), camp.listening
    exposed = [entry for entry in camp.listening if entry[1] != "127.0.0.1"]
    assert not exposed, f"listening beyond 127.0.0.1: {exposed}"

    # Every log file: Airflow's services, tasks and triggers, PostgreSQL's, Redis'.
    files = topo.log_files()
    assert len([f for f in files if "attempt=" in f.name]) >= 2 * LOAD_RUNS, (
        "too few task logs: wrong folder?"
    )
    leaks = {str(f): found for f in files if (found := find_secret(f.read_bytes(), secrets))}
    assert not leaks, f"secrets in log files: {leaks}"

    # Redis: every key and value, mid-run and now, and every command it received (MONITOR).
    assert camp.redis_mid_run, "the mid-run Redis scan found no key"
    for label, snapshot in (("mid-run", camp.redis_mid_run), ("end", topo.redis.scan_all())):
        for key, value in snapshot.items():
            assert not find_secret(key + b"\n" + value, secrets), f"{label}: secret in Redis key {key!r}"
    monitored = topo.redis.monitor_path.read_bytes()
    assert monitored.count(b'"LPUSH"') + monitored.count(b'"lpush"') >= LOAD_RUNS, (
        "MONITOR saw too few messages"
    )
    assert not find_secret(monitored, secrets), "a secret went through Redis"

    # PostgreSQL: in the dump, only the Fernet-encrypted connection row holds them (encrypted, so no match).
    dump = topo.postgres.dump()
    assert b"distributed_load" in dump and len(dump) > 100_000
    assert not find_secret(dump, secrets), "a secret is in the PostgreSQL dump in clear"
    from cryptography.fernet import Fernet

    rows = topo.sql(
        "SELECT conn_id, password, extra, is_encrypted, is_extra_encrypted FROM connection WHERE conn_id = 'hadoop_eco_db'"
    )
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["is_encrypted"] == "t" and row["is_extra_encrypted"] == "t", row
    fernet = Fernet(topo.fernet_key.encode())
    assert row["password"].encode() in dump and row["extra"].encode() in dump
    assert fernet.decrypt(row["password"].encode()).decode() == secrets[0]
    assert secrets[1] in fernet.decrypt(row["extra"].encode()).decode()
    # The trigger table's arguments (encrypted, mid-run snapshot): the deferred sensors' waits, without secrets.
    ours = [r for r in camp.trigger_rows if r["classpath"].endswith("HadoopEcoRequestTrigger")]
    waiting = sum(len(v) for v in camp.held_at_kill.values())
    assert len(ours) >= waiting > 0, f"{len(ours)} triggers in the snapshot, {waiting} deferred sensors"
    for row in ours:
        kwargs = row["kwargs"].encode()
        clear = kwargs if kwargs.startswith(b"{") else fernet.decrypt(kwargs)
        assert b"req-" in clear and b"hadoop_eco_default" in clear, clear[:300]
        assert not find_secret(clear, secrets), f"secret in the arguments of trigger {row['id']}"
    topo.figures["secret_checks"] = {
        "log_files": len(files),
        "redis_keys_mid_run": len(camp.redis_mid_run),
        "redis_commands_monitored": monitored.count(b"\n"),
        "dump_bytes": len(dump),
        "trigger_rows_decrypted": len(ours),
        "listening_sockets": len(camp.listening),
    }
