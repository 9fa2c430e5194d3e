"""The Airflow the system benchmark runs: its own venv, with the provider installed from a git snapshot.

``.venvs/system-bench-airflow-<version>`` holds ``apache-airflow==<version>``, the PostgreSQL drivers
(``psycopg2-binary``, and ``asyncpg``, without which no Airflow 3.3 command starts on PostgreSQL), ``psutil``,
and the provider **from a snapshot of a git commit** (``git archive``), not editable: other engineers edit
the working tree while a benchmark runs for hours, and a task process that imported half-edited code would
measure nothing. The commit is recorded in the report. The venv is reused while its stamp matches; the
provider alone is reinstalled when the commit's provider tree changes. Everything is compiled to bytecode
at install time (``PYTHONDONTWRITEBYTECODE`` is set on these machines: without .pyc files every task process
would compile Airflow's source again).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO

EXTRA_PACKAGES = ("psycopg2-binary", "asyncpg", "psutil")
PROVIDER_DIST = "airflow-provider-hadoop-eco"


def venv_dir(airflow_version: str) -> Path:
    return REPO / ".venvs" / f"system-bench-airflow-{airflow_version}"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def resolve_commit(ref: str) -> str:
    """The full commit id of ``ref`` (``HEAD`` by default)."""
    return _git("rev-parse", f"{ref}^{{commit}}")


def provider_tree(commit: str) -> str:
    """A stamp of what gets installed: the tree ids of the package and of pyproject.toml at ``commit``."""
    return (
        _git("rev-parse", f"{commit}:airflow_provider_hadoop_eco")
        + "/"
        + _git("rev-parse", f"{commit}:pyproject.toml")
    )


def find_uv() -> str | None:
    for candidate in (REPO / ".venvs" / ".bootstrap" / "bin" / "uv", Path(sys.executable).parent / "uv"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("uv")


def ensure_venv(airflow_version: str, ref: str = "HEAD", log: object = print) -> tuple[str, str]:
    """Build or reuse the benchmark venv; return ``(python, provider commit)``."""
    say = log if callable(log) else print
    commit = resolve_commit(ref)
    tree = provider_tree(commit)
    venv = venv_dir(airflow_version)
    base_python = os.environ.get("PYTHON") or shutil.which("python3") or sys.executable
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f".{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base_stamp = f"airflow={airflow_version} packages={','.join(EXTRA_PACKAGES)} pyc=1"
        stamp_file, provider_file = venv / ".stamp", venv / ".provider-stamp"
        bin_python = venv / "bin" / "python"
        fresh = not (bin_python.exists() and stamp_file.exists() and stamp_file.read_text() == base_stamp)
        if not fresh and provider_file.exists() and provider_file.read_text() == tree:
            return str(bin_python), commit
        uv = find_uv()
        if uv is None:
            raise SystemExit("uv not found: run scripts/make-venv.sh once (it bootstraps .venvs/.bootstrap)")
        env = {**os.environ, "VIRTUAL_ENV": str(venv), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        env.pop("PYTHONPATH", None)
        started = time.time()
        if fresh:
            shutil.rmtree(venv, ignore_errors=True)
            say(f">> creating {venv} (apache-airflow=={airflow_version}, {', '.join(EXTRA_PACKAGES)})")
            subprocess.run([uv, "venv", "-q", "--seed", "-p", base_python, str(venv)], check=True, env=env)
        with tempfile.TemporaryDirectory(prefix="system-bench-provider-") as tmp:
            # The committed provider only: an uncommitted edit of someone else never reaches the benchmark.
            archive = subprocess.run(
                ["git", "-C", str(REPO), "archive", "--format=tar", commit, "pyproject.toml", "README.md",
                 "LICENSE", "airflow_provider_hadoop_eco"],
                check=True, capture_output=True,
            ).stdout  # fmt: skip
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            packages = [f"apache-airflow=={airflow_version}", *EXTRA_PACKAGES, tmp]
            reinstall = [] if fresh else ["--reinstall-package", PROVIDER_DIST]
            subprocess.run(
                [uv, "pip", "install", "-q", "--compile-bytecode", *reinstall, *packages],
                check=True,
                env=env,
                cwd=tempfile.gettempdir(),
            )
        where = subprocess.run(
            [str(bin_python), "-c", "import airflow_provider_hadoop_eco as p; print(p.__file__)"],
            check=True, capture_output=True, text=True, cwd=tempfile.gettempdir(), env=env,
        ).stdout.strip()  # fmt: skip
        if not where.startswith(str(venv)):
            raise SystemExit(f"the provider was not installed into {venv}: {where}")
        stamp_file.write_text(base_stamp)
        provider_file.write_text(tree)
        with contextlib.suppress(OSError):
            (venv / ".provider-commit").write_text(commit)
        say(f">> {venv.name}: provider at {commit[:10]} ready in {time.time() - started:.0f} s")
        return str(bin_python), commit
