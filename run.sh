#!/usr/bin/env bash
# Installs what is missing (into an active virtualenv, else ./.venv: see scripts/install.sh), trains the baseline on
# sample_dataset in a local NSML session, then submits the session's `best` checkpoint and prints its CRR.
# Override the training flags with ARGS="..." ./run.sh. Stops at the first step that fails, naming it.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/install.sh
nsml() { "$PYTHON" -m nsml "$@"; }  # the interpreter install.sh set up, whatever PATH holds

# step NAME COMMAND...: run COMMAND; when it fails, say which step failed and stop with its status, so a failed
# session never runs on into an empty checkpoint list and a plot of nothing.
step() {
  local name=$1
  shift
  local status=0
  "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "run.sh: error: step '$name' failed (exit status $status): $*" >&2
    exit "$status"
  fi
}

ARGS=${ARGS:-"--use_attention --batch_size 8 --workers 2 --max_epochs 30 --lr 1e-3"}
SESSION=$(step "start the training session" nsml run -d sample_dataset -e main.py -a "$ARGS" --detach)
# Ctrl-C stops the session too, not only this script.
trap 'echo; nsml stop "$SESSION"; exit 130' INT TERM
step "train (session $SESSION; see nsml logs $SESSION)" nsml logs -f "$SESSION"
trap - INT TERM

step "list the checkpoints" nsml model ls "$SESSION"
step "plot the metrics" nsml plot "$SESSION"
step "submit the best checkpoint" nsml submit "$SESSION" best
