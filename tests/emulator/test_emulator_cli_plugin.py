"""The ``hadoop-eco-emulator`` CLI (as a real subprocess) and the ``hadoop_eco_emulator`` pytest fixture."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import requests

from airflow_provider_hadoop_eco.emulator import DEFAULT_CLUSTER_ID, Emulator

CLI = [sys.executable, "-m", "airflow_provider_hadoop_eco.emulator"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_and_stops_cleanly(spawn, wait_ready, tmp_path, sig):
    ready = tmp_path / "ready.json"
    proc = spawn("--port", "0", "--ready-file", str(ready), "--duration", "0", "--outcome", "Failure")
    info = wait_ready(ready, proc)
    assert info["pid"] == proc.pid
    assert info["url"] == f"http://127.0.0.1:{info['port']}"
    headers = {
        "Credential-ID": "emulator-access-key",
        "Credential-Secret": "emulator-secret-key",
        "Hadoop-Eco-Api-Key": "emulator-api-key",
    }
    base = f"{info['url']}/hadoop-eco/v1/cluster/{DEFAULT_CLUSTER_ID}"
    r = requests.post(base, json={}, headers=headers, timeout=5)
    assert r.status_code == 200
    body = requests.get(f"{base}/request-id/{r.json()['requestId']}", headers=headers, timeout=5).json()
    assert (body["requestStatus"], body["requestResult"]) == ("Terminate", "Failure")
    os.kill(proc.pid, sig)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert info["url"] in out
    export = next(
        line for line in out.splitlines() if line.startswith("export AIRFLOW_CONN_HADOOP_ECO_DEFAULT=")
    )
    conn = json.loads(export.split("=", 1)[1].strip("'"))
    assert conn["host"] == info["url"]
    assert conn["extra"] == {"api_key": "emulator-api-key"}
    assert not ready.exists()  # removed on clean exit
    assert "Traceback" not in err


def test_cli_scenario_and_flags(spawn, wait_ready, tmp_path):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(
        json.dumps(
            {
                "time_scale": 1000,
                "clusters": [
                    {"cluster_id": "sc-1", "credential_id": "i", "credential_secret": "s", "api_key": "k"}
                ],
                "faults": [{"kind": "status", "code": 503, "method": "POST", "count": 1}],
            }
        )
    )
    ready = tmp_path / "ready.json"
    proc = spawn("--port", "0", "--scenario", str(scenario), "--ready-file", str(ready), "--quiet",
                 "--cluster-id", "sc-1", "--job-type", "spark", "--no-record")  # fmt: skip
    info = wait_ready(ready, proc)
    headers = {"Credential-ID": "i", "Credential-Secret": "s", "Hadoop-Eco-Api-Key": "k"}
    base = f"{info['url']}/hadoop-eco/v1/cluster/sc-1"
    assert requests.post(base, json={}, headers=headers, timeout=5).status_code == 503
    r = requests.post(base, json={}, headers=headers, timeout=5)
    assert r.status_code == 200
    assert r.json()["clusterMainSettingValues"]["jobType"] == "spark"
    state = requests.get(info["url"] + "/_emulator/state", timeout=5).json()
    assert state["time_scale"] == 1000 and state["record"] is False
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert out == ""  # --quiet


def test_cli_help_and_refuses_non_loopback():
    r = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert "--ready-file" in r.stdout and "--scenario" in r.stdout
    r = subprocess.run([*CLI, "--host", "0.0.0.0", "--port", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "loopback" in r.stderr


def test_cli_port_in_use_fails_cleanly():
    with Emulator(manual_clock=True) as emulator:
        r = subprocess.run([*CLI, "--port", str(emulator.port)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "cannot listen" in r.stderr


# ----------------------------------------------------------------------------------------- pytest fixture
def test_fixture_default(hadoop_eco_emulator):
    emu = hadoop_eco_emulator
    assert isinstance(emu, Emulator)
    assert emu.running
    assert emu.state.clock.time_scale == 100
    assert requests.get(emu.url + "/_emulator/health", timeout=5).json()["status"] == "ok"


@pytest.mark.hadoop_eco_emulator(manual_clock=True, clusters=[{"cluster_id": "m1", "outcomes": ["Failure"]}])
def test_fixture_marker(hadoop_eco_emulator):
    assert hadoop_eco_emulator.cluster_id == "m1"
    assert hadoop_eco_emulator.state.clock.manual


@pytest.mark.parametrize("hadoop_eco_emulator", [{"time_scale": 7}], indirect=True)
def test_fixture_indirect_param(hadoop_eco_emulator):
    assert hadoop_eco_emulator.state.clock.time_scale == 7


def test_fixture_conn_env(hadoop_eco_emulator_conn, hadoop_eco_emulator):
    assert hadoop_eco_emulator_conn == "hadoop_eco_default"
    assert json.loads(os.environ["AIRFLOW_CONN_HADOOP_ECO_DEFAULT"])["host"] == hadoop_eco_emulator.url


def test_fixture_in_fresh_pytest_process(tmp_path):
    """The plugin loads through its entry point, registers the marker and stops the server after the test."""
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            import pytest, requests

            URLS = []

            @pytest.mark.hadoop_eco_emulator(time_scale=1000)
            def test_a(hadoop_eco_emulator):
                emu = hadoop_eco_emulator
                URLS.append(emu.url)
                h = {"Credential-ID": "emulator-access-key", "Credential-Secret": "emulator-secret-key",
                     "Hadoop-Eco-Api-Key": "emulator-api-key"}
                r = requests.post(emu.url + "/hadoop-eco/v1/cluster/" + emu.cluster_id, json={}, headers=h)
                assert r.status_code == 200
                assert len(emu.posts()) == 1

            def test_b():
                with pytest.raises(requests.ConnectionError):
                    requests.get(URLS[0] + "/_emulator/health", timeout=2)
            """
        )
    )
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", "test_inner.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed" in r.stdout
