"""An error keeps its class across a deferral; NO_PROXY exempts hosts from environment proxies only."""

from __future__ import annotations

import json

import pytest
from conftest_helpers import run_trigger
from fake_context import make_context
from tests_support import conn_json

from airflow_provider_hadoop_eco.events import event_error, make_event, validate_event
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoAuthError,
    HadoopEcoConfigError,
    HadoopEcoError,
    HadoopEcoRateLimitError,
)
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        (HadoopEcoAuthError("Not permitted", http_status=403, cluster_id="c-1"), HadoopEcoAuthError),
        (HadoopEcoConfigError("bad CA path"), HadoopEcoConfigError),
        (HadoopEcoRateLimitError("slow", http_status=429, cluster_id="c-1"), HadoopEcoRateLimitError),
        (ValueError("not ours"), HadoopEcoError),
    ],
)
def test_an_error_event_rebuilds_an_error_of_the_same_class(error, cls):
    event = make_event("error", cluster_id="c-1", request_id="req-1", message="stopped: x", error=error)
    event = json.loads(json.dumps(event))  # what crosses from the triggerer to the worker
    rebuilt = event_error(validate_event(event))
    assert type(rebuilt) is cls and str(rebuilt) == "stopped: x"
    if getattr(error, "http_status", None):
        assert rebuilt.http_status == error.http_status and rebuilt.cluster_id == "c-1"


@pytest.mark.timeout(30)
def test_a_403_in_the_trigger_is_a_403_in_the_worker(hadoop_eco_conn):
    hadoop_eco_conn.default = (403, {"Content-Type": "application/json"}, b'{"message": "wrong key"}')
    event = run_trigger(HadoopEcoRequestTrigger("c-1", "req-1", poll_interval=0.01, jitter_first_poll=False))
    assert event["status"] == "error" and event["error_type"] == "HadoopEcoAuthError", event
    sensor = HadoopEcoRequestSensor(task_id="wait", cluster_id="c-1", request_id="req-1")
    with pytest.raises(HadoopEcoAuthError) as info:
        sensor.execute_complete(make_context(), event)
    assert info.value.http_status == 403


def _credentials(monkeypatch, **extra):
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", conn_json("https://hadoop-eco.example", **extra))
    return HadoopEcoHook().credentials


def test_no_proxy_exempts_hosts_from_environment_proxies_only(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "hadoop-eco.example,10.0.0.0/8")
    creds = _credentials(monkeypatch, trust_env=True)
    assert creds.proxy_for("https://hadoop-eco.example/x") is None
    assert creds.proxy_for("https://10.1.2.3/x") is None, "an IP network in NO_PROXY, as requests reads it"
    assert creds.proxy_for("https://other.example/x") == "http://env-proxy:3128"
    named = _credentials(monkeypatch, trust_env=True, proxies={"https": "http://named:8080"})
    assert named.proxy_for("https://hadoop-eco.example/x") == "http://named:8080", "a named proxy is kept"
    ignored = _credentials(monkeypatch)
    assert ignored.proxy_for("https://other.example/x") is None, "the environment is ignored by default"


@pytest.mark.parametrize("name", ["trust_env", "allow_insecure_http"])
@pytest.mark.parametrize("value", ["***", "maybe", 2])
def test_a_switch_that_is_not_yes_or_no_is_a_clear_error(monkeypatch, name, value):
    """A switch saved as ``***`` (Airflow's redaction) or any other non-flag is refused, never read as off."""
    with pytest.raises(HadoopEcoConfigError, match=f"extra '{name}' must be true or false"):
        _credentials(monkeypatch, **{name: value})


def test_credentials_repr_shows_no_secret_and_no_proxy_url(monkeypatch):
    """The credentials' repr (a debugger, a log line with ``%r``) names the connection, never its secrets."""
    monkeypatch.setenv("HTTPS_PROXY", "http://env-user:env-pass-77@env-proxy:3128")
    creds = _credentials(
        monkeypatch, trust_env=True, proxies={"http": "http://user:proxy-pass-42@named:8080"}
    )
    shown = repr(creds)
    assert "conn_id=" in shown and creds.access_key_id in shown
    for secret in (creds.secret_access_key, creds.api_key, "proxy-pass-42", "env-pass-77"):
        assert secret and secret not in shown
    assert shown == str(creds)
