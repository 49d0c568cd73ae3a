#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite. Extra arguments go to pytest (e.g. ./test.sh -k nsml).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/install.sh
exec "${PYTHON:-python3}" -m pytest -q "$@" tests
