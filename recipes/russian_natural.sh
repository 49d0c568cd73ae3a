#!/usr/bin/env bash
# The Russian numbers recogniser taught Festival's natural voice: fine-tunes the shipped espeak-ng model
# (ru_numbers/states/words) on espeak-ng speech mixed with Festival's Russian voice (festvox-ru, shifted in rate,
# pitch and vocal tract, ru_numbers/natural.py), telephone channels and rooms, then measures it on three held-out
# sets that share neither numbers nor voices with training: espeak-ng's held-out voices, Festival's voice in
# versions training never hears (natural, deeper, far female), and espeak-ng with pitch drawn whatever the gender.
# Run from the repository root:  recipes/russian_natural.sh   (DATA=..., OUT=..., INIT=..., ARGS=... to override)
# Stages (recipes/stages.sh: STAGE=N STOP_STAGE=M run only N..M, DRY_RUN=1 prints their commands):
#   1 data      DATA/train.csv (TRAIN utterances, FESTIVAL share by Festival), DATA/train_pitch_free/train.csv
#               (PITCH_FREE espeak-ng utterances whose pitch is drawn whatever the voice's gender, so that gender
#               must be heard in more than F0) and the three held-out sets DATA/test_{espeak,festival,pitch_free}/
#               test.csv, each made only when missing (FORCE_DATA=1: again)
#   2 baseline  INIT (the model fine-tuning starts from) on the three held-out sets, for the table
#   3 train     python -m ru_numbers.train --init INIT on both training sets, exporting its best to OUT
#   4 measure   OUT on the three held-out sets (ru_numbers.evaluate, ru_numbers.report by part)
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/stages.sh
dry_run || source scripts/install.sh
DATA=${DATA:-data/ru_natural}
OUT=${OUT:-data/ru_natural/model}
INIT=${INIT:-ru_numbers/states/words}
TRAIN=${TRAIN:-6000}
FESTIVAL=${FESTIVAL:-0.5}
PITCH_FREE=${PITCH_FREE:-1500}
ARGS=${ARGS:-"--units words --hidden_size 192 --layer_size 3 --conv_channels 8 --batch_frames 10000 --workers 1
 --max_epochs 4 --lr 1e-3 --warmup_steps 50 --lr_decay cosine --clip_norm 5 --precision auto --gender_by pitch
 --gender_weight 1"}
ARGS=$(echo $ARGS)
TESTS="espeak festival pitch_free"

measure() {  # measure MODEL NAME: MODEL on each held-out set, predictions and report under DATA/NAME/
  local model=$1 name=$2 part
  run mkdir -p "$DATA/$name"
  for part in $TESTS; do
    echo "== $name on $part"
    py -m ru_numbers.evaluate --states "$model" "$DATA/test_$part/test.csv" "$DATA/$name/$part.csv"
    py_into "$DATA/$name/$part.txt" -m ru_numbers.report "$DATA/test_$part/test.csv" "$DATA/$name/$part.csv"
    dry_run || cat "$DATA/$name/$part.txt"
  done
}

if stage 1 "data: $DATA/train.csv ($TRAIN utterances, $FESTIVAL by Festival) and the held-out sets"; then
  data_present "$DATA/train.csv" || py -m ru_numbers.generate --out "$DATA" --split train --count "$TRAIN" \
    --seed 11 --festival_fraction "$FESTIVAL" --telephone_fraction 0.15 --reverb_fraction 0.15
  data_present "$DATA/train_pitch_free/train.csv" || py -m ru_numbers.generate --out "$DATA/train_pitch_free" \
    --split train --count "$PITCH_FREE" --seed 12 --pitch_free
  data_present "$DATA/test_espeak/test.csv" || py -m ru_numbers.generate --out "$DATA/test_espeak" --split test \
    --count 600 --seed 2
  data_present "$DATA/test_festival/test.csv" || py -m ru_numbers.generate --out "$DATA/test_festival" \
    --split test --count 300 --seed 3 --festival_fraction 1 --telephone_fraction 0.2
  data_present "$DATA/test_pitch_free/test.csv" || py -m ru_numbers.generate --out "$DATA/test_pitch_free" \
    --split test --count 300 --seed 4 --pitch_free
fi
if stage 2 "baseline: $INIT on the held-out sets"; then
  measure "$INIT" baseline
fi
if stage 3 "train: from $INIT on $DATA/train.csv + $DATA/train_pitch_free/train.csv, best exported to $OUT"; then
  started=$(date +%s)
  py -m ru_numbers.train --train "$DATA/train.csv" "$DATA/train_pitch_free/train.csv" --init "$INIT" \
    --export "$OUT" $ARGS
  run mkdir -p "$DATA/finetuned"
  echo "training wall time $(( $(date +%s) - started )) s; arguments: $ARGS" | run tee "$DATA/finetuned/wall.txt"
fi
if stage 4 "measure: $OUT on the held-out sets"; then
  measure "$OUT" finetuned
  py -m ru_numbers.report_table "$DATA" "$DATA/baseline" "$DATA/finetuned"
fi
