"""Both API regions against an emulator strict to one dialect: the exact paths each connection uses."""

from __future__ import annotations

import json

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from conftest_helpers import run_trigger
from fake_context import make_context

from airflow_provider_hadoop_eco.emulator import Emulator
from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.operators.hadoop_eco import HadoopEcoCreateClusterOperator
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor

V1 = "/hadoop-eco/v1/cluster/{cluster}"
V2 = "/v2/hadoop-eco/clusters/{cluster}"
DIALECT_OF_REGION = {None: ("v1", V1), "kr-central-1": ("v1", V1), "kr-central-2": ("v2", V2)}


@pytest.fixture
def strict_emulator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """An emulator that serves one dialect only, and ``hadoop_eco_default`` pointed at it in a region."""
    region = request.param
    dialect, prefix = DIALECT_OF_REGION[region]
    with Emulator(manual_clock=True, dialects=(dialect,)) as emu:
        monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", emu.conn_json(region=region))
        yield emu, prefix.format(cluster=emu.cluster_id)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("strict_emulator", [None, "kr-central-2"], indirect=True)
def test_create_then_deferred_sensor_uses_only_the_regions_paths(strict_emulator):
    emu, prefix = strict_emulator
    created = HadoopEcoCreateClusterOperator(task_id="create", cluster_id=emu.cluster_id).execute(
        make_context()
    )
    request_id = created["requestId"]
    sensor = HadoopEcoRequestSensor(
        task_id="wait", cluster_id=emu.cluster_id, request_id=request_id, deferrable=True, poke_interval=0.05
    )
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(make_context())
    emu.advance(10_000)  # the job ends; the trigger sees it on its next poll
    event = run_trigger(info.value.trigger)
    assert event["status"] == "success", event
    assert sensor.execute_complete(make_context(), event)["requestResult"] == "Success"

    status = f"{prefix}/request-id/{request_id}"
    paths = [(r["method"], r["path"], r["query"].get("verbose")) for r in emu.requests]
    assert paths[0] == ("POST", prefix, None)
    assert set(paths[1:]) <= {("GET", status, "false"), ("GET", status, "true")}, paths
    assert ("GET", status, "true") in paths, "one verbose call at the end"
    assert all(r["status"] != 404 for r in emu.requests), "a strict emulator refused a path"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("strict_emulator", ["kr-central-2"], indirect=True)
def test_the_other_dialect_is_refused_by_a_strict_emulator(strict_emulator, monkeypatch):
    emu, _ = strict_emulator
    # Proof that the strict emulator can tell: a kr-central-1 connection to the same emulator gets 404.
    monkeypatch.setenv("AIRFLOW_CONN_V1", emu.conn_json())
    with pytest.raises(Exception, match="HTTP 404"):
        HadoopEcoHook("v1").create_cluster(emu.cluster_id)
    assert emu.posts() == [] or all(p["status"] == 404 for p in emu.posts())


@pytest.mark.timeout(30)
@pytest.mark.parametrize("strict_emulator", [None], indirect=True)
def test_path_overrides_follow_the_api_without_a_release(strict_emulator, monkeypatch):
    emu, _ = strict_emulator  # serves v1 only
    conn = json.loads(emu.conn_json(region="kr-central-2"))
    # A kr-central-2 connection whose paths were overridden back to v1's shape reaches the v1-only emulator.
    conn["extra"].update(
        create_path="/hadoop-eco/v1/cluster/{cluster_id}",
        status_path="/hadoop-eco/v1/cluster/{cluster_id}/request-id/{request_id}",
    )
    monkeypatch.setenv("AIRFLOW_CONN_OVERRIDE", json.dumps(conn))
    hook = HadoopEcoHook("override")
    created = hook.create_cluster(emu.cluster_id)
    status = hook.get_request_status(emu.cluster_id, created["requestId"])
    assert status.request_status is not None
    assert {r["dialect"] for r in emu.requests} == {"v1"}


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"create_path": "v2/clusters/{cluster_id}"}, "must start with '/'"),
        ({"create_path": "/v2/clusters"}, "must contain {cluster_id}"),
        ({"create_path": "/v2/{cluster_id}/{request_id}"}, "no other braces"),
        ({"status_path": "/v2/clusters/{cluster_id}"}, "{cluster_id} and {request_id}"),
        ({"status_path": "/v2/{cluster_id}/{request_id}/{x}"}, "no other braces"),
        ({"status_path": "/v2/{cluster_id}/{request_id}?x=1"}, "without spaces, '?'"),
        ({"create_path": "/v2/{cluster_id}}"}, "no other braces"),
        ({"region": "kr-central-9"}, "must be one of kr-central-1, kr-central-2"),
    ],
)
def test_bad_path_templates_and_regions_are_clear_errors_before_any_call(
    hadoop_eco_conn, monkeypatch, extra, words
):
    conn = {
        "conn_type": "hadoop_eco",
        "host": hadoop_eco_conn.url,
        "login": "id",
        "password": "secret",
        "extra": {"api_key": "key", **extra},
    }
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", json.dumps(conn))
    with pytest.raises(HadoopEcoConfigError) as info:
        HadoopEcoHook().create_cluster("c-1")
    assert words in str(info.value)
    assert hadoop_eco_conn.requests == []


@pytest.mark.parametrize(
    ("conn", "region", "base_url", "create_path"),
    [
        (
            {},
            "kr-central-1",
            "https://hadoop-eco.kr-central-1.kakaoi.io",
            "/hadoop-eco/v1/cluster/{cluster_id}",
        ),
        (
            {"extra": {"region": "kr-central-2"}},
            "kr-central-2",
            "https://hadoop-eco.kr-central-2.kakaocloud.com",
            "/v2/hadoop-eco/clusters/{cluster_id}",
        ),
        (
            {"host": "https://hadoop-eco.kr-central-2.kakaocloud.com"},
            "kr-central-2",
            "https://hadoop-eco.kr-central-2.kakaocloud.com",
            "/v2/hadoop-eco/clusters/{cluster_id}",
        ),
        (
            {"host": "https://gateway.example.com/kakao", "extra": {"region": "kr-central-2"}},
            "kr-central-2",
            "https://gateway.example.com/kakao",
            "/v2/hadoop-eco/clusters/{cluster_id}",
        ),
    ],
)
def test_region_sets_default_host_and_paths_and_a_host_still_wins(
    monkeypatch, conn, region, base_url, create_path
):
    extra = {"api_key": "key", **conn.get("extra", {})}
    document = {"conn_type": "hadoop_eco", "login": "id", "password": "secret", **conn, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_HADOOP_ECO_DEFAULT", json.dumps(document))
    endpoint = HadoopEcoHook().credentials.endpoint
    assert (endpoint.region, endpoint.base_url, endpoint.create_path) == (region, base_url, create_path)
    assert endpoint.create_url("c-1") == base_url + create_path.format(cluster_id="c-1")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("strict_emulator", [None, "kr-central-2"], indirect=True)
def test_connection_test_works_in_both_regions(strict_emulator, monkeypatch):
    emu, prefix = strict_emulator
    conn = json.loads(emu.conn_json(region=None if prefix.startswith("/hadoop-eco/v1") else "kr-central-2"))
    conn["extra"]["cluster_id"] = emu.cluster_id
    monkeypatch.setenv("AIRFLOW_CONN_TESTED", json.dumps(conn))
    ok, message = HadoopEcoHook("tested").test_connection()
    assert ok, message
    [probe] = emu.requests
    assert probe["method"] == "GET" and probe["path"].startswith(prefix + "/request-id/")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("strict_emulator", ["kr-central-2"], indirect=True)
def test_instance_specs_reach_the_body(strict_emulator):
    emu, _ = strict_emulator
    specs = [
        {"type": "MASTER", "nodeCnt": 1, "volumeSize": 50},
        {"type": "WORKER", "nodeCnt": "3", "volumeSize": 100},
    ]
    task = HadoopEcoCreateClusterOperator(
        task_id="create", cluster_id=emu.cluster_id, instance_specs=specs, hdfs_replication=2
    )
    answer = task.execute(make_context())
    [post] = emu.posts()
    assert post["body"] == {
        "instanceSpecs": [
            {"type": "MASTER", "nodeCnt": 1, "volumeSize": 50},
            {"type": "WORKER", "nodeCnt": 3, "volumeSize": 100},
        ],
        "configHdfsReplication": 2,
    }
    assert answer["clusterMainSettingValues"]["workerCnt"] == 3


@pytest.mark.parametrize(
    ("specs", "extra", "words"),
    [
        (
            [{"type": "WORKER", "nodeCnt": 0, "volumeSize": 50}],
            {},
            "instance_specs[0].nodeCnt must be an integer",
        ),
        ([{"type": "GPU", "nodeCnt": 1, "volumeSize": 50}], {}, "instance_specs[0].type must be one of"),
        (
            [
                {"type": "MASTER", "nodeCnt": 1, "volumeSize": 50},
                {"type": "WORKER", "nodeCnt": 1, "volumeSize": 49},
            ],
            {},
            "instance_specs[1].volumeSize must be an integer from 50 to 5120",
        ),
        (
            [{"type": "WORKER", "nodeCnt": 1, "volumeSize": 50, "x": 1}],
            {},
            "instance_specs[0] has unknown field",
        ),
        (
            [
                {"type": "WORKER", "nodeCnt": 1, "volumeSize": 50},
                {"type": "WORKER", "nodeCnt": 1, "volumeSize": 50},
            ],
            {},
            "instance_specs[1].type WORKER is given twice",
        ),
        ([], {}, "must be a non-empty list"),
        ({"type": "WORKER"}, {}, "must be a non-empty list"),
        ([{"type": "WORKER", "nodeCnt": 2, "volumeSize": 50}], {"worker_count": 2}, "give only one"),
        ([{"type": "WORKER", "nodeCnt": 2, "volumeSize": 50}], {"worker_volume_size": 60}, "give only one"),
    ],
)
def test_bad_instance_specs_fail_before_any_call(hadoop_eco_conn, specs, extra, words):
    with pytest.raises(HadoopEcoConfigError) as info:
        HadoopEcoCreateClusterOperator(task_id="create", cluster_id="c-1", instance_specs=specs, **extra)
    assert words in str(info.value)
    # The same checks once a template rendered the value, before any HTTP call.
    task = HadoopEcoCreateClusterOperator(
        task_id="create", cluster_id="c-1", instance_specs="{{ params.specs }}", **extra
    )
    task.instance_specs = specs
    with pytest.raises(HadoopEcoConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        task.execute(make_context())
    assert hadoop_eco_conn.requests == []
