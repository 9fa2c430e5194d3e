"""Review defect 2, end to end: settings returned by upstream TaskFlow tasks reach the create call.

``airflow dags test`` of tests/e2e/dags/e2e_hadoop_eco_taskflow_values.py on Airflow 3.3 and 2.11 against the
emulator: the DAG must import (today an XComArg setting is rejected at parse time), the run must succeed, and
the emulator's POST body must carry the values the upstream tasks returned.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import (
    HIVE_CLUSTER_ID,
    HIVE_CLUSTER_NAME,
    assert_deferred_and_triggered,
    assert_no_canary,
    hive_cluster,
    hive_env,
)

DAGS = Path(__file__).resolve().parent / "dags"
DAG_ID = "e2e_hadoop_eco_taskflow_values"
AIRFLOW_VERSIONS = [pytest.param(3, id="airflow3"), pytest.param(2, id="airflow2")]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("major", AIRFLOW_VERSIONS)
def test_taskflow_values_reach_the_create_call(e2e_factory, major: int) -> None:
    e2e = e2e_factory(major)
    emu = e2e.emulator(hive_cluster())

    run = e2e.dags_test(DAG_ID, {**hive_env(emu), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)})

    assert run.returncode == 0, run.describe()
    posts = emu.posts()
    assert len(posts) == 1, [(p["path"], p["status"]) for p in posts]
    assert posts[0]["status"] == 200, posts
    assert posts[0]["body"] == {"workerCnt": 3, "userTaskExecOpts": "--hiveconf hive.tez.container.size=4096"}
    [job] = emu.jobs(HIVE_CLUSTER_ID)
    assert job["requestResult"] == "Success", job
    assert_deferred_and_triggered(run, HIVE_CLUSTER_NAME, HIVE_CLUSTER_ID, job["requestId"])
    assert_no_canary(e2e)
