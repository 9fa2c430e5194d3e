#!/usr/bin/env bash
# Create (or reuse) a virtual environment with one Airflow version and this provider installed editable.
# Usage: scripts/make-venv.sh DIR AIRFLOW_VERSION [EXTRAS]
# The venv is reused only while its stamp (Airflow version, extras, pyproject.toml) matches; CI starts fresh.
# uv (from PyPI) does the install when it can: Airflow's ~200 packages take seconds instead of minutes.
set -euo pipefail
dir=$1; airflow_version=$2; extras=${3:-test}
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
stamp="airflow=$airflow_version extras=$extras pyproject=$(sha256sum "$here/pyproject.toml" | cut -c1-16)"
if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
rm -rf "$dir"
echo ">> creating $dir (apache-airflow==$airflow_version, extras [$extras])"
export PIP_DISABLE_PIP_VERSION_CHECK=1
boot="$here/.venvs/.bootstrap"
if [ ! -x "$boot/bin/uv" ]; then
  "$python" -m venv "$boot" && "$boot/bin/pip" install -q uv 2>&1 | grep -v "^WARNING: Location" || true
fi
if [ -x "$boot/bin/uv" ]; then
  "$boot/bin/uv" venv -q --seed -p "$python" "$dir"
  VIRTUAL_ENV="$dir" "$boot/bin/uv" pip install -q "apache-airflow==$airflow_version" -e "$here[$extras]"
else
  "$python" -m venv "$dir"
  "$dir/bin/pip" install -q "apache-airflow==$airflow_version" -e "$here[$extras]" 2>&1 | grep -v "^WARNING: Location" || true
fi
"$dir/bin/python" -c "import airflow_provider_hadoop_eco, airflow; print('>> ready:', '$dir', 'airflow', airflow.__version__)"
echo "$stamp" > "$dir/.stamp"
