"""Request record (with redaction), clocks, the admin API, scenarios and the Python API helpers."""

from __future__ import annotations

import json
import time

import pytest
import requests

from airflow_provider_hadoop_eco.emulator import (
    DEFAULT_CLUSTER_ID,
    ClusterConfig,
    Emulator,
    EmulatorState,
    create_app,
    load_scenario,
)


def test_record_redacts_secrets(emu: Emulator, make_api):
    emu.add_cluster(
        cluster_id="c9", credential_id="id9", credential_secret="TOP-SECRET-9", api_key="API-KEY-9"
    )
    api = make_api(
        cluster_id="c9",
        headers={
            "Credential-ID": "id9",
            "Credential-Secret": "TOP-SECRET-9",
            "Hadoop-Eco-Api-Key": "API-KEY-9",
        },
    )
    rid = api.start({"workerCnt": 2})
    api.get(rid, verbose="true")
    api.post(
        {}, headers={"Credential-ID": "id9", "Credential-Secret": "wrong-secret", "Hadoop-Eco-Api-Key": "x"}
    )
    records = emu.requests
    assert len(records) == 3
    dumped = json.dumps(records) + json.dumps(requests.get(emu.url + "/_emulator/requests", timeout=5).json())
    dumped += json.dumps(requests.get(emu.url + "/_emulator/state", timeout=5).json())
    for secret in ("TOP-SECRET-9", "API-KEY-9", "wrong-secret", "emulator-secret-key", "emulator-api-key"):
        assert secret not in dumped
    post = records[0]
    assert post["method"] == "POST"
    assert post["path"] == "/hadoop-eco/v1/cluster/c9"
    assert post["body"] == {"workerCnt": 2}
    assert post["status"] == 200
    assert post["headers"]["Credential-ID"] == "id9"
    assert post["headers"]["Credential-Secret"] == "***redacted***"
    assert post["headers"]["Hadoop-Eco-Api-Key"] == "***redacted***"
    assert isinstance(post["timestamp"], float)
    get = records[1]
    assert get["query"] == {"verbose": "true"}
    assert get["body"] is None
    assert records[2]["status"] == 401


def test_record_helpers_filter(emu: Emulator, make_api):
    emu.add_cluster(cluster_id="b")
    a, b = make_api(), make_api(cluster_id="b")
    ra = a.start()
    b.start()
    a.get(ra)
    a.get(ra)
    a.post(data=b"not json")
    assert len(emu.posts()) == 3
    assert len(emu.posts(cluster_id="b")) == 1
    assert len(emu.gets()) == 2
    assert len(emu.gets(request_id=ra)) == 2
    assert emu.gets(cluster_id="b") == []
    assert emu.posts(DEFAULT_CLUSTER_ID)[-1]["body"] == "not json"  # raw text kept when not JSON
    emu.clear_requests()
    assert emu.requests == []


def test_record_disabled_and_bounded(make_api):
    with Emulator(manual_clock=True, record=False) as emulator:
        make_api(emulator=emulator).start()
        assert emulator.requests == []
    with Emulator(manual_clock=True, max_records=3) as emulator:
        api = make_api(emulator=emulator)
        rid = api.start()
        for _ in range(5):
            api.get(rid)
        assert len(emulator.requests) == 3
        assert all(r["method"] == "GET" for r in emulator.requests)


def test_time_scale(make_api):
    with Emulator(time_scale=100) as emulator:
        emulator.update_cluster(duration=20)  # 0.2 s of real time
        api = make_api(emulator=emulator)
        rid = api.start()
        assert api.get(rid).json()["requestResult"] is None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            body = api.get(rid).json()
            if body["requestStatus"] == "Terminate":
                break
            time.sleep(0.02)
        assert (body["requestStatus"], body["requestResult"]) == ("Terminate", "Success")
        assert emulator.now >= 20


def test_manual_clock_only_moves_when_advanced(api, emu: Emulator):
    rid = api.start()
    time.sleep(0.2)
    assert emu.now == 0
    assert api.get(rid).json()["requestStatus"] == "Pending"
    assert emu.advance(29.9) == pytest.approx(29.9)
    assert api.get(rid).json()["requestResult"] is None
    emu.advance(0.1)
    assert api.get(rid).json()["requestResult"] == "Success"
    with pytest.raises(ValueError):
        emu.advance(-1)


def test_admin_health_state_advance_clusters_reset(api, emu: Emulator):
    base = emu.url + "/_emulator"
    health = requests.get(base + "/health", timeout=5).json()
    assert health["status"] == "ok" and health["clusters"] == 1
    r = requests.post(
        base + "/clusters",
        json={"cluster_id": "adm", "name": "n", "job_type": "spark", "duration": 5, "outcomes": ["Failure"],
              "workerCnt": 4},
        timeout=5,
    )  # fmt: skip
    assert r.status_code == 201
    assert r.json()["clusters"][0]["settings"]["workerCnt"] == 4
    assert requests.post(base + "/clusters", json={"job_type": "pig"}, timeout=5).status_code == 400
    assert requests.post(base + "/clusters", json={"bogus": 1}, timeout=5).status_code == 400
    rid = api.start()
    r = requests.post(base + "/advance", json={"seconds": 30}, timeout=5)
    assert r.json()["now"] == 30
    assert requests.post(base + "/advance", json={"seconds": "x"}, timeout=5).status_code == 400
    assert requests.post(base + "/advance", data=b"{", timeout=5).status_code == 400
    state = requests.get(base + "/state", timeout=5).json()
    assert {c["cluster_id"] for c in state["clusters"]} == {DEFAULT_CLUSTER_ID, "adm"}
    default = next(c for c in state["clusters"] if c["cluster_id"] == DEFAULT_CLUSTER_ID)
    assert default["jobs"][0]["requestId"] == rid
    assert default["jobs"][0]["requestStatus"] == "Terminate"
    assert default["credential_secret"] == "***redacted***"
    reqs = requests.get(base + "/requests", params={"method": "POST", "limit": 1}, timeout=5).json()
    assert len(reqs) == 1 and reqs[0]["method"] == "POST"
    assert requests.delete(base + "/requests", timeout=5).status_code == 200
    assert emu.requests == []
    assert requests.post(base + "/reset", timeout=5).status_code == 200
    assert emu.jobs() == []
    assert list(emu.state.clusters) == [DEFAULT_CLUSTER_ID]
    assert emu.now == 0
    assert api.get(rid).status_code == 404  # forgotten


def test_scenario_yaml_and_json(tmp_path, make_api):
    yaml_file = tmp_path / "s.yaml"
    yaml_file.write_text(
        "time_scale: 50\n"
        "manual_clock: true\n"
        "clusters:\n"
        "  - cluster_id: y1\n    name: yaml-cluster\n    job_type: spark\n    duration: 10\n"
        "    outcomes: [Failure, Success]\n    credential_id: a\n    credential_secret: b\n    api_key: c\n"
        "faults:\n  - kind: rate_limit\n    retry_after: 5\n    method: GET\n"
    )
    data = load_scenario(yaml_file)
    assert data["clusters"][0]["cluster_id"] == "y1"
    with Emulator.from_scenario(yaml_file) as emulator:
        api = make_api(
            emulator=emulator,
            headers={"Credential-ID": "a", "Credential-Secret": "b", "Hadoop-Eco-Api-Key": "c"},
        )
        assert emulator.cluster_id == "y1"
        rid = api.start()
        assert api.get(rid).status_code == 429
        emulator.advance(10)
        assert api.get(rid).json()["requestResult"] == "Failure"
    json_file = tmp_path / "s.json"
    json_file.write_text(json.dumps({"clusters": [{"cluster_id": "j1", "duration": 1}]}))
    with Emulator.from_scenario(json_file, manual_clock=True) as emulator:
        assert emulator.cluster().duration == 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"clusterz": []}))
    with pytest.raises(ValueError, match="clusterz"):
        load_scenario(bad)


def test_cluster_config_validation():
    with pytest.raises(ValueError):
        ClusterConfig(job_type="pig")
    with pytest.raises(ValueError):
        ClusterConfig(outcomes=["Maybe"])
    with pytest.raises(ValueError):
        ClusterConfig(settings={"workerCnt": 0})
    with pytest.raises(ValueError):
        ClusterConfig.from_dict({"unknown": 1})
    assert ClusterConfig(job_type="spark").hive_query is None
    assert ClusterConfig(job_type="Spark").settings["userTaskDeployMode"] == "cluster"


def test_non_loopback_refused():
    for host in ("0.0.0.0", "192.168.1.10", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            Emulator(host=host)


def test_conn_json_and_env(emu: Emulator):
    conn = json.loads(emu.conn_json())
    assert conn == {
        "conn_type": "hadoop_eco",
        "host": emu.url,
        "login": "emulator-access-key",
        "password": "emulator-secret-key",
        "extra": {"api_key": "emulator-api-key"},
    }
    assert emu.url.startswith("http://127.0.0.1:") and emu.port > 0
    env = emu.conn_env("my_conn")
    assert list(env) == ["AIRFLOW_CONN_MY_CONN"]
    assert json.loads(env["AIRFLOW_CONN_MY_CONN"]) == conn


def test_stop_closes_port_and_is_idempotent():
    emulator = Emulator(manual_clock=True).start()
    url = emulator.url
    assert requests.get(url + "/_emulator/health", timeout=5).status_code == 200
    emulator.stop()
    emulator.stop()
    assert not emulator.running
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/_emulator/health", timeout=2)


def test_create_app_in_existing_loop():
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    async def scenario() -> None:
        state = EmulatorState(manual_clock=True)
        async with TestClient(TestServer(create_app(state))) as client:
            headers = {
                "Credential-ID": "emulator-access-key",
                "Credential-Secret": "emulator-secret-key",
                "Hadoop-Eco-Api-Key": "emulator-api-key",
            }
            resp = await client.post(f"/hadoop-eco/v1/cluster/{DEFAULT_CLUSTER_ID}", json={}, headers=headers)
            assert resp.status == 200
            rid = (await resp.json())["requestId"]
            state.advance(60)
            resp = await client.get(
                f"/hadoop-eco/v1/cluster/{DEFAULT_CLUSTER_ID}/request-id/{rid}", headers=headers
            )
            assert (await resp.json())["requestResult"] == "Success"

    asyncio.run(scenario())


def test_many_concurrent_pollers(make_api):
    """A smoke check that concurrent clients are served (the real load test lives in benchmarks/)."""
    from concurrent.futures import ThreadPoolExecutor

    with Emulator(time_scale=1000, record=False) as emulator:
        emulator.update_cluster(duration=0)
        api = make_api(emulator=emulator)
        rid = api.start()
        url = api.get_url(rid)

        def poll(_: int) -> int:
            with requests.Session() as s:
                return sum(s.get(url, headers=api.headers, timeout=10).status_code == 200 for _ in range(10))

        with ThreadPoolExecutor(32) as pool:
            assert sum(pool.map(poll, range(64))) == 640
