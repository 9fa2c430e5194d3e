"""Review defect 8: soft_fail / never_fail give the same outcome whichever path saw it.

| outcome                                  | default                      | soft_fail=True | never_fail=True      |
| job Failure                              | fails (HadoopEcoJobFailedError) | skipped     | skipped              |
| timeout                                  | AirflowSensorTimeout         | skipped        | AirflowSensorTimeout |
| other error (401, 404, budget exhausted) | fails                        | fails          | skipped              |

Paths: poke mode, reschedule mode, the deferrable first check, and after the trigger (``resume_execution``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException, TaskDeferred
from fake_context import make_try_context
from review_support import airflow_version
from tests_support import status_body as status

from airflow_provider_hadoop_eco.exceptions import HadoopEcoError, HadoopEcoJobFailedError
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

pytestmark = pytest.mark.timeout(30)

CLUSTER = "c-1"
FLAGS = {"default": {}, "soft_fail": {"soft_fail": True}, "never_fail": {"never_fail": True}}

#: (outcome, flag) -> what must come out: "job_failed", "timeout", "skip" or "error" (fails, not a skip).
TABLE = {
    ("failure", "default"): "job_failed",
    ("failure", "soft_fail"): "skip",
    ("failure", "never_fail"): "skip",
    ("timeout", "default"): "timeout",
    ("timeout", "soft_fail"): "skip",
    ("timeout", "never_fail"): "timeout",
    ("error", "default"): "error",
    ("error", "soft_fail"): "error",
    ("error", "never_fail"): "skip",
}


def assert_outcome(err: BaseException, expected: str) -> None:
    described = f"{type(err).__name__}: {err}"
    if expected == "skip":
        assert isinstance(err, AirflowSkipException), described
    elif expected == "timeout":
        assert isinstance(err, AirflowSensorTimeout), described
    elif expected == "job_failed":
        assert isinstance(err, HadoopEcoJobFailedError), described
    else:
        assert isinstance(err, HadoopEcoError), described
        assert not isinstance(err, (AirflowSkipException, AirflowSensorTimeout, HadoopEcoJobFailedError)), (
            described
        )


def sensor(flag: str, **kwargs) -> HadoopEcoRequestSensor:
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("timeout", 60)
    return HadoopEcoRequestSensor(
        task_id="wait", cluster_id=CLUSTER, request_id="req-1", **FLAGS[flag], **kwargs
    )


def script(api, outcome: str) -> None:
    """What the fake API answers for each outcome of a status check."""
    if outcome == "failure":
        api.default = (200, {}, json.dumps(status("Failure", "Terminate")).encode())
    elif outcome == "timeout":
        api.default = (200, {}, json.dumps(status(None, "Running")).encode())
    elif outcome == "error-401":
        api.default = (401, {}, b'{"message": "bad credentials"}')
    elif outcome == "error-404":
        api.default = (404, {}, b'{"message": "no such request"}')
    elif outcome == "error-budget":
        api.default = (503, {}, b"<html>busy</html>")
    else:  # pragma: no cover
        raise AssertionError(outcome)


def expected(outcome: str, flag: str) -> str:
    return TABLE[(outcome.split("-")[0], flag)]


@pytest.fixture
def reschedule_start(monkeypatch):
    """Make reschedule mode's first-try start date known on both versions: ``set(datetime or None)``."""
    holder: dict = {"start": None}
    if airflow_version() < (3, 0):
        import airflow.sensors.base as base

        monkeypatch.setattr(base, "_orig_start_date", lambda **_: holder["start"])

    def set_start(start):
        holder["start"] = start
        return start

    return set_start


# --- poke mode ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", sorted(FLAGS))
@pytest.mark.parametrize("outcome", ["failure", "timeout", "error-401", "error-404", "error-budget"])
def test_poke_mode(hadoop_eco_conn, fast_retries, outcome, flag):
    fast_retries(retry_limit=1)
    script(hadoop_eco_conn, outcome)
    task = sensor(
        flag,
        mode="poke",
        deferrable=False,
        timeout=0.5 if outcome == "timeout" else 60,
        max_consecutive_errors=2,
    )
    with pytest.raises(BaseException) as info:
        task.execute(make_try_context())
    assert_outcome(info.value, expected(outcome, flag))


# --- reschedule mode ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", sorted(FLAGS))
@pytest.mark.parametrize("outcome", ["failure", "timeout", "error-401", "error-404"])
def test_reschedule_mode(hadoop_eco_conn, reschedule_start, outcome, flag):
    script(hadoop_eco_conn, outcome)
    # For the timeout: the first poke of this attempt was an hour ago; the sensor's timeout is 60 s.
    started = datetime.now(UTC) - timedelta(hours=1) if outcome == "timeout" else None
    reschedule_start(started)
    task = sensor(flag, mode="reschedule", deferrable=False, timeout=60)
    with pytest.raises(BaseException) as info:
        task.execute(make_try_context(first_reschedule_date=started))
    assert_outcome(info.value, expected(outcome, flag))


# --- the deferrable sensor's first check ---------------------------------------------------------------------


@pytest.mark.parametrize("flag", sorted(FLAGS))
@pytest.mark.parametrize("outcome", ["failure", "error-401", "error-404"])
def test_deferrable_first_check(hadoop_eco_conn, outcome, flag):
    script(hadoop_eco_conn, outcome)
    task = sensor(flag, deferrable=True, timeout=600)
    with pytest.raises(BaseException) as info:
        task.execute(make_try_context())
    assert not isinstance(info.value, TaskDeferred), "the first check saw the outcome; it must not defer"
    assert_outcome(info.value, expected(outcome, flag))


# --- after the trigger ---------------------------------------------------------------------------------------

EVENTS = {
    "failure": "Hadoop Eco job failed: cluster 'etl' (c-1), request req-1. requestResult='Failure'",
    "timeout": "Timed out waiting for cluster c-1, request req-1 after 60 s",
    "error": "Stopped waiting for cluster c-1, request req-1: Authentication failed (HTTP 401)",
    "error-budget": "Stopped waiting for cluster c-1, request req-1 after 5 failed status checks in a row",
}


@pytest.mark.parametrize("flag", sorted(FLAGS))
@pytest.mark.parametrize("outcome", sorted(EVENTS))
def test_after_the_trigger(outcome, flag):
    event = {
        "status": outcome.split("-")[0],
        "cluster_id": CLUSTER,
        "request_id": "req-1",
        "message": EVENTS[outcome],
        "response": None,
    }
    with pytest.raises(BaseException) as info:
        sensor(flag).resume_execution("execute_complete", {"event": event}, make_try_context())
    assert_outcome(info.value, expected(outcome, flag))
