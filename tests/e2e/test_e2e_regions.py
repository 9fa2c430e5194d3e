"""``airflow dags test`` of the Hive example DAG in each API region, against an emulator strict to its dialect.

With ``{"region": "kr-central-2"}`` every call must go to ``/v2/hadoop-eco/clusters/...``; with no region,
to ``/hadoop-eco/v1/cluster/...``. The emulator answers 404 to the other dialect, so a wrong path fails the
run as well as the path assertions.
"""

from __future__ import annotations

import pytest
from e2e_support import (
    HIVE_CLUSTER_ID,
    HIVE_CLUSTER_NAME,
    HIVE_DAG,
    assert_deferred_and_triggered,
    assert_no_canary,
    hive_cluster,
    hive_env,
)

# The default region's paths are asserted by test_e2e_dags_test.py (only_post); its emulator serves both.
REGIONS = [
    pytest.param("kr-central-2", "v2", f"/v2/hadoop-eco/clusters/{HIVE_CLUSTER_ID}", id="kr-central-2"),
    pytest.param("kr-central-1", "v1", f"/hadoop-eco/v1/cluster/{HIVE_CLUSTER_ID}", id="kr-central-1"),
]


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("major", "region", "dialect", "prefix"),
    # Each region on one Airflow version: the path logic is the provider's own, not Airflow's.
    [
        pytest.param(3, *REGIONS[0].values, id="airflow3-kr-central-2"),
        pytest.param(2, *REGIONS[1].values, id="airflow2-kr-central-1-strict"),
    ],
)
def test_hive_dag_in_each_region_uses_only_its_paths(e2e_factory, major, region, dialect, prefix) -> None:
    e2e = e2e_factory(major)
    emu = e2e.emulator(hive_cluster(), dialects=(dialect,))

    run = e2e.dags_test(HIVE_DAG, hive_env(emu, region=region))

    assert run.returncode == 0, run.describe()
    [job] = emu.jobs(HIVE_CLUSTER_ID)
    request_id = job["requestId"]
    status_path = f"{prefix}/request-id/{request_id}"
    seen = [(r["method"], r["path"]) for r in emu.requests]
    assert seen[0] == ("POST", prefix), seen
    assert {path for method, path in seen[1:]} == {status_path}, seen
    assert all(r["method"] == "GET" for r in emu.requests[1:]), seen
    assert emu.dialects_used() == {dialect}
    assert_deferred_and_triggered(run, HIVE_CLUSTER_NAME, HIVE_CLUSTER_ID, request_id)
    assert_no_canary(e2e)
