"""Import cost at DAG-parse time: what importing the provider's modules adds to ``import airflow``.

Each measurement is a fresh interpreter (``python -c``) that times ``import airflow`` and then the provider
imports with ``time.perf_counter``, and reports which modules the provider imports added to ``sys.modules``.
One more process with ``-X importtime`` attributes the added time to modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import median

#: What a DAG file (and the triggerer, for the hook) imports.
TARGETS = (
    "airflow_provider_hadoop_eco.operators.hadoop_eco",
    "airflow_provider_hadoop_eco.sensors.hadoop_eco",
    "airflow_provider_hadoop_eco.hooks.hadoop_eco",
)
PACKAGE = "airflow_provider_hadoop_eco"
#: Must not be imported at DAG-parse time.
FORBIDDEN = ("aiohttp", "requests", "airflow_provider_hadoop_eco.emulator")
#: Reported, not forbidden.
WATCH = (
    "aiohttp",
    "requests",
    "tenacity",
    "httpx",
    "asgiref",
    "yarl",
    "multidict",
    "airflow_provider_hadoop_eco.emulator",
)

_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import airflow
t1 = time.perf_counter()
before = set(sys.modules)
sys.stderr.write("=== BENCH MARK: provider imports start ===\n"); sys.stderr.flush()
t2 = time.perf_counter()
for name in TARGETS:
    __import__(name)
t3 = time.perf_counter()
after = set(sys.modules)
WATCH = WATCH_LIST
print(json.dumps({
    "airflow_s": t1 - t0,
    "added_s": t3 - t2,
    "already": {m: m in before for m in WATCH},
    "after": {m: m in after for m in WATCH},
    "added_modules": sorted(after - before),
    "provider_pkg_preloaded": "airflow_provider_hadoop_eco" in before,
    "provider_file": getattr(sys.modules.get("airflow_provider_hadoop_eco"), "__file__", None),
}))
"""


#: Bytecode cache for the import measurements. Outside the source tree, so the benchmark writes no
#: ``__pycache__`` into the repository; stable, so only the first run pays for compiling.
PYCACHE_PREFIX = Path(tempfile.gettempdir()) / "hadoop-eco-bench-pycache"


def _env(airflow_home: Path, bytecode_cache: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    env["AIRFLOW_HOME"] = str(airflow_home)
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    if bytecode_cache:
        # A normal install has .pyc files; this machine sets PYTHONDONTWRITEBYTECODE=1, which would make
        # every fresh process compile the provider's (editable) sources again.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE_PREFIX)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def _probe(
    python: str, targets: tuple[str, ...], env: dict[str, str], importtime: bool = False
) -> tuple[dict, str]:
    code = _PROBE.replace("TARGETS", repr(targets)).replace("WATCH_LIST", repr(WATCH))
    cmd = [python, *(["-X", "importtime"] if importtime else []), "-c", code]
    # Run in the Airflow home, not here: ``-c`` puts the working directory first on sys.path.
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, env=env, check=False, cwd=env["AIRFLOW_HOME"]
    )
    if out.returncode != 0:
        raise RuntimeError(f"import probe failed ({out.returncode}): {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def _importtime_top(stderr: str, limit: int = 12) -> list[dict[str, Any]]:
    """Modules imported after the marker, by cumulative time (top-level entries only)."""
    _, _, tail = stderr.partition("=== BENCH MARK: provider imports start ===")
    rows: list[dict[str, Any]] = []
    for line in tail.splitlines():
        if not line.startswith("import time:"):
            continue
        try:
            _, self_us, cum_us, name = (
                part.strip() for part in line.replace("import time:", "|", 1).split("|")
            )
            rows.append({"module": name, "self_ms": int(self_us) / 1000, "cumulative_ms": int(cum_us) / 1000})
        except ValueError:
            continue
    rows.sort(key=lambda r: -r["self_ms"])
    return rows[:limit]


def check_imports(python: str, workdir: Path) -> dict[str, Any]:
    """One fresh process: which of :data:`WATCH` importing the package and the three modules pulls in."""
    home = workdir / "airflow-home-imports"
    home.mkdir(parents=True, exist_ok=True)
    data, _ = _probe(python, (PACKAGE, *TARGETS), _env(home, bytecode_cache=False))
    return {
        "added_ms": data["added_s"] * 1000,
        "already_imported_by_airflow": {m: v for m, v in data["already"].items() if v},
        "imported_after": data["after"],
        "forbidden_imported": [m for m in FORBIDDEN if data["after"].get(m) and not data["already"].get(m)],
    }


def measure_imports(python: str, workdir: Path, runs: int = 7) -> dict[str, Any]:
    """Median over ``runs`` fresh processes of the time each import set adds over ``import airflow``."""
    home = workdir / "airflow-home-imports"
    home.mkdir(parents=True, exist_ok=True)
    env = _env(home)
    # Warm-up: Airflow writes its config, the bytecode cache fills, the OS caches the files.
    _probe(python, (PACKAGE, *TARGETS), env)
    _probe(python, (PACKAGE, *TARGETS), env)
    sets = {
        "three modules": (TARGETS, env),
        "package only": ((PACKAGE,), env),
        "three modules, no bytecode cache": (TARGETS, _env(home, bytecode_cache=False)),
    }
    results: dict[str, Any] = {}
    for label, (targets, set_env) in sets.items():
        samples = [_probe(python, targets, set_env)[0] for _ in range(runs)]
        last = samples[-1]
        results[label] = {
            "targets": list(targets),
            "runs": runs,
            "added_ms_median": median([s["added_s"] * 1000 for s in samples]),
            "added_ms_all": [round(s["added_s"] * 1000, 2) for s in samples],
            "airflow_ms_median": median([s["airflow_s"] * 1000 for s in samples]),
            "already_imported_by_airflow": {m: v for m, v in last["already"].items() if v},
            "imported_after": {m: v for m, v in last["after"].items()},
            "forbidden_imported": [
                m for m in FORBIDDEN if last["after"].get(m) and not last["already"].get(m)
            ],
            "forbidden_imported_at_all": [m for m in FORBIDDEN if last["after"].get(m)],
            "added_modules": last["added_modules"],
            "provider_pkg_preloaded": last["provider_pkg_preloaded"],
        }
    _, stderr = _probe(python, TARGETS, env, importtime=True)
    results["importtime_top"] = _importtime_top(stderr)
    return results


def compare_trees(python: str, trees: dict[str, Path], workdir: Path, runs: int = 30) -> dict[str, Any]:
    """Import cost of two or more source trees of the provider in the same venv, interleaved run by run.

    Each tree goes first on ``PYTHONPATH``, ahead of the installed provider (the bytecode cache mirrors
    source paths, so trees never share one); interleaving spreads the machine's noise over all trees alike.
    """
    home = workdir / "airflow-home-imports"
    home.mkdir(parents=True, exist_ok=True)
    sets = {"operator + sensor": TARGETS[:2], "operator + sensor + hook": TARGETS}
    samples: dict[tuple[str, str], list[float]] = {(t, s): [] for t in trees for s in sets}
    for run in range(runs + 1):
        for tree, path in trees.items():
            env = {**_env(home), "PYTHONPATH": str(path)}
            for label, targets in sets.items():
                data, _ = _probe(python, targets, env)
                if not str(data["provider_file"]).startswith(str(path)):
                    raise RuntimeError(f"{tree}: the provider came from {data['provider_file']}, not {path}")
                if run:  # the first round fills the bytecode caches
                    samples[(tree, label)].append(data["added_s"] * 1000)
    return {
        tree: {
            label: {"median_ms": median(samples[(tree, label)]), "min_ms": min(samples[(tree, label)])}
            for label in sets
        }
        for tree in trees
    }


if __name__ == "__main__":
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Compare the import cost of this tree with another one.")
    parser.add_argument(
        "other", type=Path, help="another source tree, e.g. a `git worktree` of an older commit"
    )
    parser.add_argument("--runs", type=int, default=30, help="fresh interpreters per tree and import set")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        result = compare_trees(
            sys.executable, {str(args.other): args.other.resolve(), "this tree": here}, Path(tmp), args.runs
        )
    for tree, sets in result.items():
        for label, figures in sets.items():
            print(
                f"{tree:>30}  {label:<26} median {figures['median_ms']:.2f} ms  min {figures['min_ms']:.2f} ms"
            )
