"""``airflow dags test`` of both example DAGs on real Airflow (3.3 and 2.11) against the emulator over HTTP.

Each test copies a migrated AIRFLOW_HOME, starts its own emulator and runs Airflow as a subprocess.
Every run also checks that the canary secrets reach no file under AIRFLOW_HOME and no output.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from e2e_support import (
    E2E,
    E2E_API_KEY,
    E2E_SECRET,
    HIVE_CLUSTER_ID,
    HIVE_CLUSTER_NAME,
    HIVE_DAG,
    SPARK_CLUSTER_ID,
    SPARK_CLUSTER_NAME,
    SPARK_DAG,
    assert_deferred_and_triggered,
    assert_no_canary,
    hive_cluster,
    hive_env,
    spark_cluster,
    spark_env,
)

# What the example DAGs send (see example_dags/): exactly these keys, nothing else.
HIVE_BODY = {
    "workerCnt": 2,
    "configHdfsReplication": 2,
    "userTaskExecOpts": "--hiveconf hive.tez.container.size=2048",
}
SPARK_BODY_WITHOUT_PARAMS = {
    "workerCnt": 4,
    "workerVolumeSize": 100,
    "userTaskDeployMode": "cluster",
    "userTaskExecOpts": "--driver-cores 1 --driver-memory 1024m --executor-cores 1 --num-executors 4 "
    "--executor-memory 2048m",
}

AIRFLOW_VERSIONS = [pytest.param(3, id="airflow3"), pytest.param(2, id="airflow2")]


def only_post(emu: Any, cluster_id: str) -> dict[str, Any]:
    posts = emu.posts()
    assert len(posts) == 1, f"expected exactly one POST, got {[(p['path'], p['status']) for p in posts]}"
    post = posts[0]
    assert post["path"] == f"/hadoop-eco/v1/cluster/{cluster_id}"
    assert post["status"] == 200
    assert post["headers"]["Content-Type"].startswith("application/json")
    # The record redacts secret headers; they were present (or the emulator would have answered 401).
    assert post["headers"]["Credential-ID"] == "e2e-access-key-id"
    return post


def only_job(emu: Any, cluster_id: str, result: str) -> dict[str, Any]:
    jobs = emu.jobs(cluster_id)
    assert len(jobs) == 1, jobs
    assert jobs[0]["requestStatus"] == "Terminate"
    assert jobs[0]["requestResult"] == result
    return jobs[0]


@pytest.mark.parametrize("major", AIRFLOW_VERSIONS)
def test_hive_dag_succeeds(e2e_factory, major: int) -> None:
    e2e = e2e_factory(major)
    emu = e2e.emulator(hive_cluster())

    run = e2e.dags_test(HIVE_DAG, hive_env(emu))

    assert run.returncode == 0, run.describe()
    post = only_post(emu, HIVE_CLUSTER_ID)
    assert post["body"] == HIVE_BODY
    job = only_job(emu, HIVE_CLUSTER_ID, "Success")
    request_id = job["requestId"]
    assert emu.gets(request_id=request_id), "the sensor never polled"
    assert_deferred_and_triggered(run, HIVE_CLUSTER_NAME, HIVE_CLUSTER_ID, request_id)
    # The sensor ended with one verbose call (clusterMeta for the final answer).
    assert any(g["query"].get("verbose") == "true" for g in emu.gets(request_id=request_id))
    assert_no_canary(e2e)


@pytest.mark.parametrize("major", AIRFLOW_VERSIONS)
def test_spark_dag_succeeds(e2e_factory, major: int) -> None:
    e2e = e2e_factory(major)
    # The hive cluster is there too: the spark DAG must not touch it (own connection, own cluster).
    emu = e2e.emulator(spark_cluster(), hive_cluster())

    run = e2e.dags_test(SPARK_DAG, spark_env(emu))

    assert run.returncode == 0, run.describe()
    post = only_post(emu, SPARK_CLUSTER_ID)
    body = dict(post["body"])
    params = body.pop("userTaskExecParams")
    assert body == SPARK_BODY_WITHOUT_PARAMS
    # "-sparkApplicationParams={{ ds }}" rendered to a date
    assert params.startswith("-sparkApplicationParams=20") and "{{" not in params, params
    assert all(r["cluster_id"] == SPARK_CLUSTER_ID for r in emu.requests), "spark DAG called another cluster"
    job = only_job(emu, SPARK_CLUSTER_ID, "Success")
    assert job["settings"]["workerCnt"] == 4
    assert_deferred_and_triggered(run, SPARK_CLUSTER_NAME, SPARK_CLUSTER_ID, job["requestId"])
    assert_no_canary(e2e)


@pytest.mark.parametrize("major", AIRFLOW_VERSIONS)
def test_failed_job_fails_the_run_with_a_clear_reason(e2e_factory, major: int) -> None:
    """The job ends in Failure; on the way, the first two status calls answer HTTP 500 (an HTML page)."""
    e2e = e2e_factory(major)
    emu = e2e.emulator(hive_cluster(outcomes=["Failure"]))
    emu.inject_fault("status", code=500, html=True, method="GET", count=2)

    run = e2e.dags_test(HIVE_DAG, hive_env(emu))

    assert run.returncode != 0, run.describe()
    only_post(emu, HIVE_CLUSTER_ID)
    job = only_job(emu, HIVE_CLUSTER_ID, "Failure")
    text = run.all_text()
    # the 500s were retried by the hook, not fatal
    assert [g["status"] for g in emu.gets()][:3] == [500, 500, 200], emu.gets()
    assert "HTTP 500" in text and "retrying in" in text, run.describe()
    # the run failed for the job's Failure, with the provider's message
    reason = (
        f"HadoopEcoJobFailedError: Hadoop Eco job failed: cluster '{HIVE_CLUSTER_NAME}' ({HIVE_CLUSTER_ID})"
    )
    reason += f", request {job['requestId']}"
    assert reason in text, run.describe()
    assert "job type='hive'" in text, run.describe()
    assert_no_canary(e2e)


@pytest.mark.parametrize("major", AIRFLOW_VERSIONS)
def test_wrong_api_key_fails_cleanly_without_leaking_secrets(e2e_factory, major: int) -> None:
    """The cluster expects another Open API key: the create call gets 403, the run fails, nothing leaks."""
    e2e = e2e_factory(major)
    emu = e2e.emulator(hive_cluster(api_key="the-cluster-has-another-key"))

    run = e2e.dags_test(HIVE_DAG, hive_env(emu))

    assert run.returncode != 0, run.describe()
    assert [p["status"] for p in emu.posts()] == [403], emu.posts()  # an auth error is never retried
    assert not emu.jobs(), "no job may start with a wrong key"
    assert not emu.gets(), "nothing to wait for"
    text = run.all_text()
    assert "HadoopEcoAuthError: " in text and "HTTP 403" in text, run.describe()
    assert "api_key" in text, run.describe()  # the message names the setting to fix
    assert_no_canary(e2e)


def test_canary_check_catches_a_leak(tmp_path) -> None:
    """The leak check itself works: a canary in any file under AIRFLOW_HOME, or in an output, is caught."""
    e2e = E2E(python=sys.executable, home=tmp_path / "home", major=3)
    (e2e.home / "logs" / "dag_id=x").mkdir(parents=True)
    assert_no_canary(e2e, "clean output")
    with pytest.raises(AssertionError, match="leaked"):
        assert_no_canary(e2e, f"password={E2E_SECRET}")
    (e2e.home / "logs" / "dag_id=x" / "attempt=1.log").write_text(f"headers: {{'api_key': '{E2E_API_KEY}'}}")
    with pytest.raises(AssertionError, match="found in files"):
        assert_no_canary(e2e)
