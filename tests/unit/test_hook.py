"""The hook over real HTTP against a scripted local fake: exact requests, every status, config errors."""

from __future__ import annotations

import asyncio
import json

import pytest
from tests_support import ACCESS_KEY_ID, CANARY_API_KEY, CANARY_SECRET, conn_json

from airflow_provider_hadoop_eco import __version__
from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoAuthError,
    HadoopEcoBadRequestError,
    HadoopEcoClusterBusyError,
    HadoopEcoConfigError,
    HadoopEcoConnectError,
    HadoopEcoJobMayHaveStartedError,
    HadoopEcoNotFoundError,
    HadoopEcoRateLimitError,
    HadoopEcoResponseError,
    HadoopEcoServerError,
    HadoopEcoTransportError,
    HadoopEcoUnexpectedStatusError,
)
from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

CLUSTER = "58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf"
CREATED = {
    "clusterId": CLUSTER,
    "clusterName": "test-cluster",
    "requestId": "req-f02cf9abc130410ab365e77511db4318",
    "clusterMainSettingValues": {"workerCnt": 1, "jobType": "hive"},
}
STATUS = {
    "clusterId": CLUSTER,
    "clusterName": "test-cluster",
    "requestId": "req-1",
    "requestStatus": "Terminate",
    "requestResult": "Success",
}


def fast_hook(**kwargs) -> HadoopEcoHook:
    return HadoopEcoHook(retry_delay=0.01, retry_max_delay=0.05, timeout=5, connect_timeout=2, **kwargs)


def arun(coro):
    async def wrapper():
        try:
            return await coro
        finally:
            await close_shared_session()

    return asyncio.run(wrapper())


def test_create_sends_exact_url_headers_and_only_given_settings(hadoop_eco_conn):
    hadoop_eco_conn.add(200, CREATED)
    result = fast_hook().create_cluster(
        CLUSTER,
        worker_count=3,
        hdfs_block_size="128",
        deploy_mode="cluster",
        exec_opts="--x 1",
        exec_params=None,
    )
    assert result == CREATED
    [req] = hadoop_eco_conn.requests
    assert req.method == "POST"
    assert req.path == f"/hadoop-eco/v1/cluster/{CLUSTER}"
    assert json.loads(req.body) == {
        "workerCnt": 3,
        "configHdfsBlockSize": 128,
        "userTaskDeployMode": "cluster",
        "userTaskExecOpts": "--x 1",
    }
    assert req.headers["Credential-ID"] == ACCESS_KEY_ID
    assert req.headers["Credential-Secret"] == CANARY_SECRET
    assert req.headers["Hadoop-Eco-Api-Key"] == CANARY_API_KEY
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["User-Agent"].startswith(f"airflow-provider-hadoop-eco/{__version__} apache-airflow/")


def test_create_without_settings_sends_an_empty_object(hadoop_eco_conn):
    hadoop_eco_conn.add(200, CREATED)
    fast_hook().create_cluster(CLUSTER)
    assert json.loads(hadoop_eco_conn.requests[0].body) == {}


def test_status_get_exact_url_and_verbose(hadoop_eco_conn):
    hadoop_eco_conn.add(200, STATUS).add(200, STATUS)
    hook = fast_hook()
    assert hook.get_request_status(CLUSTER, "req-1") == STATUS
    hook.get_request_status(CLUSTER, "req-1", verbose=True)
    paths = [r.path for r in hadoop_eco_conn.requests]
    assert paths == [
        f"/hadoop-eco/v1/cluster/{CLUSTER}/request-id/req-1?verbose=false",
        f"/hadoop-eco/v1/cluster/{CLUSTER}/request-id/req-1?verbose=true",
    ]
    assert all(
        r.method == "GET" and r.headers["Hadoop-Eco-Api-Key"] == CANARY_API_KEY
        for r in hadoop_eco_conn.requests
    )


def test_async_status_sends_the_same_request(hadoop_eco_conn):
    hadoop_eco_conn.add(200, STATUS)
    assert arun(fast_hook().aget_request_status(CLUSTER, "req-1", verbose=True)) == STATUS
    [req] = hadoop_eco_conn.requests
    assert req.path == f"/hadoop-eco/v1/cluster/{CLUSTER}/request-id/req-1?verbose=true"
    assert req.headers["Credential-Secret"] == CANARY_SECRET
    assert req.headers["User-Agent"].startswith("airflow-provider-hadoop-eco/")


@pytest.mark.parametrize(
    ("status", "exc", "words"),
    [
        (202, HadoopEcoClusterBusyError, "already in progress"),
        (400, HadoopEcoBadRequestError, "rejected the request as invalid"),
        (401, HadoopEcoAuthError, "Authentication failed"),
        (403, HadoopEcoAuthError, "Open API key"),
        (404, HadoopEcoNotFoundError, "Not found"),
        (418, HadoopEcoUnexpectedStatusError, "undocumented HTTP status"),
        (429, HadoopEcoRateLimitError, "rate limiting"),
        (500, HadoopEcoJobMayHaveStartedError, "MAY HAVE STARTED"),
        (502, HadoopEcoJobMayHaveStartedError, "MAY HAVE STARTED"),
        (302, HadoopEcoUnexpectedStatusError, "not followed"),
    ],
)
def test_create_status_codes_each_get_a_clear_error(hadoop_eco_conn, status, exc, words):
    hadoop_eco_conn.add(
        status,
        {"message": f"server says {status} {CANARY_SECRET}"},
        headers={"Location": "http://evil.example/x"},
    )
    with pytest.raises(exc) as info:
        fast_hook().create_cluster(CLUSTER)
    text = str(info.value)
    assert words in text
    assert CLUSTER in text
    assert str(status) in text
    assert CANARY_SECRET not in text
    # a POST is never repeated after it reached the server
    assert len(hadoop_eco_conn.requests) == 1


@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (400, HadoopEcoBadRequestError),
        (401, HadoopEcoAuthError),
        (403, HadoopEcoAuthError),
        (404, HadoopEcoNotFoundError),
        (202, HadoopEcoUnexpectedStatusError),
        (418, HadoopEcoUnexpectedStatusError),
    ],
)
def test_status_errors_are_not_retried_and_name_the_cluster(hadoop_eco_conn, status, exc):
    hadoop_eco_conn.add(status, {"error": "nope"})
    with pytest.raises(exc, match=CLUSTER):
        fast_hook().get_request_status(CLUSTER, "req-1")
    assert len(hadoop_eco_conn.requests) == 1


def test_status_retries_5xx_429_and_drops_then_succeeds(hadoop_eco_conn):
    api = hadoop_eco_conn
    api.add(503, raw=b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
    api.add(429, {"m": "slow down"}, headers={"Retry-After": "0"})
    api.add_drop()
    api.add(200, STATUS)
    assert fast_hook(retry_limit=5).get_request_status(CLUSTER, "req-1") == STATUS
    assert len(api.requests) == 4


def test_async_status_retries_transient_errors(hadoop_eco_conn):
    api = hadoop_eco_conn
    api.add(502, raw=b"<html>Bad Gateway</html>").add(429, {}, headers={"Retry-After": "0"}).add(200, STATUS)
    assert arun(fast_hook().aget_request_status(CLUSTER, "req-1")) == STATUS
    assert len(api.requests) == 3


def test_status_gives_up_after_retry_limit_with_the_last_error(hadoop_eco_conn):
    for _ in range(3):
        hadoop_eco_conn.add(500, raw=b"<html>oops</html>")
    with pytest.raises(HadoopEcoServerError, match="HTTP 500"):
        fast_hook(retry_limit=3).get_request_status(CLUSTER, "req-1")
    assert len(hadoop_eco_conn.requests) == 3


def test_retry_after_is_honoured(hadoop_eco_conn, monkeypatch):
    import time

    hadoop_eco_conn.add(429, {}, headers={"Retry-After": "1"}).add(200, STATUS)
    start = time.monotonic()
    fast_hook().get_request_status(CLUSTER, "req-1")
    assert time.monotonic() - start >= 0.9


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"not json at all", "not JSON"),
        (b"<html>200 but html</html>", "not JSON"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b'{"requestStatus": 5}', "requestStatus"),
        (b'{"requestResult": ["x"]}', "requestResult"),
        (b'{"requestId": "req-other"}', "another request"),
        (b"x" * (2 * 1024 * 1024), "larger than"),
    ],
)
def test_malformed_status_bodies_raise_response_errors(hadoop_eco_conn, raw, words):
    hadoop_eco_conn.add(200, raw=raw)
    with pytest.raises(HadoopEcoResponseError, match=words):
        fast_hook().get_request_status(CLUSTER, "req-1")


def test_create_answer_without_request_id_is_an_error_that_says_the_job_may_have_started(hadoop_eco_conn):
    hadoop_eco_conn.add(200, {"clusterId": CLUSTER})
    with pytest.raises(HadoopEcoResponseError, match="may have started"):
        fast_hook().create_cluster(CLUSTER)


def test_connection_refused_is_retried_for_post_because_nothing_was_sent(monkeypatch):
    from tests_support import closed_port

    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", conn_json(f"http://127.0.0.1:{closed_port()}"))
    attempts = []
    hook = fast_hook(retry_limit=3)
    original = hook._send

    def counting(*args, **kwargs):
        attempts.append(1)
        return original(*args, **kwargs)

    hook._send = counting
    with pytest.raises(HadoopEcoConnectError, match="not sent"):
        hook.create_cluster(CLUSTER)
    assert len(attempts) == 3


def test_read_timeout_on_post_says_the_job_may_have_started(hadoop_eco_conn):
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        conn, _ = server.accept()
        accepted.append(conn)
        conn.recv(65536)  # read the request, never answer

    threading.Thread(target=accept, daemon=True).start()
    import os

    os.environ["AIRFLOW_CONN_HADOOP_ECO_DEFAULT"] = conn_json(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(HadoopEcoJobMayHaveStartedError, match="MAY HAVE STARTED"):
            HadoopEcoHook(timeout=0.5, retry_delay=0.01).create_cluster(CLUSTER)
        assert len(accepted) == 1
    finally:
        for conn in accepted:
            conn.close()
        server.close()


@pytest.mark.parametrize(
    ("conn", "words"),
    [
        ({"login": "", "password": "p", "extra": {"api_key": "k"}}, "Login"),
        ({"login": "id", "password": "", "extra": {"api_key": "k"}}, "Password"),
        ({"login": "id", "password": "p", "extra": {}}, "api_key"),
        ({"login": "id", "password": "p", "extra": {"api_key": None}}, "api_key"),
        (
            {"login": "id", "password": "p", "host": "http://hadoop.example.com", "extra": {"api_key": "k"}},
            "plain http",
        ),
        ({"login": "id", "password": "p", "host": "ftp://x", "extra": {"api_key": "k"}}, "base URL"),
    ],
)
def test_bad_connections_are_refused_before_any_request(monkeypatch, conn, words):
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", json.dumps({"conn_type": "hadoop_eco", **conn}))
    with pytest.raises(HadoopEcoConfigError, match=words):
        fast_hook().get_request_status(CLUSTER, "req-1")


def test_credentials_accept_legacy_prefix_nulls_default_host_and_plain_host(monkeypatch):
    from airflow_provider_hadoop_eco.defaults import DEFAULT_REGION, REGIONS

    DEFAULT_BASE_URL = REGIONS[DEFAULT_REGION].base_url

    monkeypatch.setenv(
        "AIRFLOW_CONN_HADOOP_ECO_DEFAULT",
        json.dumps(
            {
                "conn_type": "hadoop_eco",
                "login": "id",
                "password": "p",
                "extra": {"api_key": None, "extra__hadoop_eco__api_key": "legacy", "verify": None},
            }
        ),
    )
    creds = HadoopEcoHook().credentials
    assert creds.api_key == "legacy"
    assert creds.base_url == DEFAULT_BASE_URL
    assert creds.verify is True
    assert "legacy" not in repr(creds) and "'p'" not in repr(creds)

    monkeypatch.setenv(
        "AIRFLOW_CONN_HADOOP_ECO_DEFAULT",
        json.dumps(
            {
                "conn_type": "hadoop_eco",
                "host": "hadoop.example.com",
                "port": 8443,
                "login": "id",
                "password": "p",
                "extra": {"api_key": "k", "verify": "false"},
            }
        ),
    )
    creds = HadoopEcoHook().credentials
    assert creds.base_url == "https://hadoop.example.com:8443"
    assert creds.verify is False


def test_plain_http_to_a_remote_host_is_allowed_only_when_asked(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HADOOP_ECO_DEFAULT",
        json.dumps(
            {
                "conn_type": "hadoop_eco",
                "host": "http://hadoop.internal:8080",
                "login": "id",
                "password": "p",
                "extra": {"api_key": "k", "allow_insecure_http": True},
            }
        ),
    )
    assert HadoopEcoHook().credentials.base_url == "http://hadoop.internal:8080"


@pytest.mark.parametrize("bad", ["", "  ", None, "a/b", "x?y", 5])
def test_bad_ids_are_refused_before_any_request(hadoop_eco_conn, bad):
    with pytest.raises(HadoopEcoConfigError):
        fast_hook().get_request_status(bad, "req-1")
    with pytest.raises(HadoopEcoConfigError):
        fast_hook().get_request_status(CLUSTER, bad)
    with pytest.raises(HadoopEcoConfigError):
        fast_hook().create_cluster(bad)
    assert hadoop_eco_conn.requests == []


def test_test_connection_never_posts(hadoop_eco_conn):
    hadoop_eco_conn.add(404, {"message": "request not found"})
    ok, message = fast_hook().test_connection()
    assert not ok and "could not be checked" in message, "no cluster_id: a 404 proves nothing"
    assert [r.method for r in hadoop_eco_conn.requests] == ["GET"]
    hadoop_eco_conn.add(401, {"message": "bad creds"})
    ok, message = fast_hook().test_connection()
    assert not ok and "Authentication failed" in message
    assert CANARY_SECRET not in message


def test_transport_error_on_status_mentions_cluster(monkeypatch):
    from tests_support import closed_port

    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", conn_json(f"http://127.0.0.1:{closed_port()}"))
    with pytest.raises(HadoopEcoTransportError, match=CLUSTER):
        fast_hook(retry_limit=2).get_request_status(CLUSTER, "req-1")
    with pytest.raises(HadoopEcoTransportError, match=CLUSTER):
        arun(fast_hook(retry_limit=2).aget_request_status(CLUSTER, "req-1"))
