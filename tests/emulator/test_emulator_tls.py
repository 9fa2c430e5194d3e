"""The emulator over HTTPS (``tls=True`` / ``--tls``): its throwaway certificate, trusted only through its CA path."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from airflow_provider_hadoop_eco.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_CLUSTER_ID,
    DEFAULT_CREDENTIAL_ID,
    DEFAULT_CREDENTIAL_SECRET,
    Emulator,
)

CREATE = f"/hadoop-eco/v1/cluster/{DEFAULT_CLUSTER_ID}"
HEADERS = {
    "Credential-ID": DEFAULT_CREDENTIAL_ID,
    "Credential-Secret": DEFAULT_CREDENTIAL_SECRET,
    "Hadoop-Eco-Api-Key": DEFAULT_API_KEY,
}


@pytest.fixture
def tls_emu():
    with Emulator(tls=True, time_scale=1000) as emu:
        yield emu


def _aiohttp_get(url: str, ssl_option: object) -> tuple[int, dict]:
    import aiohttp

    async def go() -> tuple[int, dict]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, ssl=ssl_option, timeout=aiohttp.ClientTimeout(total=10)) as r,
        ):
            return r.status, await r.json()

    return asyncio.run(go())


@pytest.mark.timeout(30)
def test_https_url_ca_path_and_connection_extra(tls_emu):
    assert tls_emu.url == f"https://127.0.0.1:{tls_emu.port}"
    ca = Path(tls_emu.ca_path)
    assert ca.is_file() and ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    key = next(p for p in ca.parent.iterdir() if p != ca)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    conn = tls_emu.conn_dict()
    assert conn["host"] == tls_emu.url
    assert conn["extra"] == {"api_key": "emulator-api-key", "verify": tls_emu.ca_path}
    assert json.loads(tls_emu.conn_json(region="kr-central-2"))["extra"] == {
        "api_key": "emulator-api-key",
        "region": "kr-central-2",
        "verify": tls_emu.ca_path,
    }
    env = tls_emu.conn_env("my_conn")
    assert json.loads(env["AIRFLOW_CONN_MY_CONN"])["extra"]["verify"] == tls_emu.ca_path


@pytest.mark.timeout(30)
def test_plain_emulator_has_no_ca_and_no_verify_extra():
    with Emulator() as emu:
        assert emu.url.startswith("http://") and emu.ca_path is None
        assert "verify" not in emu.conn_dict()["extra"]


@pytest.mark.timeout(30)
def test_requests_trusts_the_certificate_through_the_ca_path(tls_emu):
    # verify= on each call: requests lets REQUESTS_CA_BUNDLE override a session's own verify.
    ca = tls_emu.ca_path
    with requests.Session() as session:
        created = session.post(tls_emu.url + CREATE, json={}, headers=HEADERS, verify=ca, timeout=10)
        assert created.status_code == 200, created.text
        status_url = f"{tls_emu.url}{CREATE}/request-id/{created.json()['requestId']}"
        assert session.get(status_url, headers=HEADERS, verify=ca, timeout=10).status_code == 200
        # The certificate also names localhost.
        health = session.get(f"https://localhost:{tls_emu.port}/_emulator/health", verify=ca, timeout=10)
        assert health.json()["status"] == "ok"
    assert [r["method"] for r in tls_emu.requests] == ["POST", "GET"]


@pytest.mark.timeout(30)
def test_aiohttp_trusts_the_certificate_through_the_ca_path(tls_emu):
    context = ssl.create_default_context(cafile=tls_emu.ca_path)
    for host in ("127.0.0.1", "localhost"):
        status, body = _aiohttp_get(f"https://{host}:{tls_emu.port}/_emulator/health", context)
        assert (status, body["status"]) == (200, "ok")


@pytest.mark.timeout(30)
def test_untrusted_clients_fail(tls_emu):
    # Default trust (certifi for requests, the system store for aiohttp) does not know the certificate.
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(tls_emu.url + "/_emulator/health", timeout=10)
    import aiohttp

    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        _aiohttp_get(tls_emu.url + "/_emulator/health", True)
    # Nor does another emulator's certificate: each one is its own CA.
    with Emulator(tls=True) as other:
        assert other.ca_path != tls_emu.ca_path
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(tls_emu.url + "/_emulator/health", verify=other.ca_path, timeout=10)
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            _aiohttp_get(tls_emu.url + "/_emulator/health", ssl.create_default_context(cafile=other.ca_path))
    # Plain http to the TLS port gets no API answer.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls_emu.port}/_emulator/health", timeout=10)
    assert tls_emu.requests == []


@pytest.mark.timeout(30)
def test_certificate_is_deleted_on_stop_and_new_on_restart():
    emu = Emulator(tls=True)
    assert emu.ca_path is None  # made at start
    emu.start()
    try:
        first = Path(emu.ca_path)
        assert first.exists()
    finally:
        emu.stop()
    assert emu.ca_path is None and not first.parent.exists()
    with emu:
        assert Path(emu.ca_path).exists() and Path(emu.ca_path) != first
        assert requests.get(emu.url + "/_emulator/health", verify=emu.ca_path, timeout=10).ok


@pytest.mark.timeout(30)
def test_certificate_is_deleted_when_the_port_is_taken(tmp_path, monkeypatch):
    made: list[Path] = []
    from airflow_provider_hadoop_eco.emulator import server

    original = server.make_certificate

    def spy():
        files = original()
        made.append(files.folder)
        return files

    monkeypatch.setattr(server, "make_certificate", spy)
    with Emulator() as taken, pytest.raises(OSError):
        Emulator(tls=True, port=taken.port).start()
    assert len(made) == 1 and not made[0].exists()


@pytest.mark.timeout(60)
def test_provider_hook_trusts_the_emulator_through_the_connection(tls_emu, monkeypatch):
    """conn_env() alone is enough: the provider reads the CA path from the extra, sync and async."""
    from conftest_helpers import run_trigger

    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
    from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

    for name, value in tls_emu.conn_env().items():
        monkeypatch.setenv(name, value)
    started = HadoopEcoHook().create_cluster(tls_emu.cluster_id)
    request_id = started["requestId"]
    assert HadoopEcoHook().get_request_status(tls_emu.cluster_id, request_id).request_id == request_id
    event = run_trigger(
        HadoopEcoRequestTrigger(tls_emu.cluster_id, request_id, poll_interval=0.05, jitter_first_poll=False)
    )
    assert event["status"] == "success", event
    assert {r["method"] for r in tls_emu.requests} == {"POST", "GET"}


@pytest.mark.timeout(30)
def test_each_record_names_its_client_connection(tls_emu):
    url = tls_emu.url + "/_emulator/health"
    with requests.Session() as one, requests.Session() as two:
        for session in (one, one, two):
            session.post(tls_emu.url + CREATE, json={}, headers=HEADERS, verify=tls_emu.ca_path, timeout=10)
        assert requests.get(url, verify=tls_emu.ca_path, timeout=10).ok
    peers = [r["peer"] for r in tls_emu.requests]
    assert len(peers) == 3 and all(p.startswith("127.0.0.1:") for p in peers)
    assert peers[0] == peers[1] != peers[2]  # a keep-alive connection keeps its peer


@pytest.mark.timeout(60)
def test_cli_tls(spawn, wait_ready, tmp_path):
    ready = tmp_path / "ready.json"
    proc = spawn("--tls", "--port", "0", "--ready-file", str(ready))
    info = wait_ready(ready, proc)
    assert info["url"] == f"https://127.0.0.1:{info['port']}"
    ca = Path(info["ca_path"])
    assert ca.is_file()
    r = requests.post(info["url"] + CREATE, json={}, headers=HEADERS, verify=str(ca), timeout=10)
    assert r.status_code == 200, r.text
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(info["url"] + "/_emulator/health", timeout=10)
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert str(ca) in out
    export = next(line for line in out.splitlines() if line.startswith("export AIRFLOW_CONN_"))
    conn = json.loads(export.split("=", 1)[1].strip("'"))
    assert conn["host"] == info["url"]
    assert conn["extra"] == {"api_key": "emulator-api-key", "verify": str(ca)}
    assert not ca.exists() and not ca.parent.exists()  # the throwaway certificate is gone
    assert "Traceback" not in err


@pytest.mark.timeout(60)
def test_cli_without_tls_writes_a_null_ca_path(spawn, wait_ready, tmp_path):
    ready = tmp_path / "ready.json"
    proc = spawn("--port", "0", "--ready-file", str(ready), "--quiet")
    info = wait_ready(ready, proc)
    assert info["url"].startswith("http://") and info["ca_path"] is None
    os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=15)


@pytest.mark.hadoop_eco_emulator(tls=True)
@pytest.mark.timeout(30)
def test_fixture_marker_tls(hadoop_eco_emulator):
    assert hadoop_eco_emulator.url.startswith("https://127.0.0.1:")
    health = requests.get(
        hadoop_eco_emulator.url + "/_emulator/health", verify=hadoop_eco_emulator.ca_path, timeout=10
    )
    assert health.json()["status"] == "ok"


@pytest.mark.timeout(60)
def test_importing_the_emulator_stays_cheap():
    """Neither the package nor its tls module loads aiohttp or cryptography until a server or cert is made."""
    code = (
        "import sys, airflow_provider_hadoop_eco.emulator, airflow_provider_hadoop_eco.emulator.tls;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiohttp', 'cryptography'}))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
