#!/usr/bin/env bash
# Installs what is missing (into an active virtualenv, else ./.venv: see scripts/install.sh), then runs the whole
# test suite. Extra arguments go to pytest (e.g. ./test.sh -k nsml, ./test.sh -m 'not slow').
set -euo pipefail
cd "$(dirname "$0")"
source scripts/install.sh
exec "$PYTHON" -m pytest -q "$@" tests
