#!/usr/bin/env bash
# The whole test suite as two streams side by side, for `make test` (which first builds the venvs and the wheel).
#
#   stream A  Airflow 3.3: tests/distributed, tests/bench, tests/browser (whole topologies, mostly waiting)
#   stream B  Airflow 3.3: every other test; then Airflow 2.11: unit, integration, reliability, regressions, proxy
#
# Why two: the long suites spend most of their time waiting for emulated jobs, deadlines and failovers, so
# one stream left a 2-core machine half idle (29 min wall for 29 min of CPU). Every server a test starts picks
# its own free port on 127.0.0.1, and each stream has its own pytest temp folder, so they never meet.
# Each stream's output goes to a log that is printed when both are done; the exit code is 1 if either failed.
#
# Usage: scripts/run-tests.sh PY3 PY2   (the Airflow 3.3 and 2.11 venvs' python)
set -uo pipefail
py3=${1:?python of the Airflow 3.3 venv}
py2=${2:?python of the Airflow 2.11 venv}
cd "$(dirname "$0")/.."

work=$(mktemp -d -t hadoop-eco-tests-XXXXXX)
common=(-p no:cacheprovider)
heavy=(tests/distributed tests/bench tests/browser)

stream_a() {
  HADOOP_ECO_REQUIRE_ALL=1 HADOOP_ECO_EXPECT_OPENLINEAGE=1 "$py3" -m pytest "${heavy[@]}" "${common[@]}" \
    --basetemp="$work/a" --durations=10
}

stream_b() {
  local ignore=() rc=0
  for dir in "${heavy[@]}"; do ignore+=("--ignore=$dir"); done
  HADOOP_ECO_REQUIRE_ALL=1 HADOOP_ECO_EXPECT_OPENLINEAGE=1 "$py3" -m pytest tests "${ignore[@]}" "${common[@]}" \
    --basetemp="$work/b3" --durations=20 || rc=1
  HADOOP_ECO_REQUIRE_ALL=1 "$py2" -m pytest tests/unit tests/integration tests/reliability tests/regressions \
    tests/proxy --ignore=tests/reliability/test_fuzz_responses.py "${common[@]}" --basetemp="$work/b2" \
    --durations=10 || rc=1
  return $rc
}

started=$(date +%s)
# Job control: each stream runs in its own process group, so that one signal stops a stream and its children.
set -m
echo ">> stream A (Airflow 3.3: ${heavy[*]}) and stream B (the rest on 3.3, then 2.11) run side by side"
stream_a >"$work/a.log" 2>&1 &
pid_a=$!
stream_b >"$work/b.log" 2>&1 &
pid_b=$!
# Both streams are stopped if this script is (CI timeout, Ctrl-C).
trap 'kill -- -$pid_a -$pid_b 2>/dev/null; wait; exit 130' INT TERM

wait $pid_a
rc_a=$?
echo ">> stream A done after $(($(date +%s) - started)) s (exit $rc_a)"
wait $pid_b
rc_b=$?
echo ">> stream B done after $(($(date +%s) - started)) s (exit $rc_b)"

echo "================================ stream A ================================"
cat "$work/a.log"
echo "================================ stream B ================================"
cat "$work/b.log"
echo ">> stream A exit $rc_a, stream B exit $rc_b, $(($(date +%s) - started)) s in all"
rm -rf "$work"
[ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ]
