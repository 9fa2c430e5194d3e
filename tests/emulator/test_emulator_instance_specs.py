"""``instanceSpecs`` in the create body: accepted in both dialects, echoed, drives the worker settings; validated."""

from __future__ import annotations

import copy

import pytest

from airflow_provider_hadoop_eco.emulator import ClusterConfig, Emulator

SPECS = [
    {"type": "MASTER", "nodeCnt": 1, "volumeSize": 100},
    {"type": "WORKER", "nodeCnt": 3, "volumeSize": 250},
    {"type": "TASK", "nodeCnt": 2, "volumeSize": 50},
]


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_accepted_echoed_and_drives_worker_settings(emu: Emulator, make_api, dialect):
    api = make_api(dialect=dialect)
    r = api.post({"instanceSpecs": SPECS, "configHdfsReplication": 2})
    assert r.status_code == 200, r.text
    values = r.json()["clusterMainSettingValues"]
    assert values == {
        "workerCnt": 3,
        "workerVolumeSize": 250,
        "configHdfsReplication": 2,
        "configHdfsBlockSize": 128,
        "jobType": "hive",
        "userTaskDeployMode": None,
        "userTaskExecOpts": "",
        "userTaskExecParams": "",
        "instanceSpecs": SPECS,
    }
    job = emu.jobs()[0]
    assert (job["settings"]["workerCnt"], job["settings"]["workerVolumeSize"]) == (3, 250)
    assert job["instanceSpecs"] == SPECS
    assert "instanceSpecs" not in job["settings"]
    meta = api.get(r.json()["requestId"], verbose="true").json()["clusterMeta"]
    assert meta["worker_vm"]["host_list"] == [f"HadoopWRK-hive-job-cluster-{i}" for i in (1, 2, 3)]
    assert meta["worker_vm"]["block_device"]["volume_size"] == 250


def test_worker_values_persist_but_specs_are_echoed_only_when_sent(emu: Emulator, make_api):
    api = make_api(dialect="v2")
    api.start({"instanceSpecs": [{"type": "WORKER", "nodeCnt": 5, "volumeSize": 60}]})
    emu.advance(30)
    values = api.post({}).json()["clusterMainSettingValues"]
    assert (values["workerCnt"], values["workerVolumeSize"]) == (5, 60)
    assert "instanceSpecs" not in values
    assert "instanceSpecs" not in emu.jobs()[1]


def test_specs_without_worker_entry_leave_workers_alone(emu: Emulator, make_api):
    api = make_api(dialect="v2")
    api.start({"workerCnt": 4})
    emu.advance(30)
    values = api.post({"instanceSpecs": [{"type": "MASTER", "nodeCnt": 1, "volumeSize": 80}]}).json()[
        "clusterMainSettingValues"
    ]
    assert (values["workerCnt"], values["workerVolumeSize"]) == (4, 50)
    assert values["instanceSpecs"] == [{"type": "MASTER", "nodeCnt": 1, "volumeSize": 80}]


def test_echo_is_a_copy(emu: Emulator, make_api):
    body = {"instanceSpecs": copy.deepcopy(SPECS)}
    api = make_api(dialect="v2")
    first = api.post(body).json()["clusterMainSettingValues"]["instanceSpecs"]
    first[0]["nodeCnt"] = 999
    assert emu.jobs()[0]["instanceSpecs"] == SPECS


def _with(index: int, **changes):
    specs = copy.deepcopy(SPECS)
    specs[index].update(changes)
    return specs


def _without(index: int, key: str):
    specs = copy.deepcopy(SPECS)
    del specs[index][key]
    return specs


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        ([], "instanceSpecs must be a non-empty list"),
        ({"type": "WORKER", "nodeCnt": 1, "volumeSize": 50}, "instanceSpecs must be a non-empty list"),
        (None, "instanceSpecs must be a non-empty list"),
        ("WORKER", "instanceSpecs must be a non-empty list"),
        ([SPECS[0], "WORKER"], "instanceSpecs[1] must be an object"),
        (_with(1, type="worker"), "instanceSpecs[1].type must be one of MASTER, WORKER, TASK"),
        (_with(0, type="CORE"), "instanceSpecs[0].type must be one of MASTER, WORKER, TASK"),
        (_with(2, type=None), "instanceSpecs[2].type must be one of"),
        (_with(1, nodeCnt=0), "instanceSpecs[1].nodeCnt must be between 1 and 1000, got 0"),
        (_with(1, nodeCnt=1001), "instanceSpecs[1].nodeCnt must be between 1 and 1000, got 1001"),
        (_with(1, nodeCnt=True), "instanceSpecs[1].nodeCnt must be an integer between 1 and 1000, got true"),
        (_with(1, nodeCnt="3"), 'instanceSpecs[1].nodeCnt must be an integer between 1 and 1000, got "3"'),
        (_with(0, nodeCnt=2.0), "instanceSpecs[0].nodeCnt must be an integer"),
        (_with(2, volumeSize=49), "instanceSpecs[2].volumeSize must be between 50 and 5120, got 49"),
        (_with(2, volumeSize=5121), "instanceSpecs[2].volumeSize must be between 50 and 5120, got 5121"),
        (_with(0, volumeSize=False), "instanceSpecs[0].volumeSize must be an integer between 50 and 5120"),
        (_with(1, flavor="a1-4-std"), "instanceSpecs[1]: unknown field(s) flavor"),
        (_without(1, "nodeCnt"), "instanceSpecs[1].nodeCnt is required"),
        (_without(0, "volumeSize"), "instanceSpecs[0].volumeSize is required"),
        (_without(2, "type"), "instanceSpecs[2].type is required"),
        (
            [*SPECS, {"type": "WORKER", "nodeCnt": 1, "volumeSize": 50}],
            "instanceSpecs[3].type WORKER is a duplicate of instanceSpecs[1]",
        ),
    ],
)
@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_invalid_specs_rejected_naming_entry_and_field(emu: Emulator, make_api, dialect, specs, expected):
    r = make_api(dialect=dialect).post({"instanceSpecs": specs})
    assert r.status_code == 400
    assert r.json()["code"] == 400
    assert expected in r.json()["message"]
    assert emu.jobs() == []
    assert emu.cluster().settings["workerCnt"] == 1


@pytest.mark.parametrize(
    "flat", [{"workerCnt": 3}, {"workerVolumeSize": 250}, {"workerCnt": 3, "workerVolumeSize": 250}]
)
def test_specs_with_flat_worker_settings_is_ambiguous(emu: Emulator, make_api, flat):
    r = make_api(dialect="v2").post({"instanceSpecs": SPECS, **flat})
    assert r.status_code == 400
    message = r.json()["message"]
    assert "ambiguous" in message
    assert "instanceSpecs" in message
    for key in flat:
        assert key in message
    assert emu.jobs() == []


def test_specs_with_other_flat_settings_is_fine(make_api):
    r = make_api(dialect="v2").post(
        {"instanceSpecs": SPECS, "configHdfsBlockSize": 256, "userTaskExecOpts": "x"}
    )
    assert r.status_code == 200
    assert r.json()["clusterMainSettingValues"]["configHdfsBlockSize"] == 256


def test_not_a_cluster_setting():
    """A cluster's defaults are the flat settings; instanceSpecs belongs to one create call."""
    with pytest.raises(ValueError, match="instanceSpecs"):
        ClusterConfig.from_dict({"cluster_id": "c", "settings": {"instanceSpecs": SPECS}})
    with pytest.raises(ValueError, match="instanceSpecs"):
        ClusterConfig.from_dict({"cluster_id": "c", "instanceSpecs": SPECS})
