#!/usr/bin/env bash
# The shipped Korean recogniser, reproduced: generates its corpus, trains it in a local NSML session, scores the
# best checkpoint on the held-out split and exports it (weights, label table, feature, units, n-gram LM) to
# pretrained/korean/ with its training log and plot. About 60 minutes on a 2-core CPU. Run from the repository root:
#   recipes/korean.sh            (DATA=... to put the corpus elsewhere, OUT=... for the export folder)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install.sh
source recipes/session.sh
py() { "$PYTHON" "$@"; }
DATA=${DATA:-data/ko_synth}
OUT=${OUT:-pretrained/korean}
ARGS="--feature logmel --units jamo --ctc_weight 1 --bidirectional --hidden_size 256 --layer_size 3
 --conv_channels 16 --dropout 0.1 --batch_frames 12000 --workers 2 --max_epochs 6 --lr 1.5e-3 --warmup_steps 200 --lr_decay cosine --clip_norm 5
 --spec_augment --lm_order 5 --precision bf16 --max_len 200"
ARGS=$(echo $ARGS)
started=$(date +%s)

py -m corpus.make_dataset --out "$DATA" --train 10000 --test 400 --seed 1 --labels hackathon.labels \
  --train_noise_fraction 0.3 --overwrite
py -m nsml dataset add ko_synth "$DATA" --force
train_and_export ko_synth main.py "$ARGS" "$OUT"
for decoding in "--beam_size 1" "--beam_size 8 --lm_weight 0.5 --length_bonus 1.0"; do
  echo "== $decoding"
  py -m evaluation.transcribe --checkpoint "$OUT" $decoding --output "$OUT/predictions.csv" \
    "$DATA/test/test_data/test_list.csv"
  py -m evaluation.score "$OUT/predictions.csv" "$DATA/test/test_label" --worst 10
done
echo "recipe wall time: $(( $(date +%s) - started )) s; session $SESSION; arguments: $ARGS"
