"""The example DAGs import without errors and wire create -> deferrable sensor through XCom."""

from __future__ import annotations

from tests_support import REPO_ROOT


def test_example_dags_import_without_errors():
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 2

    bag = DagBag(dag_folder=str(REPO_ROOT / "example_dags"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"example_hadoop_eco_hive", "example_hadoop_eco_spark"}
    for dag_id, create_id, wait_id in (
        ("example_hadoop_eco_hive", "run_hive_job", "wait_for_hive_job"),
        ("example_hadoop_eco_spark", "run_spark_job", "wait_for_spark_job"),
    ):
        dag = bag.dags[dag_id]
        create, wait = dag.get_task(create_id), dag.get_task(wait_id)
        assert wait.task_id in create.downstream_task_ids
        assert wait.deferrable is True
        assert f"task_ids='{create_id}', key='request_id'" in wait.request_id
