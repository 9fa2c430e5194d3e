"""Fixtures of the end-to-end tests (helpers and constants live in ``e2e_support``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from airflow_harness import AirflowEnv, airflow_python
from e2e_support import E2E, airflow_env_overrides


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def migrated_homes(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], tuple[str, Path]]:
    """``get(major) -> (python, home)``: an AIRFLOW_HOME migrated once per Airflow version per session."""
    cache: dict[int, tuple[str, Path]] = {}

    def get(major: int) -> tuple[str, Path]:
        if major not in cache:
            python = airflow_python(major)
            home = tmp_path_factory.mktemp(f"airflow{major}-template")
            env = AirflowEnv(python=python, home=home, extra_env=airflow_env_overrides(major))
            env.migrate()
            cache[major] = (python, home)
        return cache[major]

    return get


@pytest.fixture
def e2e_factory(
    migrated_homes: Callable[[int], tuple[str, Path]], tmp_path: Path
) -> Iterator[Callable[[int], E2E]]:
    """``make(major) -> E2E`` with its own AIRFLOW_HOME copy; emulators are stopped after the test."""
    made: list[E2E] = []

    def make(major: int) -> E2E:
        python, template = migrated_homes(major)
        home = tmp_path / f"airflow{major}-home-{len(made)}"
        shutil.copytree(template, home)
        e2e = E2E(python=python, home=home, major=major)
        made.append(e2e)
        return e2e

    yield make
    for e2e in made:
        e2e.close()
