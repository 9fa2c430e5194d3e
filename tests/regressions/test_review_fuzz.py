"""Fuzz (hypothesis): odd connection fields and odd settings give only provider exceptions, and never a secret.

Connection fields (login, password, api_key, host, port, extras ``verify`` and ``cluster_id``) get control
characters, unicode digits and huge numbers; operator settings get unicode digits, huge numeric strings and
huge integers. Against a fake on 127.0.0.1 that answers 200 to everything, constructing the hook and the
operator and making their first calls (create, status sync and async, test_connection, operator execute)
may succeed or raise a ``HadoopEcoError``, nothing else; and no canary secret may appear in an exception
message or a log line.

Hosts stay on loopback: only the part around ``127.0.0.1`` is fuzzed, always with ``http://``, which the
provider refuses for any host that is not loopback, so no request can leave the machine.
"""

from __future__ import annotations

import json
import logging

import pytest
from fake_context import make_context
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from review_support import arun
from tests_support import ACCESS_KEY_ID, CANARY_API_KEY, CANARY_SECRET

from airflow_provider_hadoop_eco.exceptions import HadoopEcoError
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator

CLUSTER = "c-1"
CONN_ENV = "AIRFLOW_CONN_HADOOP_ECO_DEFAULT"
SETTING_NAMES = ("worker_count", "worker_volume_size", "hdfs_replication", "hdfs_block_size", "deploy_mode")
CANARIES = (CANARY_SECRET, CANARY_API_KEY)

CONTROL = st.sampled_from(
    ["\x00", "\x01", "\x07", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1b", "\x7f", "\x85", "\u2028"]
)
UNICODE_DIGITS = st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=6)
HUGE_NUMERIC = st.integers(min_value=4290, max_value=6000).map(lambda n: "9" * n)
ODD = st.one_of(
    CONTROL,
    UNICODE_DIGITS,
    st.text(st.one_of(CONTROL, st.characters(codec="utf-8")), max_size=8),
    st.sampled_from(["", " ", "..", ".", "%00", "@", ":", "/", "?", "#", "[", "]", "²", "①", "٣"]),
)
AFFIX = st.one_of(st.just(""), ODD)


def decorated(value: str):
    """The value, with odd characters before, inside or after it (or unchanged)."""
    return st.tuples(AFFIX, AFFIX, AFFIX, st.integers(0, len(value))).map(
        lambda t: t[0] + value[: t[3]] + t[1] + value[t[3] :] + t[2]
    )


SETTING_VALUE = st.one_of(
    st.none(),
    UNICODE_DIGITS,
    HUGE_NUMERIC,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(
        [10**5000, -(10**5000), float("nan"), float("inf"), 1e300, True, " 7 ", "+3", "-0", "0x10"]
    ),
    decorated("3"),
)


def host_for(port: int):
    base = st.tuples(AFFIX, AFFIX, AFFIX, st.sampled_from(["127.0.0.1", "localhost"])).map(
        lambda t: f"http://{t[0]}{t[3]}{t[1]}:{port}{t[2]}"
    )
    return st.one_of(st.just(f"http://127.0.0.1:{port}"), base)


@st.composite
def connections(draw, port: int) -> dict:
    extra = {"api_key": draw(decorated(CANARY_API_KEY))}
    if draw(st.booleans()):
        extra["verify"] = draw(
            st.one_of(st.booleans(), ODD, st.sampled_from(["true", "false", " ", "/no/such/ca.pem"]))
        )
    if draw(st.booleans()):
        extra["cluster_id"] = draw(st.one_of(st.just(CLUSTER), ODD, decorated(CLUSTER)))
    connection = {
        "conn_type": "hadoop_eco",
        "host": draw(host_for(port)),
        "login": draw(decorated(ACCESS_KEY_ID)),
        "password": draw(decorated(CANARY_SECRET)),
        "extra": extra,
    }
    if draw(st.booleans()):
        connection["port"] = draw(st.one_of(st.just(port), st.integers(-(10**6), 10**6)))
    return connection


def assert_clean(texts) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary not in text, f"a canary leaked: {text[:300]!r}"


def attempt(what: str, fn, errors: list[str]):
    """Run one step: it may succeed or raise a HadoopEcoError; anything else fails the test."""
    try:
        return fn()
    except HadoopEcoError as err:
        errors.append(str(err))
        return None
    except Exception as err:
        raise AssertionError(
            f"{what} raised {type(err).__name__} (not a HadoopEcoError): {str(err)[:300]}"
        ) from err


@pytest.mark.timeout(600)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
    # No shrinking: while the rules are broken it would take minutes; each distinct failure is still reported.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=st.data())
def test_odd_connections_and_settings_give_only_provider_errors_and_no_secret(
    programmable_api, monkeypatch, caplog, data
):
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    connection = data.draw(connections(programmable_api.port), label="connection")
    values = data.draw(
        st.dictionaries(st.sampled_from(SETTING_NAMES), SETTING_VALUE, max_size=3), label="settings"
    )
    monkeypatch.setenv(CONN_ENV, json.dumps(connection))
    errors: list[str] = []

    def hook() -> HadoopEcoHook:
        return HadoopEcoHook(
            retry_limit=1, timeout=3, connect_timeout=1, retry_delay=0.01, retry_max_delay=0.01
        )

    attempt("get_request_status", lambda: hook().get_request_status(CLUSTER, "req-1"), errors)
    attempt("aget_request_status", lambda: arun(hook().aget_request_status(CLUSTER, "req-1"), 10), errors)
    attempt("create_cluster", lambda: hook().create_cluster(CLUSTER, **values), errors)
    outcome = attempt("test_connection", lambda: hook().test_connection(), errors)
    if outcome is not None:
        ok, message = outcome
        assert isinstance(ok, bool) and isinstance(message, str)
        errors.append(message)
    task = attempt(
        "operator construction",
        lambda: HadoopEcoCreateClusterOperator(task_id="create", cluster_id=CLUSTER, **values),
        errors,
    )
    if task is not None:
        attempt("operator execute", lambda: task.execute(make_context()), errors)
    assert_clean(errors)
    assert_clean(record.getMessage() for record in caplog.records)
    assert_clean([caplog.text])


@pytest.mark.timeout(300)
@settings(
    max_examples=80, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.reuse, Phase.generate]
)
@given(values=st.dictionaries(st.sampled_from(SETTING_NAMES), SETTING_VALUE, min_size=1, max_size=3))
def test_odd_settings_at_parse_time_give_only_config_errors(values):
    from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError

    try:
        HadoopEcoCreateClusterOperator(task_id="create", cluster_id=CLUSTER, **values)
    except HadoopEcoConfigError:
        pass
    except Exception as err:
        raise AssertionError(f"{type(err).__name__}: {str(err)[:300]}") from err
