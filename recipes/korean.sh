#!/usr/bin/env bash
# The shipped Korean recogniser, reproduced: generates its corpus, trains it in a local NSML session, scores the
# best checkpoint on the held-out split and exports it (weights, label table, feature, units, n-gram LM) to
# pretrained/korean/ with its training log and plot. About 60 minutes on a 2-core CPU. Run from the repository root:
#   recipes/korean.sh            (DATA=... to put the corpus elsewhere, OUT=... for the export folder)
# Stages (recipes/stages.sh: STAGE=N STOP_STAGE=M run only N..M, DRY_RUN=1 prints their commands):
#   1 data     the corpus in DATA, made only when DATA/labels.txt is missing (FORCE_DATA=1: made again), registered
#              as the NSML dataset ko_synth
#   2 train    a local NSML session of main.py on ko_synth
#   3 export   its best checkpoint to OUT, with the training log and plot (run without stage 2: the session
#              RECIPE_SESSION=USER/ko_synth/N, else the newest finished one on ko_synth)
#   4 measure  CRR of OUT on DATA's held-out split, greedy and with a beam and the n-gram LM
# e.g. STAGE=4 recipes/korean.sh measures the exported model again.
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/stages.sh
dry_run || source scripts/install.sh
source recipes/session.sh
DATA=${DATA:-data/ko_synth}
OUT=${OUT:-pretrained/korean}
ARGS="--feature logmel --units jamo --ctc_weight 1 --bidirectional --hidden_size 256 --layer_size 3
 --conv_channels 16 --dropout 0.1 --batch_frames 12000 --workers 2 --max_epochs 6 --lr 1.5e-3 --warmup_steps 200 --lr_decay cosine --clip_norm 5
 --spec_augment --lm_order 5 --precision auto --max_len 200"
ARGS=$(echo $ARGS)
SESSION=${RECIPE_SESSION:-}
started=$(date +%s)

if stage 1 "data: the corpus in $DATA, registered as ko_synth"; then
  if ! data_present "$DATA/labels.txt"; then
    py -m corpus.make_dataset --out "$DATA" --train 10000 --test 400 --seed 1 --labels hackathon.labels \
      --train_noise_fraction 0.3 --overwrite
  fi
  py -m nsml dataset add ko_synth "$DATA" --force
fi
if stage 2 "train: main.py on ko_synth in a local NSML session"; then
  train_session ko_synth main.py "$ARGS"
fi
if stage 3 "export: the session's best checkpoint to $OUT"; then
  SESSION=${SESSION:-$(latest_session ko_synth)}
  export_session "$SESSION" "$OUT"
fi
if stage 4 "measure: $OUT on the held-out split of $DATA"; then
  for decoding in "--beam_size 1" "--beam_size 8 --lm_weight 0.5 --length_bonus 1.0"; do
    echo "== $decoding"
    py -m evaluation.transcribe --checkpoint "$OUT" $decoding --output "$OUT/predictions.csv" \
      "$DATA/test/test_data/test_list.csv"
    py -m evaluation.score "$OUT/predictions.csv" "$DATA/test/test_label" --worst 10
  done
fi
echo "recipe wall time: $(( $(date +%s) - started )) s; session ${SESSION:--}; arguments: $ARGS"
