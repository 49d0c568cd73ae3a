#!/usr/bin/env bash
# Installs what is missing, in an order that keeps the CPU build of torch: system tools (espeak-ng, sox) when
# absent, torch==2.13.0, then this kit in editable mode with its dependencies. Safe to run again: it only acts on
# what is missing. Sourced by run.sh and test.sh; PYTHON selects the interpreter (default python3).
set -euo pipefail
PYTHON=${PYTHON:-python3}
KIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install: espeak-ng and sox (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox >/dev/null
  else
    echo "install: espeak-ng/sox not found; corpus generation needs them (apt-get install espeak-ng sox)" >&2
  fi
fi

if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  echo "install: torch==2.13.0"
  "$PYTHON" -m pip install -q "torch==2.13.0"
fi

if ! "$PYTHON" -c "import nsml.cli, Levenshtein, soundfile, scipy, tqdm, matplotlib, pytest" 2>/dev/null; then
  echo "install: the kit and its dependencies (pip install -e .)"
  "$PYTHON" -m pip install -q -e "$KIT_ROOT[test]"
fi
