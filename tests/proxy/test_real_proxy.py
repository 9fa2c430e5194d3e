"""Every call path through a real proxy (tinyproxy), over plain http and over https (CONNECT).

The proof a call went through the proxy is two-sided: the proxy's own log names it (the full URL of a
forwarded http request; ``CONNECT 127.0.0.1:<port>`` for an https tunnel), and the emulator recorded it
arriving from the proxy (over http tinyproxy adds ``Via: 1.1 hadoop-eco-test-proxy``; over https the
number of client connections the emulator saw equals the number of tunnels the proxy opened to it).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from conftest_helpers import run_trigger
from fake_context import make_context
from proxy_case import CANARY_PROXY_PASSWORD, CLUSTER_ID, PROXY_USER
from tests_support import CANARY_API_KEY, CANARY_SECRET
from tinyproxy_server import VIA_NAME, Tinyproxy

from airflow_provider_hadoop_eco.emulator import Emulator
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoConfigError,
    HadoopEcoConnectError,
    HadoopEcoError,
)
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

CANARIES = (CANARY_SECRET, CANARY_API_KEY, CANARY_PROXY_PASSWORD)
FAST_HOOK = {"retry_limit": 2, "retry_delay": 0.01, "retry_max_delay": 0.02, "connect_timeout": 5}


def _trigger(request_id: str, **kwargs: Any) -> HadoopEcoRequestTrigger:
    kwargs = {"poll_interval": 0.05, "jitter_first_poll": False, "hook_params": FAST_HOOK, **kwargs}
    return HadoopEcoRequestTrigger(CLUSTER_ID, request_id, **kwargs)


@contextlib.contextmanager
def job_ends_after_polls(emu: Emulator, polls: int = 2) -> Iterator[None]:
    """The job's run ends (its clock jumps) once ``polls`` status calls came in after this point."""
    start = len(emu.requests)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.005):
            if sum(r["method"] == "GET" for r in emu.requests[start:]) >= polls:
                emu.advance(10_000)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(5)


def _api_records(emu: Emulator, since: int = 0) -> list[dict[str, Any]]:
    return [r for r in emu.requests[since:] if r["cluster_id"] == CLUSTER_ID]


def assert_through_proxy(proxy: Tinyproxy, emu: Emulator, log_since: int = 0, rec_since: int = 0) -> None:
    """Every API request the emulator recorded since the marks came through ``proxy``, and its log says so."""
    records = _api_records(emu, rec_since)
    assert records, "the emulator recorded no request"
    if emu.url.startswith("http://"):
        # Each forwarded request is one log line with its full URL, in the order the emulator got them.
        logged = [(r.method, r.target) for r in proxy.forwarded(emu.port, log_since)]
        received = [(r["method"], _url(emu, r)) for r in records]
        assert logged == received, proxy.log()[log_since:]
        for record in records:
            assert VIA_NAME in record["headers"].get("Via", ""), record["headers"]
        assert proxy.connects(emu.port, log_since) == 0
    else:
        tunnels = proxy.connects(emu.port, log_since)
        peers = {r["peer"] for r in records}
        assert tunnels >= 1, proxy.log()[log_since:]
        assert proxy.upstream_connections(emu.port, log_since) == tunnels  # every tunnel was opened
        # A request that bypassed the proxy would have come on a connection of its own.
        assert len(peers) == tunnels, (peers, proxy.log()[log_since:])
        assert proxy.forwarded(emu.port, log_since) == []
        assert all("Via" not in r["headers"] for r in records)  # a tunnel is opaque to the proxy


def assert_not_through_proxy(proxy: Tinyproxy, emu: Emulator) -> None:
    assert _api_records(emu), "the emulator recorded no request"
    assert proxy.requests() == [], proxy.log()
    assert all("Via" not in r["headers"] for r in emu.requests)


def _url(emu: Emulator, record: dict[str, Any]) -> str:
    query = "&".join(f"{k}={v}" for k, v in record["query"].items())
    return f"{emu.url}{record['path']}" + (f"?{query}" if query else "")


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked into: {text}"


def _logged(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> str:
    """Everything logged so far: stdlib records (caplog) and what reached stdout/stderr (Airflow 3's
    structlog writes task and trigger logs there, not to caplog)."""
    out, err = capfd.readouterr()
    records = [
        f"{r.getMessage()} {r.exc_text or ''} {r.exc_info[1] if r.exc_info else ''}" for r in caplog.records
    ]
    return "\n".join([*records, caplog.text, out, err])


# --- every call path goes through the proxy --------------------------------------------------------------


@pytest.mark.timeout(60)
def test_sync_create_and_status_go_through_the_proxy(proxy, emu, use_connection):
    use_connection(emu, proxies={"http": proxy.url, "https": proxy.url})
    started = HadoopEcoHook().create_cluster(CLUSTER_ID)
    status = HadoopEcoHook().get_request_status(CLUSTER_ID, started["requestId"])
    assert status.request_id == started["requestId"]
    assert [r["method"] for r in _api_records(emu)] == ["POST", "GET"]
    assert_through_proxy(proxy, emu)
    if emu.tls:
        # The POST gets a fresh connection (so a tunnel of its own), the status call a pooled one.
        assert proxy.connects(emu.port) == 2


@pytest.mark.timeout(30)
def test_trigger_polls_go_through_the_proxy(proxy, emu, use_connection):
    use_connection(emu, proxies={"http": proxy.url, "https": proxy.url})
    request_id = HadoopEcoHook().create_cluster(CLUSTER_ID)["requestId"]
    log_mark, rec_mark = proxy.mark(), len(emu.requests)

    with job_ends_after_polls(emu, 3):
        event = run_trigger(_trigger(request_id))

    assert event["status"] == "success", event
    polls = _api_records(emu, rec_mark)
    assert all(r["method"] == "GET" for r in polls)
    assert len([r for r in polls if r["query"].get("verbose") == "false"]) >= 3, polls
    assert polls[-1]["query"]["verbose"] == "true"
    assert_through_proxy(proxy, emu, log_mark, rec_mark)


@pytest.mark.timeout(30)
def test_operator_and_deferrable_sensor_go_through_the_proxy(proxy, emu, use_connection):
    use_connection(emu, proxies={"http": proxy.url, "https": proxy.url})
    created = HadoopEcoCreateClusterOperator(task_id="create", cluster_id=CLUSTER_ID).execute(make_context())
    sensor = HadoopEcoRequestSensor(
        task_id="wait",
        cluster_id=CLUSTER_ID,
        request_id=created["requestId"],
        deferrable=True,
        poke_interval=0.05,
        hook_params=FAST_HOOK,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    assert [r["method"] for r in _api_records(emu)] == ["POST", "GET"]  # the create and the first check
    assert_through_proxy(proxy, emu)

    log_mark, rec_mark = proxy.mark(), len(emu.requests)
    with job_ends_after_polls(emu, 1):
        event = run_trigger(deferred.value.trigger)
    assert sensor.execute_complete(make_context(), event)["requestResult"] == "Success"
    assert_through_proxy(proxy, emu, log_mark, rec_mark)


# --- the environment ------------------------------------------------------------------------------------


def _set_proxy_environment(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, url)


@pytest.mark.timeout(30)
def test_a_direct_connection_ignores_proxy_variables(proxy, emu, use_connection, monkeypatch):
    _set_proxy_environment(monkeypatch, proxy.url)
    use_connection(emu)  # no proxies extra
    request_id = HadoopEcoHook().create_cluster(CLUSTER_ID)["requestId"]
    HadoopEcoHook().get_request_status(CLUSTER_ID, request_id)
    with job_ends_after_polls(emu, 1):
        assert run_trigger(_trigger(request_id))["status"] == "success"
    assert_not_through_proxy(proxy, emu)


@pytest.mark.timeout(30)
def test_trust_env_takes_the_proxy_from_the_environment(proxy, emu, use_connection, monkeypatch):
    _set_proxy_environment(monkeypatch, proxy.url)
    use_connection(emu, trust_env=True)
    request_id = HadoopEcoHook().create_cluster(CLUSTER_ID)["requestId"]
    HadoopEcoHook().get_request_status(CLUSTER_ID, request_id)
    with job_ends_after_polls(emu, 1):
        assert run_trigger(_trigger(request_id))["status"] == "success"
    assert_through_proxy(proxy, emu)


# --- the proxy is down ---------------------------------------------------------------------------------


def _stop(proxy: Tinyproxy) -> None:
    proxy.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5).close()


def _assert_names_the_proxy(message: str, proxy_shown: str) -> None:
    assert f"through the proxy {proxy_shown}" in message, message
    assert "the request was not sent" in message, message
    assert_no_canary(message)


@pytest.mark.timeout(30)
def test_proxy_stopped_sync_calls_fail_naming_the_proxy(proxy, emu, use_connection, caplog, capfd):
    use_connection(emu, proxies={"http": proxy.url, "https": proxy.url})
    _stop(proxy)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HadoopEcoConnectError) as create:
        HadoopEcoHook().create_cluster(CLUSTER_ID)
    _assert_names_the_proxy(str(create.value), proxy.url)
    with pytest.raises(HadoopEcoConnectError) as status:
        HadoopEcoHook().get_request_status(CLUSTER_ID, "req-0123")
    _assert_names_the_proxy(str(status.value), proxy.url)
    assert emu.requests == []
    logged = _logged(caplog, capfd)
    assert f"through the proxy {proxy.url}" in logged, "the retries were logged"
    assert_no_canary(logged)


@pytest.mark.timeout(30)
def test_proxy_stopped_trigger_ends_with_an_error_naming_the_proxy(proxy, emu, use_connection, caplog, capfd):
    use_connection(emu, proxies={"http": proxy.url, "https": proxy.url})
    _stop(proxy)
    caplog.set_level(logging.DEBUG)
    event = run_trigger(_trigger("req-0123", poll_interval=0.01, max_consecutive_errors=2))
    assert event["status"] == "error", event
    assert "after 2 failed status checks in a row" in event["message"], event
    _assert_names_the_proxy(event["message"], proxy.url)
    # What the task then fails with says the same.
    sensor = HadoopEcoRequestSensor(task_id="wait", cluster_id=CLUSTER_ID, request_id="req-0123")
    with pytest.raises(HadoopEcoError) as failed:
        sensor.execute_complete(make_context(), event)
    _assert_names_the_proxy(str(failed.value), proxy.url)
    assert emu.requests == []
    logged = _logged(caplog, capfd)
    assert f"through the proxy {proxy.url}" in logged, "the failed checks were logged"
    assert_no_canary(logged, repr(event))


# --- a proxy that requires credentials -------------------------------------------------------------------


@pytest.fixture
def auth_proxy(make_proxy) -> Tinyproxy:
    return make_proxy(basic_auth=(PROXY_USER, CANARY_PROXY_PASSWORD))


@pytest.mark.timeout(30)
def test_proxy_credentials_in_the_url_reach_the_proxy_sync(auth_proxy, emu, use_connection):
    # Without them the proxy refuses: so getting through below proves they reached it.
    use_connection(emu, proxies={"http": auth_proxy.url, "https": auth_proxy.url})
    with pytest.raises(HadoopEcoError):
        HadoopEcoHook().create_cluster(CLUSTER_ID)
    assert emu.requests == [] and auth_proxy.upstream_connections(emu.port) == 0
    assert auth_proxy.requests(), "the refused request is logged"

    log_mark = auth_proxy.mark()
    url = auth_proxy.url_with(PROXY_USER, CANARY_PROXY_PASSWORD)
    use_connection(emu, proxies={"http": url, "https": url})
    request_id = HadoopEcoHook().create_cluster(CLUSTER_ID)["requestId"]
    HadoopEcoHook().get_request_status(CLUSTER_ID, request_id)
    assert_through_proxy(auth_proxy, emu, log_mark)
    assert CANARY_PROXY_PASSWORD not in auth_proxy.log()


@pytest.mark.timeout(30)
def test_proxy_credentials_in_the_url_reach_the_proxy_async(auth_proxy, emu, use_connection):
    request_id = _start_job_directly(emu)
    use_connection(emu, proxies={"http": auth_proxy.url, "https": auth_proxy.url})
    refused = run_trigger(_trigger(request_id, max_consecutive_errors=1))
    assert refused["status"] == "error", refused
    assert _api_records(emu, 1) == [] and auth_proxy.upstream_connections(emu.port) == 0

    log_mark = auth_proxy.mark()
    url = auth_proxy.url_with(PROXY_USER, CANARY_PROXY_PASSWORD)
    use_connection(emu, proxies={"http": url, "https": url})
    with job_ends_after_polls(emu, 2):
        event = run_trigger(_trigger(request_id))
    assert event["status"] == "success", event
    assert_through_proxy(auth_proxy, emu, log_mark, rec_since=1)


def _start_job_directly(emu: Emulator) -> str:
    """Start a job without any proxy (the emulator's first record); return its request id."""
    import requests

    headers = {
        "Credential-ID": emu.cluster(CLUSTER_ID).credential_id,
        "Credential-Secret": CANARY_SECRET,
        "Hadoop-Eco-Api-Key": CANARY_API_KEY,
    }
    with requests.Session() as session:
        session.trust_env = False
        answer = session.post(
            f"{emu.url}/hadoop-eco/v1/cluster/{CLUSTER_ID}",
            json={},
            headers=headers,
            verify=emu.ca_path or True,
            timeout=10,
        )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["requestId"])


@pytest.mark.timeout(30)
def test_proxy_password_never_shown_when_the_proxy_is_down(auth_proxy, emu, use_connection, caplog, capfd):
    url = auth_proxy.url_with(PROXY_USER, CANARY_PROXY_PASSWORD)
    use_connection(emu, proxies={"http": url, "https": url})
    _stop(auth_proxy)
    caplog.set_level(logging.DEBUG)
    shown = f"http://{PROXY_USER}:***@127.0.0.1:{auth_proxy.port}"
    with pytest.raises(HadoopEcoConnectError) as create:
        HadoopEcoHook().create_cluster(CLUSTER_ID)
    _assert_names_the_proxy(str(create.value), shown)
    with pytest.raises(HadoopEcoConnectError) as status:
        HadoopEcoHook().get_request_status(CLUSTER_ID, "req-0123")
    _assert_names_the_proxy(str(status.value), shown)
    event = run_trigger(_trigger("req-0123", poll_interval=0.01, max_consecutive_errors=2))
    assert event["status"] == "error", event
    _assert_names_the_proxy(event["message"], shown)
    assert emu.requests == []
    logged = _logged(caplog, capfd)
    assert f"through the proxy {shown}" in logged, "the retries were logged, with the password masked"
    assert_no_canary(logged, repr(event), repr(create.value.args), repr(status.value.args))


# --- bad proxies extras ---------------------------------------------------------------------------------

BAD_PROXIES = [
    pytest.param(
        {"https": "socks5://127.0.0.1:1080"}, "must be an http:// or https:// URL with a host", id="socks5"
    ),
    pytest.param({"https": "http://"}, "must be an http:// or https:// URL with a host", id="no-host"),
    pytest.param({"https": "http://:3128"}, "must be an http:// or https:// URL with a host", id="port-only"),
    pytest.param({"https": "http://127.0.0.1:99999"}, "has an invalid port", id="bad-port"),
    pytest.param({"https": ""}, "proxy for 'https' must be a URL", id="empty-url"),
    pytest.param({"ftp": "http://127.0.0.1:3128"}, "may only have the keys 'http' and 'https'", id="ftp-key"),
    pytest.param({"all": "http://127.0.0.1:3128"}, "may only have the keys 'http' and 'https'", id="all-key"),
    pytest.param(["http://127.0.0.1:3128"], "must be a mapping", id="list"),
    pytest.param("http://127.0.0.1:3128", "must be a mapping", id="bare-url"),
    pytest.param(3128, "must be a mapping", id="number"),
    pytest.param('{"https": "http://127.0.0.1:3128"', "is not valid JSON", id="invalid-json"),
    pytest.param(
        {"https": f"socks5://{PROXY_USER}:{CANARY_PROXY_PASSWORD}@127.0.0.1:1080"},
        f"socks5://{PROXY_USER}:***@127.0.0.1:1080",
        id="socks5-with-password",
    ),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("proxies", "problem"), BAD_PROXIES)
def test_bad_proxies_extra_is_a_config_error_before_any_call(
    proxies, problem, proxy, emulators, use_connection, caplog, capfd
):
    emu = emulators["https"]
    use_connection(emu, proxies=proxies)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HadoopEcoConfigError) as create:
        HadoopEcoHook().create_cluster(CLUSTER_ID)
    message = str(create.value)
    assert "Connection 'hadoop_eco_default'" in message and problem in message, message
    # The trigger gives up at once: retrying cannot fix a configuration.
    event = run_trigger(_trigger("req-0123", max_consecutive_errors=5))
    assert event["status"] == "error", event
    assert "retrying cannot fix" in event["message"] and problem in event["message"], event
    assert emu.requests == [] and proxy.requests() == []
    assert_no_canary(message, event["message"], _logged(caplog, capfd))


@pytest.mark.timeout(30)
def test_proxy_refusing_the_request_is_a_clear_error_naming_the_proxy(auth_proxy, emu, use_connection):
    """HTTP 407 comes from a proxy by definition: the request never reached the API.

    Sync and async alike must say so, name the proxy, and never claim the job may have started.
    """
    use_connection(emu, proxies={"http": auth_proxy.url, "https": auth_proxy.url})
    problems = []
    try:
        HadoopEcoHook().create_cluster(CLUSTER_ID)
    except HadoopEcoError as err:
        problems += _refusal_problems("create", err, auth_proxy.url)
    else:
        problems.append("create: no error")
    try:
        HadoopEcoHook().get_request_status(CLUSTER_ID, "req-0123")
    except HadoopEcoError as err:
        problems += _refusal_problems("status", err, auth_proxy.url)
    event = run_trigger(_trigger("req-0123", max_consecutive_errors=1))
    assert event["status"] == "error", event
    problems += _refusal_problems("trigger", HadoopEcoError(event["message"]), auth_proxy.url, typed=False)
    assert emu.requests == [] and auth_proxy.upstream_connections(emu.port) == 0
    assert not problems, "\n".join(problems)


def _refusal_problems(call: str, err: HadoopEcoError, proxy_url: str, typed: bool = True) -> list[str]:
    message = str(err)
    problems = []
    if typed and not isinstance(err, HadoopEcoConnectError):
        problems.append(f"{call}: {type(err).__name__} instead of HadoopEcoConnectError")
    if proxy_url not in message or "not sent" not in message or "407" not in message:
        problems.append(f"{call}: message does not name the proxy, HTTP 407 and 'not sent': {message[:600]}")
    return problems


@pytest.mark.timeout(30)
def test_trust_env_honours_no_proxy(proxy, emu, use_connection, monkeypatch):
    """NO_PROXY is part of the environment's proxy settings: a host it names is reached directly."""
    _set_proxy_environment(monkeypatch, proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    use_connection(emu, trust_env=True)
    request_id = HadoopEcoHook().create_cluster(CLUSTER_ID)["requestId"]
    HadoopEcoHook().get_request_status(CLUSTER_ID, request_id)
    with job_ends_after_polls(emu, 1):
        assert run_trigger(_trigger(request_id))["status"] == "success"
    assert_not_through_proxy(proxy, emu)
