"""End-to-end helpers: real ``airflow dags test`` runs (Airflow 3.3 and 2.11) against the local emulator.

* one migrated AIRFLOW_HOME per Airflow version per session, copied for each test (``db migrate`` once);
* one emulator per test (in-process :class:`Emulator`, real HTTP on 127.0.0.1), stopped after the test;
* Airflow runs as a subprocess in its own process group, killed as a group when done or on timeout.

The connections carry distinctive canary values as password and API key; :func:`assert_no_canary` checks that
none of them shows up in any file under AIRFLOW_HOME or in Airflow's output.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_harness import AirflowEnv

from airflow_provider_hadoop_eco.emulator import Emulator

# Distinctive canaries for this suite (the values the emulator expects, so successful runs really send them).
E2E_CREDENTIAL_ID = "e2e-access-key-id"
E2E_SECRET = "E2E-CANARY-SECRET-5b9d0c3f7a"
E2E_API_KEY = "E2E-CANARY-APIKEY-8e21f6a4c9"
E2E_SPARK_SECRET = "E2E-CANARY-SPARK-SECRET-2c7e9b1d40"
E2E_SPARK_API_KEY = "E2E-CANARY-SPARK-APIKEY-f0a3d58e17"
CANARIES = (E2E_SECRET, E2E_API_KEY, E2E_SPARK_SECRET, E2E_SPARK_API_KEY)

HIVE_DAG = "example_hadoop_eco_hive"
SPARK_DAG = "example_hadoop_eco_spark"
HIVE_CLUSTER_ID = "58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf"
HIVE_CLUSTER_NAME = "e2e-hive-cluster"
SPARK_CLUSTER_ID = "0f6c4a38-2a53-4b0e-9d51-7c1d2e8b9a10"
SPARK_CLUSTER_NAME = "e2e-spark-cluster"
SPARK_CONN_ID = "hadoop_eco_spark"

# Jobs last 15 emulated seconds on a manual clock that :class:`JobDriver` moves from what Airflow does: the
# sensor always sees a running job and defers, and no test waits longer than a few poll intervals.
JOB_SECONDS = 15.0
DAGS_TEST_TIMEOUT = 150.0


def airflow_env_overrides(major: int) -> dict[str, str]:
    """Settings the harness does not give (none at present; it picks the executor per version)."""
    return {}


@dataclass
class DagTest:
    """One finished ``airflow dags test`` run."""

    env: AirflowEnv
    dag_id: str
    returncode: int
    output: str
    seconds: float

    def task_logs(self) -> str:
        """Every file under ``AIRFLOW_HOME/logs`` (task and trigger logs), concatenated."""
        parts = []
        for path in sorted((self.env.home / "logs").rglob("*")):
            if path.is_file():
                parts.append(f"=== {path}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def all_text(self) -> str:
        return self.output + "\n" + self.task_logs()

    def describe(self, limit: int = 8000) -> str:
        return (
            f"airflow dags test {self.dag_id} exited {self.returncode} after {self.seconds:.1f} s:\n"
            + (self.all_text()[-limit:])
        )


@dataclass
class E2E:
    """A per-test workspace: a copy of the migrated AIRFLOW_HOME for one Airflow version, plus emulators."""

    python: str
    home: Path
    major: int
    emulators: list[Emulator] = field(default_factory=list)
    runs: list[DagTest] = field(default_factory=list)

    drivers: list[JobDriver] = field(default_factory=list)

    def emulator(self, *clusters: dict[str, Any], **kwargs: Any) -> Emulator:
        """Start an emulator with these clusters on a manual clock driven by a :class:`JobDriver`."""
        emu = Emulator(host="127.0.0.1", port=0, manual_clock=True, clusters=list(clusters), **kwargs)
        self.emulators.append(emu)
        emu.start()
        self.drivers.append(JobDriver(emu).start())
        return emu

    def dags_test(
        self, dag_id: str, extra_env: dict[str, str], timeout: float = DAGS_TEST_TIMEOUT
    ) -> DagTest:
        env = AirflowEnv(
            python=self.python,
            home=self.home,
            extra_env={
                **airflow_env_overrides(self.major),
                "HADOOP_ECO_EXAMPLE_POLL_INTERVAL": "1",
                "HADOOP_ECO_HIVE_CLUSTER_ID": HIVE_CLUSTER_ID,
                "HADOOP_ECO_SPARK_CLUSTER_ID": SPARK_CLUSTER_ID,
                "HADOOP_ECO_SPARK_CONN_ID": SPARK_CONN_ID,
                **extra_env,
            },
        )
        started = time.monotonic()
        returncode, output = run_in_group(env, ["dags", "test", dag_id], timeout)
        run = DagTest(env, dag_id, returncode, output, time.monotonic() - started)
        self.runs.append(run)
        print(f"airflow{self.major} dags test {dag_id}: exit {returncode} in {run.seconds:.1f} s")
        return run

    def close(self) -> None:
        for driver in self.drivers:
            driver.stop()
        for emu in self.emulators:
            emu.stop()


class JobDriver:
    """Moves an emulator's manual clock along with the DAG run, so every run takes the same path.

    A job stays ``Pending`` until its status has been read twice: once by the sensor in the worker (which
    therefore always defers) and once by the trigger. Then it is ``Running`` (half its duration); after one
    more read it reaches its end (``Terminate`` with its outcome). Each step costs one poll interval.
    """

    def __init__(self, emu: Emulator, interval: float = 0.05) -> None:
        self.emu = emu
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-job-driver", daemon=True)
        self.steps: list[str] = []

    def start(self) -> JobDriver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        advanced: dict[str, int] = {}
        while not self._stop.wait(self.interval):
            for job in self.emu.jobs():
                request_id = job["requestId"]
                done = advanced.get(request_id, 0)
                reads = len(self.emu.gets(request_id=request_id))
                if done < 2 and reads >= done + 2:
                    # both halves of the duration, measured from the job's own start
                    target = job["started_at"] + job["duration"] * (done + 1) / 2
                    self.emu.advance(max(target - self.emu.now, 0.0) + (0.001 if done else 0.0))
                    advanced[request_id] = done + 1
                    self.steps.append(f"{request_id}: step {done + 1} after {reads} reads")


def run_in_group(env: AirflowEnv, args: list[str], timeout: float) -> tuple[int, str]:
    """``airflow <args>`` in its own process group (killed whole, on timeout too); (exit code, output)."""
    proc = env.run(*args, timeout=timeout, check=False)
    return proc.returncode, proc.stdout


# --- clusters and connections ----------------------------------------------------------------------------


def hive_cluster(**overrides: Any) -> dict[str, Any]:
    return {
        "cluster_id": HIVE_CLUSTER_ID,
        "name": HIVE_CLUSTER_NAME,
        "job_type": "hive",
        "credential_id": E2E_CREDENTIAL_ID,
        "credential_secret": E2E_SECRET,
        "api_key": E2E_API_KEY,
        "duration": JOB_SECONDS,
        "outcomes": ["Success"],
        **overrides,
    }


def spark_cluster(**overrides: Any) -> dict[str, Any]:
    return {
        "cluster_id": SPARK_CLUSTER_ID,
        "name": SPARK_CLUSTER_NAME,
        "job_type": "spark",
        "credential_id": E2E_CREDENTIAL_ID,
        "credential_secret": E2E_SPARK_SECRET,
        "api_key": E2E_SPARK_API_KEY,
        "duration": JOB_SECONDS,
        "outcomes": ["Success"],
        **overrides,
    }


def connection(url: str, secret: str, api_key: str, region: str | None = None) -> str:
    extra = {"api_key": api_key} if region is None else {"api_key": api_key, "region": region}
    return json.dumps(
        {
            "conn_type": "hadoop_eco",
            "host": url,
            "login": E2E_CREDENTIAL_ID,
            "password": secret,
            "extra": extra,
        }
    )


def hive_env(
    emu: Emulator, secret: str = E2E_SECRET, api_key: str = E2E_API_KEY, region: str | None = None
) -> dict[str, str]:
    return {"AIRFLOW_CONN_HADOOP_ECO_DEFAULT": connection(emu.url, secret, api_key, region)}


def spark_env(emu: Emulator) -> dict[str, str]:
    return {"AIRFLOW_CONN_HADOOP_ECO_SPARK": connection(emu.url, E2E_SPARK_SECRET, E2E_SPARK_API_KEY)}


# --- assertions ------------------------------------------------------------------------------------------

# The trigger's final event message exists only when the sensor deferred and the trigger fired.
TRIGGER_SUCCESS = "succeeded after"
STATUS_LINE = "Hadoop Eco cluster {name} ({cluster_id}), request {request_id}: {label}"


def assert_deferred_and_triggered(run: DagTest, name: str, cluster_id: str, request_id: str) -> None:
    """The sensor deferred (it saw a running job first) and the trigger reported Terminate/Success."""
    text = run.all_text()
    first_check = STATUS_LINE.format(name=name, cluster_id=cluster_id, request_id=request_id, label="")
    terminal = first_check + "Terminate/Success"
    assert first_check + "Pending" in text or first_check + "Running" in text, run.describe()
    # Airflow (3.3 and 2.11) ran the deferred sensor's trigger in line
    assert "[DAG TEST] running trigger in line" in text, run.describe()
    assert terminal in text, run.describe()
    assert f"Hadoop Eco request {request_id} on cluster {name} {TRIGGER_SUCCESS}" in text, run.describe()


def assert_no_canary(e2e: E2E, *extra_texts: str) -> None:
    """No canary secret in any file under AIRFLOW_HOME, in any captured output, or in ``extra_texts``."""
    env = AirflowEnv(python=e2e.python, home=e2e.home)
    for canary in CANARIES:
        leaked = env.files_containing(canary)
        assert not leaked, f"canary {canary[:16]}... found in files: {leaked}"
        for run in e2e.runs:
            assert canary not in run.output, (
                f"canary {canary[:16]}... in the output of dags test {run.dag_id}"
            )
        for text in extra_texts:
            assert canary not in text, f"canary {canary[:16]}... leaked"
