#!/usr/bin/env bash
# Installs what is missing (into an active virtualenv, else ./.venv: see scripts/install.sh), then runs the test
# suite's fast tier (about 12 minutes on two cores). Options:
#   ./test.sh --all          also the slow tier (whole trainings, kill tests, benchmarks: over an hour on two cores)
#   ./test.sh -m slow        only the slow tier
#   ./test.sh -k nsml        any other arguments go to pytest as they are
set -euo pipefail
cd "$(dirname "$0")"
source scripts/install.sh
args=("$@")
if [ "${1:-}" = "--all" ]; then
  args=("${@:2}")
elif ! printf '%s\n' "$@" | grep -qx -- '-m'; then
  args=(-m "not slow" "$@")
fi
exec "$PYTHON" -m pytest -q "${args[@]}" tests
