"""The emulated Hadoop Eco API over real HTTP: status codes, validation, lifecycle, verbose output."""

from __future__ import annotations

import re

import pytest
import requests

from airflow_provider_hadoop_eco.emulator import DEFAULT_CLUSTER_ID, Emulator

REQ_ID = re.compile(r"^req-[0-9a-f]{32}$")


def test_default_cluster_is_documented_one(emu: Emulator):
    assert emu.cluster_id == DEFAULT_CLUSTER_ID == "58ceed05-e4f5-4a85-b9a6-e9b79ae8dcdf"
    cfg = emu.cluster()
    assert (cfg.name, cfg.job_type, cfg.credential_id, cfg.credential_secret, cfg.api_key) == (
        "hive-job-cluster", "hive", "emulator-access-key", "emulator-secret-key", "emulator-api-key",
    )  # fmt: skip


def test_post_200_documented_body(api, headers):
    r = api.post({"workerCnt": 3, "userTaskExecOpts": "--num-executors 4"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"clusterId", "clusterName", "requestId", "clusterMainSettingValues"}
    assert body["clusterId"] == DEFAULT_CLUSTER_ID
    assert body["clusterName"] == "hive-job-cluster"
    assert REQ_ID.match(body["requestId"])
    assert body["clusterMainSettingValues"] == {
        "workerCnt": 3,
        "workerVolumeSize": 50,
        "configHdfsReplication": 1,
        "configHdfsBlockSize": 128,
        "jobType": "hive",
        "userTaskDeployMode": None,
        "userTaskExecOpts": "--num-executors 4",
        "userTaskExecParams": "",
    }


@pytest.mark.parametrize("data", [None, b"", b"{}", b"  \n"])
def test_post_empty_body_means_no_change(api, data):
    r = api.post(data=data)
    assert r.status_code == 200, r.text
    assert r.json()["clusterMainSettingValues"]["workerCnt"] == 1


def test_post_all_fields_spark_cluster(emu: Emulator, make_api):
    emu.add_cluster(cluster_id="spark-1", name="spark-job", job_type="spark")
    api = make_api(cluster_id="spark-1")
    full = {
        "workerCnt": 1000,
        "workerVolumeSize": 5120,
        "configHdfsReplication": 500,
        "configHdfsBlockSize": 1024,
        "userTaskDeployMode": "client",
        "userTaskExecOpts": "--driver-cores 1",
        "userTaskExecParams": "-sparkApplicationParams=testParams",
    }
    r = api.post(full)
    assert r.status_code == 200, r.text
    settings = r.json()["clusterMainSettingValues"]
    assert settings == {**full, "jobType": "spark"}


def test_202_while_running_names_running_request(api, emu: Emulator):
    rid = api.start()
    r = api.post({})
    assert r.status_code == 202
    body = r.json()
    assert body["requestId"] == rid
    assert "in progress" in body["message"]
    assert len(emu.jobs()) == 1  # no second job was started
    emu.advance(30)
    r = api.post({})
    assert r.status_code == 200
    assert r.json()["requestId"] != rid
    assert len(emu.jobs()) == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("workerCnt", 0),
        ("workerCnt", 1001),
        ("workerCnt", "2"),
        ("workerCnt", True),
        ("workerCnt", 2.0),
        ("workerCnt", None),
        ("workerVolumeSize", 49),
        ("workerVolumeSize", 5121),
        ("workerVolumeSize", 5),
        ("configHdfsReplication", 0),
        ("configHdfsReplication", 501),
        ("configHdfsBlockSize", 0),
        ("configHdfsBlockSize", 1025),
        ("configHdfsBlockSize", False),
        ("userTaskDeployMode", "yarn"),
        ("userTaskDeployMode", "CLIENT"),
        ("userTaskDeployMode", None),
        ("userTaskExecOpts", 5),
        ("userTaskExecParams", ["a"]),
        ("jobType", "hive"),
        ("bogusKey", 1),
    ],
)
def test_post_400_names_the_field(api, emu: Emulator, field, value):
    r = api.post({field: value})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 400
    assert field in body["message"]
    assert emu.jobs() == []


@pytest.mark.parametrize(
    "data",
    [b"{", b'{"workerCnt": 2 "x": 1}', b"not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe"],
)
def test_post_400_invalid_json_or_not_object(api, emu: Emulator, data):
    r = api.post(data=data)
    assert r.status_code == 400
    assert r.json()["code"] == 400
    assert emu.jobs() == []


@pytest.mark.parametrize("missing", ["Credential-ID", "Credential-Secret", "Hadoop-Eco-Api-Key"])
def test_401_missing_header(api, missing, headers):
    headers = {k: v for k, v in headers.items() if k != missing}
    r = api.post({}, headers=headers)
    assert r.status_code == 401
    assert missing in r.json()["message"]
    rid_404 = api.get("req-" + "0" * 32, headers=headers)
    assert rid_404.status_code == 401


@pytest.mark.parametrize("header", ["Credential-ID", "Credential-Secret"])
def test_401_wrong_credentials(api, emu: Emulator, header, headers):
    rid = api.start()
    bad = {**headers, header: "wrong"}
    assert api.post({}, headers=bad).status_code == 401
    r = api.get(rid, headers=bad)
    assert r.status_code == 401
    assert r.json()["code"] == 401


def test_403_wrong_api_key(api, headers):
    rid = api.start()
    bad = {**headers, "Hadoop-Eco-Api-Key": "another-clusters-key"}
    r = api.post({}, headers=bad)
    assert r.status_code == 403
    assert r.json() == {"code": 403, "message": r.json()["message"]}
    assert api.get(rid, headers=bad).status_code == 403


def test_404_unknown_cluster_and_unknown_request(api, emu: Emulator):
    r = api.post({}, cluster_id="no-such-cluster")
    assert r.status_code == 404
    assert "no-such-cluster" in r.json()["message"]
    assert api.get("req-" + "0" * 32, cluster_id="no-such-cluster").status_code == 404
    r = api.get("req-" + "1" * 32)
    assert r.status_code == 404
    assert r.json()["code"] == 404


def test_request_ids_are_scoped_to_their_cluster(emu: Emulator, make_api):
    emu.add_cluster(cluster_id="other")
    a, b = make_api(), make_api(cluster_id="other")
    rid = a.start()
    assert b.get(rid).status_code == 404
    assert a.get(rid).status_code == 200


def test_per_cluster_credentials(emu: Emulator, make_api, headers):
    emu.add_cluster(cluster_id="c2", credential_id="id2", credential_secret="sec2", api_key="key2")
    headers2 = {"Credential-ID": "id2", "Credential-Secret": "sec2", "Hadoop-Eco-Api-Key": "key2"}
    api = make_api(cluster_id="c2", headers=headers2)
    assert api.post({}).status_code == 200
    assert api.post({}, headers=headers).status_code == 401  # default cluster's credentials
    assert make_api(headers=headers2).post({}).status_code == 401


def test_get_400_bad_verbose(api):
    rid = api.start()
    assert api.get(rid, verbose="maybe").status_code == 400
    for ok in ("true", "false", "null", "True"):
        assert api.get(rid, verbose=ok).status_code == 200


def test_unknown_route_is_json_404(api, emu: Emulator, headers):
    r = requests.get(emu.url + "/hadoop-eco/v1/cluster/" + emu.cluster_id, headers=headers, timeout=5)
    assert r.status_code == 404
    assert r.json()["code"] == 404


def test_lifecycle_progress_then_success(api, emu: Emulator):
    emu.update_cluster(duration=100, progress_statuses=["Pending", "Processing", "Running"])
    rid = api.start()
    seen = []
    for _ in range(5):
        body = api.get(rid).json()
        assert set(body) == {"clusterId", "clusterName", "requestId", "requestStatus", "requestResult"}
        seen.append((body["requestStatus"], body["requestResult"]))
        emu.advance(25)
    assert seen == [
        ("Pending", None),
        ("Pending", None),
        ("Processing", None),
        ("Running", None),
        ("Terminate", "Success"),
    ]


def test_outcomes_used_in_order_last_repeats(emu: Emulator, make_api):
    emu.update_cluster(duration=10, outcomes=["Failure", "Success", "Failure"])
    api = make_api()
    results = []
    for _ in range(5):
        rid = api.start()
        emu.advance(10)
        body = api.get(rid).json()
        assert body["requestStatus"] == "Terminate"
        results.append(body["requestResult"])
    assert results == ["Failure", "Success", "Failure", "Failure", "Failure"]


def test_zero_duration_is_immediately_terminal(emu: Emulator, make_api):
    emu.update_cluster(duration=0, outcomes=["Failure"])
    api = make_api()
    rid = api.start()
    assert api.get(rid).json()["requestResult"] == "Failure"
    assert api.post({}).status_code == 200  # nothing running any more


def test_verbose_shape_hive(api, emu: Emulator):
    rid = api.start({"userTaskExecOpts": "--hiveconf x=1", "userTaskExecParams": "p=1", "workerCnt": 2})
    body = api.get(rid, verbose="true").json()
    assert body["requestResult"] is None
    meta = body["clusterMeta"]
    assert set(meta) == {
        "cluster_version", "service_check_timeout", "socket_timeout", "global_timeout", "monitoring",
        "cluster_id", "cluster_name", "cluster_type", "project", "master_vm", "worker_vm",
        "user_cluster_exec_command",
    }  # fmt: skip
    assert meta["cluster_id"] == emu.cluster_id
    assert meta["cluster_name"] == "hive-job-cluster"
    assert set(meta["project"]) == {"id", "name", "domain"}
    assert set(meta["project"]["domain"]) == {"id", "name"}
    vm_keys = {"host_list", "flavor_id", "flavor_name", "key_pair", "network", "block_device"}
    assert set(meta["master_vm"]) == vm_keys | {"master_active", "master_standby", "master_etc"}
    assert set(meta["worker_vm"]) == vm_keys
    for vm in (meta["master_vm"], meta["worker_vm"]):
        assert set(vm["network"]) == {"uuid", "subnet_id", "security_group_id_list"}
        assert set(vm["block_device"]) == {"source_type", "uuid", "volume_size"}
    assert len(meta["worker_vm"]["host_list"]) == 2
    assert meta["user_cluster_exec_command"] == {
        "type": "hive",
        "termination_policy": "always",
        "hive_query": "show databases;",
        "exec_opts": "--hiveconf x=1",
        "exec_params": "p=1",
    }
    emu.advance(30)
    done = api.get(rid, verbose="true").json()
    assert (done["requestStatus"], done["requestResult"]) == ("Terminate", "Success")
    assert done["clusterMeta"]["worker_vm"]["host_list"] == []
    assert "clusterMeta" not in api.get(rid, verbose="false").json()


def test_verbose_spark_cluster_exec_command(emu: Emulator, make_api):
    emu.add_cluster(cluster_id="s1", name="spark-c", job_type="spark", termination_policy="onSuccess")
    api = make_api(cluster_id="s1")
    rid = api.start({"userTaskExecParams": "-sparkApplicationParams=x"})
    cmd = api.get(rid, verbose="true").json()["clusterMeta"]["user_cluster_exec_command"]
    assert cmd == {
        "type": "spark",
        "termination_policy": "onSuccess",
        "hive_query": None,
        "exec_opts": "",
        "exec_params": "-sparkApplicationParams=x",
    }


def test_submitted_settings_persist_for_next_run(api, emu: Emulator):
    api.start({"workerCnt": 7, "userTaskExecOpts": "o"})
    emu.advance(30)
    settings = api.post({}).json()["clusterMainSettingValues"]
    assert settings["workerCnt"] == 7
    assert settings["userTaskExecOpts"] == "o"
