"""The ``clusterMeta`` object of a verbose status answer, shaped like the reference example.

Ids, flavors and the network are canned: clients should not depend on them, only on the shape and on the
values that follow the cluster and the run (names, job type, workers, exec options).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_hadoop_eco.emulator.model import ClusterConfig, Job

_VM = {
    "flavor_id": "9b944f27-12fd-4542-8073-e477931c9365",
    "flavor_name": "a1-4-std",
    "key_pair": "emulator-keypair",
}
_IMAGE_UUID = "99612215-f9c2-4914-9c76-c8567285675f"


# Functions, not constants: each answer gets its own objects, so mutating one cannot change the next.
def _network() -> dict[str, Any]:
    return {
        "uuid": "3541a58c-3930-4dcb-8785-0032ff926b80",
        "subnet_id": "be864742-c658-4f7f-8077-9b9138b86df1",
        "security_group_id_list": ["73e64d4f-cf71-4be5-8cd5-42e5cb5ccceb"],
    }


def _project() -> dict[str, Any]:
    return {
        "id": "353094e122d6493d9899f0f2523d4cc1",
        "name": "emulator-project",
        "domain": {"id": "982fc392699d4385b0b1a9d10b9f2393", "name": "emulator-domain"},
    }


def cluster_meta(config: ClusterConfig, job: Job, *, running: bool) -> dict[str, Any]:
    """``clusterMeta`` of ``job`` on the cluster ``config``; workers are listed only while it runs."""
    name = config.name
    master = f"HadoopMST-{name}-1"
    workers = min(int(job.settings.get("workerCnt", 1)), 1000)
    return {
        "cluster_version": config.cluster_version,
        "service_check_timeout": 10,
        "socket_timeout": 5,
        "global_timeout": 1500,
        "monitoring": False,
        "cluster_id": config.cluster_id,
        "cluster_name": name,
        "cluster_type": config.cluster_type,
        "project": _project(),
        "master_vm": {
            "host_list": [master],
            **_VM,
            "network": _network(),
            "block_device": {"source_type": "image", "uuid": _IMAGE_UUID, "volume_size": 50},
            "master_active": master,
            "master_standby": master,
            "master_etc": master,
        },
        "worker_vm": {
            "host_list": [f"HadoopWRK-{name}-{i}" for i in range(1, workers + 1)] if running else [],
            **_VM,
            "network": _network(),
            "block_device": {
                "source_type": "image",
                "uuid": _IMAGE_UUID,
                "volume_size": job.settings.get("workerVolumeSize", 50),
            },
        },
        "user_cluster_exec_command": {
            "type": config.job_type,
            "termination_policy": config.termination_policy,
            "hive_query": config.hive_query,
            "exec_opts": job.settings.get("userTaskExecOpts", ""),
            "exec_params": job.settings.get("userTaskExecParams", ""),
        },
    }
