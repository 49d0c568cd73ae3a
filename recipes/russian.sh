#!/usr/bin/env bash
# The shipped Russian numbers recogniser, reproduced from scratch: renders its data unless present (espeak-ng's
# variants and Festival's Russian voice, shifted in rate, pitch and vocal tract, through telephone codecs and rooms,
# plus espeak-ng whose pitch ignores the speaker's gender), trains on all of it in a local NSML session as a DDP job
# of two one-thread processes (nsml run --nproc 2; 5,000 frames per process per step) for 11 epochs, the front end's
# kernels half the seed's length in time and a GRU frame per 60 ms (--conv_kernels 21x11,11x11 --conv_time_strides
# 2,3: about 47 minutes on a 2-core AMD EPYC), exports the best checkpoint
# (without optimizer state) to ru_numbers/states/words with its training log and plot, chooses how it hears its
# input on two development sets of training-side voices, and measures it on three held-out sets that share neither
# numbers nor voices with training. Run from the repository root:
#   recipes/russian.sh           (DATA=... for the data folder, OUT=... for the export folder, ARGS=... to override)
# The data stage renders once (Festival with a WORLD shift says about 3 utterances a second here, espeak-ng about 50)
# and is timed apart; later runs keep it. NPROC=1 trains in one process of two threads (give it --batch_frames 10000).
# Stages (recipes/stages.sh: STAGE=N STOP_STAGE=M run only N..M, DRY_RUN=1 prints their commands):
#   1 data     the five training sets, two development sets and three held-out sets below, each rendered only when
#              missing (FORCE_DATA=1:
#              all rendered again), joined into DATA/mix/train.csv (ru_numbers.subset: no audio copied) with the
#              2019 layout beside it (test side: the held-out Festival set), registered as the NSML dataset ru_numbers
#   2 train    a local NSML session of ru_numbers/train.py on ru_numbers, then (FINETUNE=1; default 0) a second
#              one from its best checkpoint (pulled to DATA/shipped/first) with FINETUNE_ARGS; the second session
#              validates the weights it starts from first and keeps them as its best unless an epoch beats them
#   3 export   its best checkpoint to OUT, with the training log and plot (run without stage 2: the session
#              RECIPE_SESSION=USER/ru_numbers/N, else the newest finished one on ru_numbers); then
#              ru_numbers.tune records in OUT/decoding.json the time stretch of the features that reads the
#              development sets best (1: none)
#   4 measure  OUT on the three held-out sets (ru_numbers.evaluate, ru_numbers.report), side by side
#              (ru_numbers.report_table) in DATA/shipped/table.md
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/stages.sh
dry_run || source scripts/install.sh
source recipes/session.sh
DATA=${DATA:-data/ru_natural}
OUT=${OUT:-ru_numbers/states/words}
ARGS=${ARGS:-"--units words --hidden_size 192 --layer_size 3 --conv_channels 8 --conv_kernels 21x11,11x11
 --conv_time_strides 2,3 --batch_frames 5000 --workers 1 --max_epochs 11 --lr 2.5e-3 --warmup_steps 200
 --lr_decay cosine --clip_norm 5 --spec_augment --time_mask_width 10 --precision auto --snapshot_minutes 5"}
ARGS=$(echo $ARGS)
# FINETUNE=1: then a second session from the first one's best at a lower peak rate (the 8-epoch recipe of the model
# shipped before gained from it; after 11 epochs it did not beat its start, and its best is then that start)
FINETUNE=${FINETUNE:-0}
FINETUNE_ARGS=${FINETUNE_ARGS:-"--max_epochs 2 --lr 5e-4 --warmup_steps 50"}
SESSION=${RECIPE_SESSION:-}
TESTS="espeak festival pitch_free"

# render SUBDIR SPLIT COUNT SEED [OPTIONS...]: DATA/SUBDIR/SPLIT.csv (SUBDIR . : DATA/SPLIT.csv) rendered by
# ru_numbers.generate unless present.
render() {
  local dir=$DATA/$1 split=$2 count=$3 seed=$4
  [ "$1" != . ] || dir=$DATA
  shift 4
  data_present "$dir/$split.csv" || py -m ru_numbers.generate --out "$dir" --split "$split" --count "$count" \
    --seed "$seed" "$@"
}

if stage 1 "data: training and held-out sets under $DATA, joined in $DATA/mix, registered as ru_numbers"; then
  started=$(date +%s)
  # training: espeak-ng (20 % telephone, 10 % rooms); half Festival (15 % telephone, 15 % rooms); Festival on the
  # phone; both voices on the phone only; espeak-ng with pitch drawn whatever the gender
  render train_espeak train 10000 21 --telephone_fraction 0.2 --reverb_fraction 0.1
  render . train 6000 11 --festival_fraction 0.5 --telephone_fraction 0.15 --reverb_fraction 0.15
  render train_festival_phone train 1500 22 --festival_fraction 1 --telephone_fraction 0.5 --reverb_fraction 0.1
  render train_phone train 3000 23 --festival_fraction 0.5 --telephone_fraction 1 --reverb_fraction 0.1
  render train_pitch_free train 1500 12 --pitch_free
  # development (training-side voices and numbers, utterances of their own): what ru_numbers.tune chooses on
  render dev_espeak train 600 32 --telephone_fraction 0.2 --reverb_fraction 0.1
  render dev_festival train 300 31 --festival_fraction 1 --telephone_fraction 0.3 --reverb_fraction 0.1
  # held out: unseen espeak-ng variants; Festival as recorded, deeper, and as women beyond training's; pitch-free
  render test_espeak test 600 2
  render test_festival test 300 3 --festival_fraction 1 --telephone_fraction 0.2
  render test_pitch_free test 300 4 --pitch_free
  py -m ru_numbers.subset "$DATA/train_espeak/train.csv" "$DATA/train.csv" "$DATA/train_festival_phone/train.csv" \
    "$DATA/train_phone/train.csv" "$DATA/train_pitch_free/train.csv" "$DATA/mix/train.csv"
  py -m ru_numbers.subset "$DATA/test_festival/test.csv" "$DATA/mix/test.csv"  # the board's: Festival
  # the pitch threshold's: espeak-ng without a channel or a room, whose measured pitch follows the speaker's gender
  py -m ru_numbers.subset "$DATA/train_espeak/train.csv" "$DATA/mix/pitch_fit.csv" --where channel=none --where reverb=
  py -m ru_numbers.nsml_dataset "$DATA/mix"
  py -m nsml dataset add ru_numbers "$DATA/mix" --scorer exact --force
  echo "data wall time: $(( $(date +%s) - started )) s"
fi
if stage 2 "train: ru_numbers/train.py on ru_numbers in a local NSML session (${NPROC:-2} process(es))"; then
  started=$(date +%s)
  # gender: pitch outside 150-180 Hz with a threshold fitted on espeak-ng without channel or room, the head inside
  fit="--gender_fit $(realpath -m "$DATA/mix/pitch_fit.csv")"
  NPROC=${NPROC:-2} train_session ru_numbers ru_numbers/train.py "$ARGS $fit"
  trained="session $SESSION; arguments: $ARGS"
  if [ "$FINETUNE" != 0 ]; then  # a second session, started from the first one's best weights
    run rm -rf "$DATA/shipped/first" && py -m nsml model pull "$SESSION" best "$DATA/shipped/first"
    NPROC=${NPROC:-2} train_session ru_numbers ru_numbers/train.py \
      "$ARGS $FINETUNE_ARGS --init $(realpath -m "$DATA/shipped/first") $fit"
    trained="$trained; then session $SESSION from its best: $FINETUNE_ARGS"
  fi
  run mkdir -p "$DATA/shipped"
  echo "training wall time $(( $(date +%s) - started )) s; $trained" | run tee "$DATA/shipped/wall.txt"
fi
if stage 3 "export: the session's best checkpoint to $OUT"; then
  SESSION=${SESSION:-$(latest_session ru_numbers)}
  export_session "$SESSION" "$OUT"
  py -m ru_numbers.tune "$OUT" "$DATA/dev_espeak/train.csv" "$DATA/dev_festival/train.csv"
fi
if stage 4 "measure: $OUT on the held-out sets, side by side in $DATA/shipped/table.md"; then
  run mkdir -p "$DATA/shipped"
  for part in $TESTS; do
    py -m ru_numbers.evaluate --states "$OUT" "$DATA/test_$part/test.csv" "$DATA/shipped/$part.csv"
    py_into "$DATA/shipped/$part.txt" -m ru_numbers.report "$DATA/test_$part/test.csv" "$DATA/shipped/$part.csv"
    dry_run || cat "$DATA/shipped/$part.txt"
  done
  py_into "$DATA/shipped/table.md" -m ru_numbers.report_table "$DATA" "$DATA/shipped"
  dry_run || cat "$DATA/shipped/table.md"
fi
