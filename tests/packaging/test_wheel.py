"""Build the distributions the way a release would, and install the wheel where nothing else is installed.

* ``python -m build`` makes an sdist and, from that sdist, a wheel (so the sdist is complete);
* ``twine check`` accepts both (metadata and README render on PyPI);
* the wheel carries ``py.typed``, the entry points and no tests;
* a fresh, empty virtual environment (no system site-packages) gets the wheel plus Airflow 3.3.2 from the
  registry (pip's cache is reused, the venv is not); there Airflow discovers the provider, lists the
  ``hadoop_eco`` hook, and the ``hadoop-eco-emulator`` command runs.

The build works on a copy of the source tree, so it never writes ``build/`` or egg-info into the checkout.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_harness import REPO

pytestmark = [pytest.mark.e2e]

AIRFLOW_VERSION = os.environ.get("HADOOP_ECO_PACKAGING_AIRFLOW", "3.3.2")
DIST_NAME = "airflow-provider-hadoop-eco"
# Not part of a release: never copied into the build tree.
IGNORED = shutil.ignore_patterns(
    ".git", ".venvs", ".venv", "artifacts", ".demo", "build", "dist", "*.egg-info", "__pycache__",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "*.pyc",
)  # fmt: skip


def _version() -> str:
    text = (REPO / "airflow_provider_hadoop_eco" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert match, "no __version__ in airflow_provider_hadoop_eco/__init__.py"
    return match.group(1)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "PYTHON", "HADOOP_ECO_", "VIRTUAL_ENV"))
    }
    env.update({"PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra})
    return env


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stdout[-6000:]}"
    return proc.stdout


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        message = f"the {module!r} package is needed (it is in the [dev] extra)"
        if os.environ.get("HADOOP_ECO_REQUIRE_ALL") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    _require("build")
    _require("twine")
    assert (REPO / "README.md").is_file(), (
        "README.md is missing: pyproject.toml names it as the long description"
    )
    root = tmp_path_factory.mktemp("packaging")
    src = root / "src"
    shutil.copytree(REPO, src, ignore=IGNORED)
    out = root / "dist"
    _run(sys.executable, "-m", "build", "--outdir", out, src, cwd=root, env=_clean_env())
    wheels = list(out.glob("*.whl"))
    sdists = list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    yield {"wheel": wheels[0], "sdist": sdists[0], "root": root}


def test_distribution_names_and_twine_check(dists: dict[str, Path]) -> None:
    version = _version()
    assert dists["wheel"].name == f"airflow_provider_hadoop_eco-{version}-py3-none-any.whl"
    assert dists["sdist"].name == f"airflow_provider_hadoop_eco-{version}.tar.gz"
    twine = [sys.executable, "-m", "twine", "check", "--strict"]
    output = _run(*twine, dists["wheel"], dists["sdist"], cwd=dists["root"], env=_clean_env())
    assert output.count("PASSED") == 2, output


def test_wheel_contents(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = wheel.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = configparser.ConfigParser()
        entry_points.read_string(wheel.read(f"{dist_info}/entry_points.txt").decode())
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
    assert "airflow_provider_hadoop_eco/py.typed" in names
    for module in (
        "get_provider_info.py",
        "hooks/hadoop_eco.py",
        "operators/hadoop_eco.py",
        "sensors/hadoop_eco.py",
        "triggers/hadoop_eco.py",
        "links/hadoop_eco.py",
        "emulator/cli.py",
    ):
        assert f"airflow_provider_hadoop_eco/{module}" in names, module
    assert not [n for n in names if n.startswith(("tests/", "example_dags/", "benchmarks/", "scripts/"))]
    assert entry_points["apache_airflow_provider"]["provider_info"] == (
        "airflow_provider_hadoop_eco.get_provider_info:get_provider_info"
    )
    assert (
        entry_points["console_scripts"]["hadoop-eco-emulator"]
        == "airflow_provider_hadoop_eco.emulator.cli:main"
    )
    assert f"Name: {DIST_NAME}" in metadata
    assert "Requires-Dist: apache-airflow>=2.11" in metadata
    assert "Description-Content-Type: text/markdown" in metadata
    # apache-airflow-providers-common-compat needs Python 3.11; only what is tested is claimed.
    assert "Requires-Python: >=3.11" in metadata
    pythons = sorted(re.findall(r"^Classifier: Programming Language :: Python :: (3\.\d+)$", metadata, re.M))
    assert pythons == ["3.11"], pythons

    with tarfile.open(dists["sdist"]) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    for required in ("pyproject.toml", "README.md", "airflow_provider_hadoop_eco/py.typed", "PKG-INFO"):
        assert required in members, required


def test_wheel_installs_into_a_fresh_venv(dists: dict[str, Path]) -> None:
    root = dists["root"]
    venv = root / "venv"
    # A new, empty venv (no system site-packages, not even pip: the running pip installs into it through
    # --python, which saves seeding pip). Dependencies come from the registry, through pip's usual cache.
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root, env=_clean_env())
    cfg = (venv / "pyvenv.cfg").read_text()
    assert re.search(r"include-system-site-packages\s*=\s*false", cfg), cfg
    python = venv / "bin" / "python"
    list_dists = "import importlib.metadata as m; print(sorted(d.name for d in m.distributions()))"
    empty = _run(python, "-c", list_dists, cwd=root, env=_clean_env())
    assert empty.strip() == "[]", empty

    # --no-compile: byte-compiling all of Airflow at install time costs more than the few modules used here.
    uv = Path(sys.executable).parent / "uv"
    if uv.exists():  # the dev extra brings uv: the same install, in seconds instead of minutes
        pip = [uv, "pip", "install", "-q", "--python", python]
    else:
        pip = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile"]
    _run(*pip, dists["wheel"], f"apache-airflow=={AIRFLOW_VERSION}", cwd=root, env=_clean_env(), timeout=600)

    home = root / "airflow-home"
    home.mkdir()
    env = _clean_env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
    )
    # Imported from the venv, not from the checkout.
    show = "import airflow_provider_hadoop_eco as p, airflow; print(p.__file__); print(airflow.__version__)"
    where = _run(python, "-c", show, cwd=root, env=env).split()
    assert where[-2].startswith(str(venv)), where
    assert where[-1] == AIRFLOW_VERSION, where

    airflow = venv / "bin" / "airflow"
    provider = _run(airflow, "providers", "get", DIST_NAME, "-o", "json", cwd=root, env=env)
    assert DIST_NAME in provider, provider
    assert _version() in provider, provider

    hooks = _run(airflow, "providers", "hooks", "-o", "json", cwd=root, env=env)
    assert re.search(r'"connection_type":\s*"hadoop_eco"', hooks) or "hadoop_eco" in hooks, hooks
    assert "airflow_provider_hadoop_eco.hooks.hadoop_eco.HadoopEcoHook" in hooks, hooks

    usage = _run(venv / "bin" / "hadoop-eco-emulator", "--help", cwd=root, env=env)
    assert "usage: hadoop-eco-emulator" in usage, usage
