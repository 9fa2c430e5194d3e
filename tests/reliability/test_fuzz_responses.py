"""1,000+ generated malformed responses: the hook only ever raises the provider's own exceptions."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_hadoop_eco.exceptions import HadoopEcoError
from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

CLUSTER = "c-1"
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
status_like = st.fixed_dictionaries(
    {},
    optional={
        "clusterId": json_values,
        "clusterName": json_values,
        "requestId": st.one_of(st.just("req-1"), json_values),
        "requestStatus": json_values,
        "requestResult": st.one_of(
            st.sampled_from(["Success", "Failure", "success", "FAILURE"]), json_values
        ),
        "clusterMeta": json_values,
    },
)
bodies = st.one_of(
    status_like.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    status_like.map(lambda d: json.dumps(d).encode()[:-3]),  # truncated JSON
    st.just(b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    st.just(b""),
)
statuses = st.one_of(
    st.sampled_from([200, 200, 200, 202, 400, 401, 403, 404, 418, 429, 500, 502, 503]),
    st.integers(200, 599).filter(lambda c: c not in (204, 304)),
)
headers = st.fixed_dictionaries(
    {
        "Content-Type": st.sampled_from(
            ["application/json", "text/html", "text/plain", "application/octet-stream"]
        )
    },
    optional={
        "Retry-After": st.text(max_size=10).filter(lambda t: "\n" not in t and "\r" not in t and t.isascii()),
        "Location": st.just("http://127.0.0.1:1/elsewhere"),
    },
)


@pytest.fixture
def fuzz_hook(hadoop_eco_conn):
    return HadoopEcoHook(retry_limit=1, timeout=5), hadoop_eco_conn


def check(outcome):
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, HadoopEcoError), f"raw {type(outcome).__name__}: {outcome}"
    else:
        assert isinstance(outcome, dict)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(status=statuses, body=bodies, head=headers, verbose=st.booleans())
def test_sync_status_call_only_raises_provider_errors(fuzz_hook, status, body, head, verbose):
    hook, api = fuzz_hook
    api.add(status, headers=head, raw=body)
    try:
        outcome = hook.get_request_status(CLUSTER, "req-1", verbose=verbose)
    except BaseException as err:
        outcome = err
    check(outcome)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(status=statuses, body=bodies, head=headers)
def test_create_call_only_raises_provider_errors(fuzz_hook, status, body, head):
    hook, api = fuzz_hook
    api.add(status, headers=head, raw=body)
    try:
        outcome = hook.create_cluster(CLUSTER)
    except BaseException as err:
        outcome = err
    check(outcome)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(status=statuses, body=bodies, head=headers)
def test_async_status_call_only_raises_provider_errors(fuzz_hook, status, body, head):
    hook, api = fuzz_hook
    api.add(status, headers=head, raw=body)

    async def call():
        try:
            return await hook.aget_request_status(CLUSTER, "req-1")
        except BaseException as err:
            return err
        finally:
            await close_shared_session()

    check(asyncio.run(call()))
