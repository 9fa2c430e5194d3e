"""Review defects 1 and 11: a cleared create task runs its job again; a retry re-attaches only to a request
that is really still running (Airflow 3.3, where the create answer is kept in ``task_state_store``).

Airflow's own notion of "the current attempt" (the sdk task runner's ``get_first_reschedule_date``): its first
try is ``ti.max_tries - task.retries + 1``. ``clear_task_instances`` sets ``max_tries = try_number + retries``;
a retry changes neither. So with ``retries=1``:

* first run: try 1, max_tries 1 -> the attempt starts at try 1;
* a retry of it: try 2, max_tries 1 -> the attempt still starts at try 1: re-attach to try 1's request;
* a clear after it ran: try 2, max_tries 2 -> the attempt starts at try 2: try 1's request is old, POST again.
"""

from __future__ import annotations

import json

import pytest
from fake_context import FullFakeTaskStateStore, make_try_context
from review_support import CREATED, ByMethod, airflow_version, answer
from tests_support import status_body as status

from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator

pytestmark = [
    pytest.mark.skipif(
        airflow_version() < (3, 3), reason="task_state_store (ResumableJobMixin) arrived in Airflow 3.3"
    ),
    pytest.mark.timeout(30),
]

CLUSTER = "c-1"
SECOND = {**CREATED, "requestId": "req-2"}
THIRD = {**CREATED, "requestId": "req-3"}
RETRIES = 1


@pytest.fixture
def api(programmable_api, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", programmable_api.conn_json())
    return programmable_api


def op(**kwargs) -> HadoopEcoCreateClusterOperator:
    kwargs.setdefault("poll_interval", 0.01)
    kwargs.setdefault("retries", RETRIES)
    return HadoopEcoCreateClusterOperator(task_id="create", cluster_id=CLUSTER, **kwargs)


def methods(api) -> list[str]:
    return [r.method for r in api.requests]


def posted_bodies(api) -> list[dict]:
    return [json.loads(r.body) for r in api.requests if r.method == "POST"]


def first_run(api, store, **kwargs) -> None:
    """Try 1 of a fresh task instance (max_tries = retries): it POSTs and stores the request."""
    api.handler = ByMethod(posts=[answer(200, CREATED)])
    op(**kwargs).execute(make_try_context(store, try_number=1, max_tries=RETRIES))
    assert methods(api) == ["POST"]
    assert store.data, "the first try stored its request"


def test_guard_first_run_posts_and_a_retry_of_the_same_attempt_reattaches(api):
    """Guard (passes today; must keep passing): a retry of the same attempt waits for the stored request."""
    store = FullFakeTaskStateStore()
    first_run(api, store)
    running = answer(200, status(None, "Running"))
    api.handler = ByMethod(posts=[answer(200, SECOND)], gets=[running, running, running])
    context = make_try_context(store, try_number=2, max_tries=RETRIES)
    assert op(wait_for_completion=True, deferrable=False).execute(context) == CREATED
    assert methods(api).count("POST") == 1, methods(api)
    assert context["ti"].xcom["request_id"] == "req-1"


def test_clear_after_success_posts_again_with_the_current_settings(api):
    """A cleared task (max_tries = try_number + retries) starts the job again, with its current settings."""
    store = FullFakeTaskStateStore()
    first_run(api, store, worker_count=2, exec_opts="--old")
    # Any look-up of the old request says it succeeded; a POST starts req-2.
    api.handler = ByMethod(posts=[answer(200, SECOND)])
    context = make_try_context(store, try_number=2, max_tries=1 + RETRIES, clear_number=1)
    result = op(worker_count=5, exec_opts="--new").execute(context)
    assert methods(api).count("POST") == 2, f"a cleared task must run the job again; requests: {methods(api)}"
    assert posted_bodies(api)[1] == {"workerCnt": 5, "userTaskExecOpts": "--new"}
    assert result["requestId"] == "req-2"
    assert context["ti"].xcom["request_id"] == "req-2"


def test_clear_while_the_old_request_still_runs_posts_again(api):
    """A clear is a new attempt even if the old job still runs: POST (the API answers 202 if it is busy)."""
    store = FullFakeTaskStateStore()
    first_run(api, store)
    api.handler = ByMethod(posts=[answer(200, SECOND)], get_default=answer(200, status(None, "Running")))
    context = make_try_context(store, try_number=2, max_tries=1 + RETRIES, clear_number=1)
    result = op().execute(context)
    assert methods(api).count("POST") == 2, methods(api)
    assert result["requestId"] == "req-2"


def test_a_retry_after_a_clear_reattaches_to_the_cleared_attempts_request(api):
    """After a clear (try 2 POSTed req-2), a retry of that attempt (try 3, same max_tries) re-attaches to req-2."""
    store = FullFakeTaskStateStore()
    first_run(api, store)
    api.handler = ByMethod(posts=[answer(200, SECOND)])
    op().execute(make_try_context(store, try_number=2, max_tries=1 + RETRIES, clear_number=1))
    assert methods(api).count("POST") == 2, "precondition: the clear posted"
    running = answer(200, {**status(None, "Running"), "requestId": "req-2"})
    done = answer(200, {**status("Success", "Terminate"), "requestId": "req-2"})
    api.handler = ByMethod(posts=[answer(200, THIRD)], gets=[running, running], get_default=done)
    context = make_try_context(store, try_number=3, max_tries=1 + RETRIES, clear_number=1)
    result = op(wait_for_completion=True, deferrable=False).execute(context)
    assert methods(api).count("POST") == 2, methods(api)
    assert result["requestId"] == "req-2"


@pytest.mark.parametrize("request_status", ["Success", "Failure", "NotFound"])
def test_a_request_status_that_reads_like_a_result_is_still_running(api, request_status):
    """Defect 11: requestStatus 'Success' (or 'Failure', 'NotFound') with requestResult null is still running.

    A retry must re-attach and wait for it: neither return at once as if done, nor POST a second job.
    """
    store = FullFakeTaskStateStore()
    first_run(api, store)
    still_running = answer(200, status(None, request_status))
    api.handler = ByMethod(
        posts=[answer(200, SECOND)],
        gets=[still_running, still_running, still_running],
        get_default=answer(200, status("Success", "Terminate")),
    )
    context = make_try_context(store, try_number=2, max_tries=RETRIES)
    result = op(wait_for_completion=True, deferrable=False).execute(context)
    assert methods(api).count("POST") == 1, f"a second job was started: {methods(api)}"
    assert result["requestId"] == "req-1"
    gets = [r.path for r in api.requests if r.method == "GET"]
    # the look-up, two more 'still running' polls, then the final Success (and its verbose fetch)
    assert len(gets) >= 4, f"the retry did not wait for the running request: {gets}"
