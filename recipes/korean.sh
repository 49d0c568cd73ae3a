#!/usr/bin/env bash
# The shipped Korean recogniser, reproduced: generates its corpus, trains it in a local NSML session, exports the
# best checkpoint (weights, label table, feature, units, recommended decoding) to pretrained/korean/ with its training
# log and plot, trains its n-gram LM on the whole text pool, and scores it on two held-out splits. About 60 minutes on
# a 2-core CPU. Run from the repository root:
#   recipes/korean.sh            (DATA=... to put the corpus elsewhere, OUT=... for the export folder)
# Stages (recipes/stages.sh: STAGE=N STOP_STAGE=M run only N..M, DRY_RUN=1 prints their commands):
#   1 data     the corpus in DATA, made only when DATA/labels.txt is missing (FORCE_DATA=1: made again), registered
#              as the NSML dataset ko_synth; and HELDOUT, the out-of-source split: every sentence of
#              corpus/heldout_ko_everyday.txt, text written for the test side only
#   2 train    a local NSML session of main.py on ko_synth as a DDP job of NPROC=2 one-thread processes of 6,000
#              frames each (an optimizer step sees 12,000 frames, as NPROC=1 with --batch_frames 12000 does), with
#              a snapshot every 2.5 minutes, which python -m benchmarks.time_to_accuracy scores for the
#              time-to-accuracy curve
#   3 export   its best checkpoint to OUT, with the training log and plot and DECODING as its recommended decoding
#              (run without stage 2: the session RECIPE_SESSION=USER/ko_synth/N, else the newest finished one on
#              ko_synth); then OUT's LM: an n-gram over the whole text pool (python -m corpus.text_lm), not only
#              the training transcripts
#   4 measure  CRR of OUT on HELDOUT (the headline) and on DATA's in-distribution held-out split, greedy and with
#              the recommended decoding
# e.g. STAGE=4 recipes/korean.sh measures the exported model again.
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/stages.sh
dry_run || source scripts/install.sh
source recipes/session.sh
DATA=${DATA:-data/ko_synth}
OUT=${OUT:-pretrained/korean}
HELDOUT=${HELDOUT:-data/ko_everyday}
DECODING="--beam_size 16 --lm_weight 0.5 --length_bonus 1.0"
LM="--order 6 --min_count 1"
NPROC=${NPROC:-2}
FRAMES=$(( 12000 / NPROC ))  # per process: every step sees 12,000 frames whatever NPROC
ARGS="--feature logmel --units jamo --ctc_weight 1 --bidirectional --hidden_size 256 --layer_size 3
 --conv_channels 16 --dropout 0.1 --batch_frames $FRAMES --workers 1 --max_epochs 6 --lr 1.5e-3 --warmup_steps 200 --lr_decay cosine --clip_norm 5
 --spec_augment --lm_order 5 --precision auto --max_len 200 --snapshot_minutes 2.5"
ARGS=$(echo $ARGS)
SESSION=${RECIPE_SESSION:-}
started=$(date +%s)

if stage 1 "data: the corpus in $DATA, registered as ko_synth"; then
  if ! data_present "$DATA/labels.txt"; then
    py -m corpus.make_dataset --out "$DATA" --train 10000 --test 400 --seed 1 --labels hackathon.labels \
      --train_noise_fraction 0.3 --overwrite
  fi
  py -m nsml dataset add ko_synth "$DATA" --force
  if ! data_present "$HELDOUT/test/test_label"; then
    py -m corpus.make_dataset --out "$HELDOUT" --train 0 --test 476 --no_bundled \
      --test_text corpus/heldout_ko_everyday.txt --seed 26 --overwrite
  fi
fi
if stage 2 "train: main.py on ko_synth in a local NSML session ($NPROC process(es))"; then
  NPROC=$NPROC train_session ko_synth main.py "$ARGS"
fi
if stage 3 "export: the session's best checkpoint to $OUT"; then
  SESSION=${SESSION:-$(latest_session ko_synth)}
  export_session "$SESSION" "$OUT" "$DECODING"
  py -m corpus.text_lm --checkpoint "$OUT" $LM
fi
if stage 4 "measure: $OUT on $HELDOUT (out of source) and on the held-out split of $DATA"; then
  for split in "$HELDOUT" "$DATA"; do
    for decoding in "--greedy" ""; do
      echo "== $split ${decoding:-(the recommended decoding)}"
      py -m evaluation.transcribe --checkpoint "$OUT" $decoding --output "$split/predictions.csv" \
        "$split/test/test_data/test_list.csv"
      py -m evaluation.score "$split/predictions.csv" "$split/test/test_label" --worst 10
    done
  done
fi
echo "recipe wall time: $(( $(date +%s) - started )) s; session ${SESSION:--}; arguments: $ARGS"
