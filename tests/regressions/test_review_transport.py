"""Review defects 4, 5, 6 and 13: failures before sending, TLS verification, cookies, and 2xx answers."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import pytest
from fake_context import make_context
from review_support import CREATED, ByMethod, arun, run_one_event
from tests_support import REPO_ROOT
from tests_support import conn_json as conn
from tests_support import status_body as status

from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoConfigError,
    HadoopEcoConnectError,
    HadoopEcoError,
    HadoopEcoJobMayHaveStartedError,
    HadoopEcoResponseError,
    HadoopEcoUnexpectedStatusError,
)
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

pytestmark = pytest.mark.timeout(30)

CLUSTER = "c-1"
CONN_ENV = "AIRFLOW_CONN_HADOOP_ECO_DEFAULT"
NOT_SENT = (HadoopEcoConnectError, HadoopEcoConfigError)


def is_transient(exc: BaseException) -> bool:
    from airflow_provider_hadoop_eco.exceptions import is_transient as rule

    return rule(exc)


def hook(**kwargs) -> HadoopEcoHook:
    kwargs.setdefault("retry_delay", 0.01)
    kwargs.setdefault("retry_max_delay", 0.05)
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("connect_timeout", 2)
    return HadoopEcoHook(**kwargs)


def trigger(**kwargs) -> HadoopEcoRequestTrigger:
    kwargs.setdefault("poll_interval", 0.01)
    kwargs.setdefault("jitter_first_poll", False)
    return HadoopEcoRequestTrigger(CLUSTER, "req-1", **kwargs)


def call(kind: str):
    if kind == "create":
        return hook().create_cluster(CLUSTER)
    if kind == "status":
        return hook().get_request_status(CLUSTER, "req-1")
    return arun(hook().aget_request_status(CLUSTER, "req-1"))


def assert_not_sent_error(err: BaseException) -> None:
    assert isinstance(err, NOT_SENT), f"{type(err).__name__}: {err}"
    assert not isinstance(err, HadoopEcoJobMayHaveStartedError)
    assert "MAY HAVE STARTED" not in str(err), str(err)


# --- defect 4: an invalid header or URL means nothing was sent ------------------------------------------------

BAD_LOGINS = {"crlf-inside": "id\r\nX-Injected: 1", "lf-inside": "id\nX-Injected: 1"}


@pytest.mark.parametrize("login", sorted(BAD_LOGINS))
@pytest.mark.parametrize("kind", ["create", "status", "async"])
def test_an_invalid_header_is_not_a_job_that_may_have_started(hadoop_eco_conn, monkeypatch, login, kind):
    monkeypatch.setenv(CONN_ENV, conn(hadoop_eco_conn.url, login=BAD_LOGINS[login]))
    with pytest.raises(Exception) as info:
        call(kind)
    assert_not_sent_error(info.value)
    assert hadoop_eco_conn.requests == []


BAD_URLS = {
    "port-out-of-range": "http://127.0.0.1:99999",
    "port-not-a-number": "http://localhost:80a",
    "space-in-host": "https://exa mple.com",
    "empty-label": "https://a..b.example",
    "label-too-long": "https://" + "a" * 70 + ".example",
    "unclosed-ipv6": "http://[::1",
}


@pytest.mark.parametrize("url", sorted(BAD_URLS))
@pytest.mark.parametrize("kind", ["create", "status", "async"])
def test_an_invalid_url_is_not_a_job_that_may_have_started(monkeypatch, url, kind):
    monkeypatch.setenv(CONN_ENV, conn(BAD_URLS[url]))
    with pytest.raises(Exception) as info:
        call(kind)
    assert_not_sent_error(info.value)


@pytest.mark.parametrize("url", sorted(BAD_URLS))
def test_an_invalid_url_ends_the_trigger_with_an_error_event(monkeypatch, fast_retries, url):
    monkeypatch.setenv(CONN_ENV, conn(BAD_URLS[url]))
    event = run_one_event(trigger(max_consecutive_errors=2))
    assert event["status"] == "error", event
    assert "MAY HAVE STARTED" not in event["message"]
    # A URL that cannot be parsed is a configuration error: retrying cannot fix it, so it ends the wait at once.
    assert "failed status checks in a row" not in event["message"], event["message"]


# --- defect 4: a certificate failure is not sent, not "may have started", and not retried --------------------


@pytest.mark.parametrize("kind", ["create", "status", "async"])
def test_a_certificate_failure_is_a_connect_error_tried_once(tls_api, monkeypatch, kind):
    monkeypatch.setenv(CONN_ENV, tls_api.conn_json())
    with pytest.raises(Exception) as info:
        call(kind)
    assert_not_sent_error(info.value)
    assert "certificate" in str(info.value).lower(), str(info.value)
    assert is_transient(info.value) is False
    assert tls_api.connections == 1, f"the TLS handshake was tried {tls_api.connections} times"
    assert tls_api.requests == []


def test_a_certificate_failure_ends_the_trigger_at_once(tls_api, monkeypatch, fast_retries):
    monkeypatch.setenv(CONN_ENV, tls_api.conn_json())
    event = run_one_event(trigger(max_consecutive_errors=5))
    assert event["status"] == "error", event
    assert "certificate" in event["message"].lower(), event["message"]
    assert "failed status checks in a row" not in event["message"], "it went through the error budget"
    assert tls_api.connections == 1, f"the TLS handshake was tried {tls_api.connections} times"


# --- defect 6: verify ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("verify", [" ", "   ", "\t", " \n"], ids=["space", "spaces", "tab", "space-lf"])
@pytest.mark.parametrize("kind", ["create", "status", "async"])
def test_a_blank_verify_counts_as_unset_so_verification_stays_on(tls_api, monkeypatch, verify, kind):
    monkeypatch.setenv(CONN_ENV, tls_api.conn_json(verify=verify))
    with pytest.raises(Exception) as info:
        call(kind)
    assert_not_sent_error(info.value)
    assert "certificate" in str(info.value).lower(), str(info.value)
    assert tls_api.requests == [], "verification was off: the request reached the self-signed server"


@pytest.mark.parametrize("kind", ["create", "status", "async"])
def test_guard_an_empty_verify_counts_as_unset(tls_api, monkeypatch, kind):
    """Guard (the sync path passes today): an empty verify keeps verification on."""
    monkeypatch.setenv(CONN_ENV, tls_api.conn_json(verify=""))
    with pytest.raises(HadoopEcoError):
        call(kind)
    assert tls_api.requests == []


@pytest.mark.parametrize("kind", ["create", "status", "async"])
def test_a_missing_ca_file_is_a_config_error_naming_the_path(tls_api, tmp_path, monkeypatch, kind):
    missing = str(tmp_path / "no-such-dir" / "company-ca.pem")
    monkeypatch.setenv(CONN_ENV, tls_api.conn_json(verify=missing))
    with pytest.raises(Exception) as info:
        call(kind)
    assert isinstance(info.value, HadoopEcoConfigError), f"{type(info.value).__name__}: {info.value}"
    assert missing in str(info.value), str(info.value)
    assert tls_api.connections == 0


def test_a_missing_ca_file_ends_the_trigger_with_an_error_event_naming_the_path(
    tls_api, tmp_path, monkeypatch, fast_retries
):
    missing = str(tmp_path / "no-such-dir" / "company-ca.pem")
    monkeypatch.setenv(CONN_ENV, tls_api.conn_json(verify=missing))
    event = run_one_event(trigger(max_consecutive_errors=2))
    assert event["status"] == "error", event
    assert missing in event["message"], event["message"]
    assert tls_api.connections == 0


def test_a_missing_ca_file_fails_test_connection_naming_the_path(tls_api, tmp_path, monkeypatch):
    missing = str(tmp_path / "no-such-dir" / "company-ca.pem")
    monkeypatch.setenv(CONN_ENV, tls_api.conn_json(verify=missing, cluster_id=CLUSTER))
    ok, message = hook().test_connection()
    assert ok is False
    assert missing in message, message


@pytest.mark.parametrize("kind", ["create", "status", "async"])
def test_guard_the_servers_ca_file_is_trusted_by_both_transports(tls_api, monkeypatch, kind):
    """Guard (passes today): with verify = the server's CA file, sync and async both succeed."""
    monkeypatch.setenv(CONN_ENV, tls_api.conn_json(verify=tls_api.ca_path))
    call(kind)
    assert len(tls_api.requests) == 1


@pytest.mark.timeout(90)
def test_both_transports_trust_the_same_default_certificates(tls_api):
    """With the default verify, sync and async reach the same verdict about one certificate.

    ``SSL_CERT_FILE`` adds the test CA to OpenSSL's default trust store (what ``ssl.create_default_context``
    loads); a transport that uses another bundle (certifi) disagrees with one that uses the system store.
    Run in a fresh interpreter so that the variable is read when the TLS contexts are first built.
    """
    script = textwrap.dedent(
        f"""
        import asyncio, json, os, sys
        sys.path.insert(0, {str(REPO_ROOT / "tests")!r})
        from tests_support import conn_json
        os.environ["AIRFLOW_CONN_HADOOP_ECO_DEFAULT"] = conn_json({tls_api.url!r})
        from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

        def hook():
            return HadoopEcoHook(retry_limit=1, timeout=5, connect_timeout=2)

        outcome = {{}}
        try:
            hook().get_request_status("c-1", "req-1")
            outcome["sync"] = "ok"
        except Exception as err:
            outcome["sync"] = type(err).__name__ + ": " + str(err)[:200]

        async def go():
            try:
                await hook().aget_request_status("c-1", "req-1")
                return "ok"
            except Exception as err:
                return type(err).__name__ + ": " + str(err)[:200]
            finally:
                try:
                    from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session
                    await close_shared_session()
                except ImportError:
                    pass

        outcome["async"] = asyncio.run(go())
        print("OUTCOME " + json.dumps(outcome))
        """
    )
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["SSL_CERT_FILE"] = tls_api.ca_path
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=80,
        env=env,
        cwd=str(REPO_ROOT),
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("OUTCOME ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    outcome = json.loads(lines[-1][len("OUTCOME ") :])
    verdict = {k: v == "ok" for k, v in outcome.items()}
    assert verdict["sync"] == verdict["async"], f"the transports disagree about the certificate: {outcome}"


# --- defect 5: no cookie jar --------------------------------------------------------------------------------


def _cookie_server(api) -> None:
    def handler(request):
        code, headers, raw = ByMethod()(request)
        return code, {**headers, "Set-Cookie": "session=from-a-response; Path=/"}, raw

    api.handler = handler


def test_a_cookie_set_for_one_connection_is_never_sent_async(programmable_api, monkeypatch):
    """Two connections polled in one event loop: no request carries a cookie, least of all B's."""
    _cookie_server(programmable_api)
    url = programmable_api.url_for("localhost")  # aiohttp keeps no cookies for bare IP hosts
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_A", conn(url, login="access-key-of-a"))
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_B", conn(url, login="access-key-of-b"))

    async def poll_both():
        await hook(hadoop_eco_conn_id="hadoop_eco_a").aget_request_status(CLUSTER, "req-1")
        await hook(hadoop_eco_conn_id="hadoop_eco_b").aget_request_status(CLUSTER, "req-1")
        await hook(hadoop_eco_conn_id="hadoop_eco_a").aget_request_status(CLUSTER, "req-1")

    arun(poll_both())
    seen = [(r.headers.get("Credential-ID"), r.headers.get("Cookie")) for r in programmable_api.requests]
    assert [who for who, _ in seen] == ["access-key-of-a", "access-key-of-b", "access-key-of-a"]
    assert all(cookie is None for _, cookie in seen), f"cookies were sent back: {seen}"


def test_a_cookie_set_in_one_answer_is_not_sent_with_the_next_sync_call(programmable_api, monkeypatch):
    _cookie_server(programmable_api)
    monkeypatch.setenv(CONN_ENV, conn(programmable_api.url_for("localhost")))
    one = hook()
    one.get_request_status(CLUSTER, "req-1")
    one.get_request_status(CLUSTER, "req-1")
    one.create_cluster(CLUSTER)
    cookies = [r.headers.get("Cookie") for r in programmable_api.requests]
    assert cookies == [None, None, None], f"cookies were sent back: {cookies}"


# --- defect 13: any 2xx is a success and the body decides, except 202 on create ------------------------------


@pytest.mark.parametrize("code", [201, 203])
def test_a_create_answered_with_another_2xx_and_a_request_id_started_the_job(hadoop_eco_conn, code):
    hadoop_eco_conn.add(code, CREATED)
    assert hook().create_cluster(CLUSTER)["requestId"] == "req-1"
    assert len(hadoop_eco_conn.requests) == 1


# The documented 2xx rule (docs/failure-modes.md): a status call accepts only the documented 200; any other
# status, 2xx included, is an undocumented answer to a read (HadoopEcoUnexpectedStatusError, not retried).
# A create accepts any 2xx: 202 means busy, otherwise a requestId means started (above), and an answer it
# cannot follow (no body) is a response error saying the job may have started.


@pytest.mark.parametrize("code", [201, 202, 203])
@pytest.mark.parametrize("kind", ["status", "async"])
def test_a_status_answered_with_another_2xx_is_an_undocumented_status(hadoop_eco_conn, code, kind):
    hadoop_eco_conn.default = (code, {"Content-Type": "application/json"}, json.dumps(status(None)).encode())
    with pytest.raises(HadoopEcoUnexpectedStatusError, match=f"HTTP {code}"):
        call(kind)
    assert len(hadoop_eco_conn.requests) == 1, "an undocumented status is not retried"


@pytest.mark.parametrize("code", [201, 203])
def test_a_sensor_and_a_trigger_end_with_an_error_on_a_non_200_status(hadoop_eco_conn, code):
    done = json.dumps(status("Success", "Terminate")).encode()
    hadoop_eco_conn.default = (code, {"Content-Type": "application/json"}, done)
    with pytest.raises(HadoopEcoUnexpectedStatusError):
        HadoopEcoRequestSensor(task_id="s", cluster_id=CLUSTER, request_id="req-1").poke(make_context())
    event = run_one_event(trigger())
    assert event["status"] == "error" and f"HTTP {code}" in event["message"], event


@pytest.mark.parametrize("kind", ["status", "async"])
def test_a_status_answered_204_is_an_undocumented_status(hadoop_eco_conn, kind):
    hadoop_eco_conn.default = (204, {}, b"")
    with pytest.raises(HadoopEcoUnexpectedStatusError, match="HTTP 204"):
        call(kind)


def test_a_create_answered_204_without_a_body_is_a_response_error(hadoop_eco_conn, caplog):
    caplog.set_level(logging.DEBUG)
    hadoop_eco_conn.default = (204, {}, b"")
    with pytest.raises(Exception) as info:
        call("create")
    assert isinstance(info.value, HadoopEcoResponseError), f"{type(info.value).__name__}: {info.value}"
    assert "may have started" in str(info.value)


def test_guard_202_on_create_is_still_busy(hadoop_eco_conn):
    from airflow_provider_hadoop_eco.exceptions import HadoopEcoClusterBusyError

    hadoop_eco_conn.add(202, {"requestId": "req-0", "message": "in progress"})
    with pytest.raises(HadoopEcoClusterBusyError):
        hook().create_cluster(CLUSTER)
