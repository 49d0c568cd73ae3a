#!/usr/bin/env bash
# Installs what is missing, trains the baseline on sample_dataset in a local NSML session, then submits the
# session's `best` checkpoint and prints its CRR. Override the training flags with ARGS="..." ./run.sh.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/install.sh
nsml() { "$PYTHON" -m nsml "$@"; }  # the interpreter install.sh set up, whatever PATH holds

ARGS=${ARGS:-"--use_attention --batch_size 8 --workers 2 --max_epochs 30 --lr 1e-3"}
SESSION=$(nsml run -d sample_dataset -e main.py -a "$ARGS" --detach)
# Ctrl-C stops the session too, not only this script.
trap 'echo; nsml stop "$SESSION"; exit 130' INT TERM
nsml logs -f "$SESSION"
trap - INT TERM

nsml model ls "$SESSION"
nsml plot "$SESSION"
nsml submit "$SESSION" best
