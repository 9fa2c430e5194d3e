"""What importing the provider loads: a DAG file pays for the operator and the sensor at every parse.

Times live in the benchmarks (benchmarks/imports.py); these tests pin which modules are loaded, which is what
keeps the time down and does not depend on the machine's load.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROVIDER = "airflow_provider_hadoop_eco"
#: What a DAG file may load of the provider: constants, settings rules, exceptions, the link.
DAG_PARSE_ALLOWED = {
    PROVIDER,
    f"{PROVIDER}.defaults",
    f"{PROVIDER}.get_provider_info",
    f"{PROVIDER}.cluster_settings",
    f"{PROVIDER}.exceptions",
    f"{PROVIDER}.tuning",
    f"{PROVIDER}.links",
    f"{PROVIDER}.links.hadoop_eco",
    f"{PROVIDER}.operators",
    f"{PROVIDER}.operators.hadoop_eco",
    f"{PROVIDER}.sensors",
    f"{PROVIDER}.sensors.hadoop_eco",
}
#: Airflow 2 loads requests itself; what counts is what the provider adds.
HTTP_CLIENTS = ("aiohttp", "requests")


def _loaded_after(*modules: str) -> set[str]:
    """The modules importing ``modules`` adds to what ``import airflow`` loads, in a fresh interpreter."""
    code = (
        "import importlib, json, sys\n"
        "import airflow\n"
        "before = set(sys.modules)\n"
        f"for name in {list(modules)!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_a_dag_file_loads_no_waiting_machinery_hook_or_http_client():
    loaded = _loaded_after(f"{PROVIDER}.operators.hadoop_eco", f"{PROVIDER}.sensors.hadoop_eco")
    provider = {m for m in loaded if m == PROVIDER or m.startswith(PROVIDER + ".")}
    assert f"{PROVIDER}.operators.hadoop_eco" in provider and f"{PROVIDER}.sensors.hadoop_eco" in provider
    assert provider <= DAG_PARSE_ALLOWED, (
        f"loaded beyond the DAG-parse set: {sorted(provider - DAG_PARSE_ALLOWED)}"
    )
    assert not [m for m in loaded if m.split(".")[0] in HTTP_CLIENTS]


def test_the_hook_module_loads_no_http_client_until_a_call():
    loaded = _loaded_after(f"{PROVIDER}.hooks.hadoop_eco")
    assert not [m for m in loaded if m.split(".")[0] in HTTP_CLIENTS]
    assert f"{PROVIDER}.hooks.async_http" not in loaded
    assert not [m for m in loaded if m.startswith(f"{PROVIDER}.emulator")]
