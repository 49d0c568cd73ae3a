#!/usr/bin/env bash
# Installs what is missing, in an order that keeps the CPU build of torch, into a Python environment this kit owns.
# Sourced by run.sh and test.sh; afterwards PYTHON is the environment's interpreter (and its bin/ leads PATH).
#
# Which environment: an active virtualenv (VIRTUAL_ENV set) is used as it is; otherwise the project-local .venv,
# created on first use with "$PYTHON -m venv" (PYTHON defaults to python3). A stock Debian/Ubuntu Python refuses
# system-wide pip installs (PEP 668, "externally-managed-environment"), so installing into the system is never
# tried. The venv sees the system's site-packages, so what the machine already has (a 700 MB torch, say) is
# reused instead of installed again; pip installs only what is missing or too old, inside .venv.
#
# Then: torch==2.13.0, CPU build, first (an unpinned torch pulls a multi-GB CUDA build), then `pip install -e .[test]`.
# espeak-ng, sox, festival and festvox-ru (only the corpus generators need them) are installed with apt-get when
# missing, as root.
#
# Settings (environment): PYTHON (the interpreter that creates .venv), KIT_VENV (where, default ROOT/.venv),
# KIT_VENV_SYSTEM_SITE=0 (a venv that does not see the system's packages), KIT_APT=0 (never run apt-get),
# TORCH_INDEX_URL (where the CPU torch build is looked for besides pip's own sources; empty: pip's sources only),
# KIT_INSTALL_FUNCTIONS_ONLY=1 (define the functions below, install nothing: for the tests).
#
# The script runs under set -euo pipefail and gives the sourcing shell its own options back at the end (a shell that
# sourced it by hand would otherwise exit on its next failing command); a failed install returns its status.
# (read from $- and shopt here: a $(set +o) subshell would not report errexit)
case $- in *e*) kit_caller_options="-e" ;; *) kit_caller_options="+e" ;; esac
case $- in *u*) kit_caller_options+=" -u" ;; *) kit_caller_options+=" +u" ;; esac
if shopt -qo pipefail; then kit_caller_options+=" -o pipefail"; else kit_caller_options+=" +o pipefail"; fi
set -euo pipefail
KIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PIP_DISABLE_PIP_VERSION_CHECK=1

kit_say() { echo "install: $*" >&2; }

# Root with apt-get, and apt not switched off: the only case where this script touches the system.
kit_can_apt() {
  [ "${KIT_APT:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null
}

kit_apt_install() {
  kit_say "apt-get install $* (as root)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Prints the interpreter to install into and run with, creating the venv when there is none. Fails (status 1,
# one message naming the fix) when no venv can be made, e.g. Debian's python3 without the python3-venv package.
kit_choose_python() {
  if [ -n "${VIRTUAL_ENV:-}" ]; then
    if [ ! -x "$VIRTUAL_ENV/bin/python" ]; then
      kit_say "VIRTUAL_ENV=$VIRTUAL_ENV has no bin/python; activate a working virtualenv or unset VIRTUAL_ENV"
      return 1
    fi
    echo "$VIRTUAL_ENV/bin/python"
    return 0
  fi
  local venv=${KIT_VENV:-$KIT_ROOT/.venv}
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import pip" 2>/dev/null; then
    echo "$venv/bin/python"
    return 0
  fi
  if [ -e "$venv" ]; then  # never delete what may be someone's work: say what is wrong with it instead
    kit_say "$venv exists but is not a virtualenv with pip; remove it (rm -r $venv) and run this again"
    return 1
  fi
  kit_make_venv "$venv" || return 1
  echo "$venv/bin/python"
}

# Creates the venv at $1 (which does not exist yet) with $PYTHON; on Debian the venv module (ensurepip) is a separate package, python3-venv.
kit_make_venv() {
  local venv=$1 base=${PYTHON:-python3} flags=()
  [ "${KIT_VENV_SYSTEM_SITE:-1}" = 0 ] || flags=(--system-site-packages)
  if ! command -v "$base" >/dev/null; then
    kit_say "no Python interpreter '$base' found; install Python >= 3.10 or set PYTHON to one"
    return 1
  fi
  kit_say "creating the virtualenv $venv with $base"
  if "$base" -m venv "${flags[@]}" "$venv" >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "$venv"
  if kit_can_apt; then
    kit_apt_install python3-venv && "$base" -m venv "${flags[@]}" "$venv" >/dev/null 2>&1 && return 0
    rm -rf "$venv"
  fi
  kit_say "'$base -m venv' failed: on Debian/Ubuntu the venv module is a separate package; as root run" \
          "'apt-get install python3-venv', then run this again (or activate a virtualenv of your own)"
  return 1
}

# espeak-ng, sox and Festival with its Russian voice, only when missing and only for what needs them: the corpus
# generators.
kit_system_tools() {
  local missing=()
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  command -v sox >/dev/null || missing+=(sox)
  command -v festival >/dev/null || missing+=(festival)
  [ -d /usr/share/festival/voices/russian ] || missing+=(festvox-ru)  # Festival's Russian voice (natural speech)
  [ ${#missing[@]} -eq 0 ] && return 0
  if kit_can_apt; then
    kit_say "the corpus generators need ${missing[*]}"
    kit_apt_install "${missing[@]}"
  else
    kit_say "${missing[*]} not found; only the corpus generators need them (as root: apt-get install ${missing[*]})"
  fi
}

# torch first, then the kit; each step only when its imports fail, so a second run installs nothing.
kit_python_packages() {
  local python=$1 index=${TORCH_INDEX_URL-https://download.pytorch.org/whl/cpu}
  if ! "$python" -c "import torch" 2>/dev/null; then
    kit_say "torch==2.13.0 (CPU build)"
    "$python" -m pip install -q "torch==2.13.0" ${index:+--extra-index-url "$index"} || return 1
  fi
  # Imported from outside the tree, so the kit counts as installed only when this checkout is what imports.
  if ! (cd / && "$python" - "$KIT_ROOT" 2>/dev/null) <<'EOF'
import os, sys
import Levenshtein, flask, konlpy, matplotlib, num2words, psycopg, pytest, requests, ruff, scipy, selenium, soundfile, tensorboard, tqdm, waitress, wavio
import nsml.cli
sys.exit(os.path.dirname(os.path.dirname(os.path.realpath(nsml.cli.__file__))) != os.path.realpath(sys.argv[1]))
EOF
  then
    kit_say "the kit and its dependencies (pip install -e .[test])"
    "$python" -m pip install -q -e "$KIT_ROOT[test]" || return 1
  fi
}

# Each step's failure returns at once: when sourced from a && / || list (recipes: dry_run || source ...), set -e
# does not apply inside, so nothing else would stop it.
kit_install() {
  kit_system_tools || return 1
  local python
  python=$(kit_choose_python) || return 1
  kit_python_packages "$python" || return 1
  PYTHON=$python
  export PATH="$(dirname "$python"):$PATH"
}

kit_status=0
if [ "${KIT_INSTALL_FUNCTIONS_ONLY:-0}" != 1 ]; then
  kit_install || kit_status=$?
fi
# the caller's options back, then its status: 'return' when sourced, 'exit' when run as a program
eval "set $kit_caller_options; unset kit_caller_options kit_status; return $kit_status 2>/dev/null || exit $kit_status"
