#!/usr/bin/env bash
# Installs what is missing (into an active virtualenv, else ./.venv: see scripts/install.sh), makes a Korean corpus
# (2,000 training utterances, 100 held-out ones), trains a recogniser on it in a local NSML session, submits the
# session's `best` checkpoint and prints its CRR on the held-out sentences, then the shipped model's CRR
# (pretrained/korean) on the same split. Override the training flags with ARGS="..." ./run.sh (e.g. the 2019
# seed's: ARGS="--use_attention --batch_size 8 --workers 2 --max_epochs 30 --lr 1e-3"), the corpus with DATA=...,
# TRAIN_UTTERANCES=... and TEST_UTTERANCES=... Stops at the first step that fails, naming it.
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

DATA=${DATA:-data/run_sh}
TRAIN_UTTERANCES=${TRAIN_UTTERANCES:-2000}
TEST_UTTERANCES=${TEST_UTTERANCES:-100}
ARGS=${ARGS:-"--feature logmel --units jamo --ctc_weight 1 --bidirectional --hidden_size 256 --layer_size 3
 --conv_channels 16 --batch_frames 12000 --workers 2 --max_epochs 8 --lr 2e-3 --warmup_steps 100 --lr_decay cosine
 --clip_norm 5 --precision auto --max_len 200"}
ARGS=$(echo $ARGS)
started=$(date +%s)
# The same seed as the shipped model's recipe: these test sentences are among the 400 it never heard.
step "make the corpus" "$PYTHON" -m corpus.make_dataset --out "$DATA" --train "$TRAIN_UTTERANCES" \
  --test "$TEST_UTTERANCES" --seed 1 \
  --labels hackathon.labels --train_noise_fraction 0.3 --overwrite
step "register the corpus" nsml dataset add run_sh "$DATA" --force
SESSION=$(step "start the training session" nsml run -d run_sh -e main.py -a "$ARGS" --detach)
# Ctrl-C stops the session too, not only this script.
trap 'echo; nsml stop "$SESSION"; exit 130' INT TERM
step "train (session $SESSION; see nsml logs $SESSION)" nsml logs -f "$SESSION"
trap - INT TERM

step "list the checkpoints" nsml model ls "$SESSION"
step "plot the metrics" nsml plot "$SESSION"
step "submit the best checkpoint" nsml submit "$SESSION" best
echo "run.sh: trained and scored in $(( $(date +%s) - started )) s"

echo "== the shipped model (pretrained/korean) on the same held-out split"
step "transcribe with the shipped model" "$PYTHON" -m evaluation.transcribe --checkpoint pretrained/korean \
  --output "$DATA/shipped_predictions.csv" "$DATA/test/test_data/test_list.csv"
step "score the shipped model" "$PYTHON" -m evaluation.score "$DATA/shipped_predictions.csv" "$DATA/test/test_label" \
  --worst 3
