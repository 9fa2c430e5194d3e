"""Both API dialects (v1 = kr-central-1, v2 = kr-central-2) from one state; strict mode; the dialect record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from airflow_provider_hadoop_eco.emulator import DEFAULT_CLUSTER_ID, Emulator, EmulatorState, load_scenario
from airflow_provider_hadoop_eco.emulator.cli import build_parser, build_state

V1 = f"/hadoop-eco/v1/cluster/{DEFAULT_CLUSTER_ID}"
V2 = f"/v2/hadoop-eco/clusters/{DEFAULT_CLUSTER_ID}"


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_each_dialect_creates_and_polls(emu: Emulator, make_api, dialect):
    api = make_api(dialect=dialect)
    r = api.post({"workerCnt": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["clusterId"] == DEFAULT_CLUSTER_ID
    assert body["clusterMainSettingValues"]["workerCnt"] == 2
    rid = body["requestId"]
    first = api.get(rid)
    assert first.status_code == 200
    assert (first.json()["requestStatus"], first.json()["requestResult"]) == ("Pending", None)
    emu.advance(30)
    done = api.get(rid, verbose="true").json()
    assert (done["requestStatus"], done["requestResult"]) == ("Terminate", "Success")
    assert done["clusterMeta"]["cluster_id"] == DEFAULT_CLUSTER_ID
    prefix = V1 if dialect == "v1" else V2
    assert emu.paths() == [prefix, f"{prefix}/request-id/{rid}", f"{prefix}/request-id/{rid}"]
    assert emu.dialects_used() == {dialect}


@pytest.mark.parametrize(("create", "poll"), [("v2", "v1"), ("v1", "v2")])
def test_cross_dialect_polling(emu: Emulator, make_api, create, poll):
    rid = make_api(dialect=create).start()
    poller = make_api(dialect=poll)
    assert poller.get(rid).json()["requestId"] == rid
    # One state: the run started through one dialect blocks a second create through the other one.
    second = poller.post({})
    assert second.status_code == 202
    assert second.json()["requestId"] == rid
    emu.advance(30)
    assert poller.get(rid).json()["requestResult"] == "Success"
    assert len(emu.jobs()) == 1
    assert [r["dialect"] for r in emu.requests] == [create, poll, poll, poll]


def test_each_request_records_its_dialect(emu: Emulator, make_api, headers):
    v1, v2 = make_api(dialect="v1"), make_api(dialect="v2")
    rid = v2.start()
    v1.get(rid)
    v2.get(rid, verbose="true")
    v2.post(data=b"not json")  # a 400 still has a dialect
    requests.get(emu.url + V2, headers=headers, timeout=5)  # GET on a create path: no such endpoint
    requests.get(emu.url + "/v3/hadoop-eco/clusters/x", timeout=5)
    records = emu.requests
    assert [(r["method"], r["status"], r["dialect"]) for r in records] == [
        ("POST", 200, "v2"),
        ("GET", 200, "v1"),
        ("GET", 200, "v2"),
        ("POST", 400, "v2"),
        ("GET", 404, None),
        ("GET", 404, None),
    ]
    assert emu.dialects_used() == {"v1", "v2"}
    assert [r["path"] for r in emu.posts(dialect="v2")] == [V2, V2]
    assert emu.posts(dialect="v1") == []
    assert len(emu.gets(request_id=rid)) == 2  # matches the status paths of both dialects
    assert [r["dialect"] for r in emu.gets(request_id=rid, dialect="v2")] == ["v2"]
    assert emu.paths(method="GET", dialect="v1") == [f"{V1}/request-id/{rid}"]
    via_admin = requests.get(emu.url + "/_emulator/requests", params={"dialect": "v1"}, timeout=5).json()
    assert [r["path"] for r in via_admin] == [f"{V1}/request-id/{rid}"]


def test_faults_apply_to_v2_requests(emu: Emulator, make_api):
    api = make_api(dialect="v2")
    emu.inject_fault("status", code=503, method="POST")
    r = api.post({})
    assert r.status_code == 503
    assert emu.requests[-1]["fault"] == "status"
    assert emu.requests[-1]["dialect"] == "v2"
    assert api.post({}).status_code == 200


@pytest.mark.parametrize(("served", "off"), [("v1", "v2"), ("v2", "v1")])
def test_strict_dialect_404s_the_other_and_records_it(make_api, served, off):
    with Emulator(manual_clock=True, dialects=(served,)) as emulator:
        assert emulator.dialects == (served,)
        good, bad = make_api(emulator=emulator, dialect=served), make_api(emulator=emulator, dialect=off)
        emulator.inject_fault("status", code=500)  # must not be used up by the refused request
        r = bad.post({"workerCnt": 2})
        assert r.status_code == 404
        path = V1 if off == "v1" else V2
        assert r.json()["code"] == 404
        assert path in r.json()["message"]
        assert f"dialect {off} is switched off" in r.json()["message"]
        assert emulator.jobs() == []
        assert good.post({}).status_code == 500  # the fault is still pending
        rid = good.start()
        status = bad.get(rid)
        assert status.status_code == 404
        assert f"{path}/request-id/{rid}" in status.json()["message"]
        assert good.get(rid).status_code == 200
        records = emulator.requests
        assert [(r["dialect"], r["status"], r["fault"]) for r in records] == [
            (off, 404, None),
            (served, 500, "status"),
            (served, 200, None),
            (off, 404, None),
            (served, 200, None),
        ]
        assert records[0]["body"] == {"workerCnt": 2}
        assert records[0]["cluster_id"] == DEFAULT_CLUSTER_ID
        assert emulator.dialects_used() == {"v1", "v2"}  # what the client tried, served or not


def test_dialect_selection_forms():
    assert EmulatorState().dialects == ("v1", "v2")
    assert EmulatorState(dialects="both").dialects == ("v1", "v2")
    assert EmulatorState(dialects="v2").dialects == ("v2",)
    assert EmulatorState(dialects=["v2", "v1", "v2"]).dialects == ("v1", "v2")
    for bad in ("v3", ["v1", "kr-central-2"], [], "V1"):
        with pytest.raises(ValueError, match="dialect"):
            EmulatorState(dialects=bad)
    snapshot = EmulatorState(dialects="v1").snapshot()
    assert snapshot["dialects"] == ["v1"]


def test_scenario_key(tmp_path: Path, make_api):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("manual_clock: true\ndialects: [v2]\n")
    assert load_scenario(scenario)["dialects"] == ["v2"]
    with Emulator.from_scenario(scenario) as emulator:
        assert emulator.dialects == ("v2",)
        assert make_api(emulator=emulator, dialect="v1").post({}).status_code == 404
        assert make_api(emulator=emulator, dialect="v2").post({}).status_code == 200
        state = requests.get(emulator.url + "/_emulator/state", timeout=5).json()
        assert state["dialects"] == ["v2"]
    with Emulator.from_scenario({"dialects": "v1"}, manual_clock=True) as emulator:
        assert emulator.dialects == ("v1",)
    with pytest.raises(ValueError, match="v9"):
        load_scenario({"dialects": "v9"})


def test_conn_region_extra(emu: Emulator):
    assert "region" not in emu.conn_dict()["extra"]
    assert emu.conn_dict(region=None)["extra"] == {"api_key": "emulator-api-key"}
    conn = emu.conn_dict(region="kr-central-2")
    assert conn["extra"] == {"api_key": "emulator-api-key", "region": "kr-central-2"}
    assert conn["host"] == emu.url
    assert json.loads(emu.conn_json(region="kr-central-2")) == conn
    env = emu.conn_env("c2", region="kr-central-2")
    assert json.loads(env["AIRFLOW_CONN_C2"])["extra"]["region"] == "kr-central-2"


@pytest.mark.hadoop_eco_emulator(dialects=("v2",))
def test_fixture_marker_dialects(hadoop_eco_emulator):
    assert hadoop_eco_emulator.dialects == ("v2",)


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_dialect_flag_overrides_scenario(tmp_path: Path):
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"dialects": ["v1"]}))
    parser = build_parser()
    assert build_state(parser.parse_args([])).dialects == ("v1", "v2")
    assert build_state(parser.parse_args(["--scenario", str(scenario)])).dialects == ("v1",)
    assert build_state(parser.parse_args(["--scenario", str(scenario), "--dialect", "v2"])).dialects == (
        "v2",
    )
    assert build_state(parser.parse_args(["--scenario", str(scenario), "--dialect", "both"])).dialects == (
        "v1",
        "v2",
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["--dialect", "v3"])


def test_cli_strict_v2_subprocess(tmp_path: Path):
    ready = tmp_path / "ready.json"
    cmd = [sys.executable, "-m", "airflow_provider_hadoop_eco.emulator", "--port", "0", "--dialect", "v2",
           "--ready-file", str(ready), "--duration", "0"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "ready file never appeared"
            time.sleep(0.05)
        url = json.loads(ready.read_text())["url"]
        headers = {
            "Credential-ID": "emulator-access-key",
            "Credential-Secret": "emulator-secret-key",
            "Hadoop-Eco-Api-Key": "emulator-api-key",
        }
        refused = requests.post(url + V1, json={}, headers=headers, timeout=5)
        assert refused.status_code == 404
        assert V1 in refused.json()["message"]
        r = requests.post(url + V2, json={}, headers=headers, timeout=5)
        assert r.status_code == 200
        rid = r.json()["requestId"]
        assert requests.get(f"{url}{V2}/request-id/{rid}", headers=headers, timeout=5).json()[
            "requestResult"
        ] == ("Success")
        recorded = requests.get(url + "/_emulator/requests", timeout=5).json()
        assert [(x["dialect"], x["status"]) for x in recorded] == [("v1", 404), ("v2", 200), ("v2", 200)]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "dialect v2: POST /v2/hadoop-eco/clusters/{cluster_id}" in out
    assert "dialect v1" not in out
    export = next(
        line for line in out.splitlines() if line.startswith("export AIRFLOW_CONN_HADOOP_ECO_DEFAULT=")
    )
    conn = json.loads(export.split("=", 1)[1].strip("'"))
    assert conn["extra"] == {"api_key": "emulator-api-key", "region": "kr-central-2"}
