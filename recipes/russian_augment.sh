#!/usr/bin/env bash
# What each augmentation is worth to the Russian numbers recogniser on the held-out sets that sound least like its
# espeak-ng training: every configuration fine-tunes the shipped model (INIT) for the same number of epochs on the
# same number of utterances (COUNT), drawn from the one pool recipes/russian.sh renders, and is measured on
# that recipe's three held-out sets. Only what the training set holds changes from row to row:
#   espeak         espeak-ng only, no channel, no room (the shipped model's kind of data)
#   festival_male  + Festival's voice, shifted only a little in rate, pitch and tract (the male kinds)
#   festival_all   + Festival's voice made into women and a man spoken high (all training shift kinds)
#   telephone      + telephone channels (mu-law, A-law, GSM at 8 kHz)
#   reverb         + rooms: the whole pool
#   pitch_free     the whole pool with a quarter of espeak-ng whose pitch is drawn whatever the voice's gender
#   vtlp           the whole pool, every utterance's features warped in frequency on the fly by a factor in
#                  0.9-1.1 (--vtlp 0.1: vocal tract length perturbation, a new tract each epoch)
# Run from the repository root after recipes/russian.sh's data stage:  recipes/russian_augment.sh
# (DATA=..., INIT=..., COUNT=..., EPOCHS=..., CONFIGS="espeak reverb" to run some, ARGS=... to override).
# Stages (recipes/stages.sh: STAGE=N STOP_STAGE=M run only N..M, DRY_RUN=1 prints their commands):
#   1 subsets   DATA/augment/CONFIG/train.csv for each configuration (manifests only: no audio is copied)
#   2 train     each configuration from INIT, best exported to DATA/augment/CONFIG/model, its wall time logged
#   3 measure   each model on the three held-out sets; DATA/augment/table.md gathers the figures
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/stages.sh
dry_run || source scripts/install.sh
DATA=${DATA:-data/ru_natural}
INIT=${INIT:-ru_numbers/states/words}
COUNT=${COUNT:-1800}
EPOCHS=${EPOCHS:-3}
CONFIGS=${CONFIGS:-"espeak festival_male festival_all telephone reverb pitch_free vtlp"}
ARGS=${ARGS:-"--units words --hidden_size 192 --layer_size 3 --conv_channels 8 --batch_frames 10000 --workers 1
 --lr 1e-3 --warmup_steps 50 --lr_decay cosine --clip_norm 5 --precision auto --gender_by head --gender_weight 1"}
ARGS=$(echo $ARGS)
TESTS="espeak festival pitch_free"
WORK=$DATA/augment

# The conditions of each configuration's rows in the pool (ru_numbers.subset --where, all must hold).
where() {
  case $1 in
    espeak) echo "--where source=espeak --where channel=none --where reverb=" ;;
    festival_male) echo "--where shift=,male --where channel=none --where reverb=" ;;
    festival_all) echo "--where channel=none --where reverb=" ;;
    telephone) echo "--where reverb=" ;;
    reverb | pitch_free | vtlp) echo "" ;;
    *) echo "$(basename "$0"): error: unknown configuration '$1' (known: espeak festival_male festival_all" \
            "telephone reverb pitch_free vtlp)" >&2; return 2 ;;
  esac
}

# What a configuration adds to the training flags (the augmentations applied on the fly).
extra_args() {
  case $1 in
    vtlp) echo "--vtlp 0.1" ;;
    *) echo "" ;;
  esac
}

if stage 1 "subsets: $COUNT utterances per configuration from $DATA/train.csv"; then
  for config in $CONFIGS; do
    conditions=$(where "$config")
    if [ "$config" = pitch_free ]; then  # three quarters from the pool, a quarter of pitch-free espeak-ng
      py -m ru_numbers.subset "$DATA/train.csv" "$WORK/$config/train.csv" --count $(( COUNT * 3 / 4 ))
      py -m ru_numbers.subset "$DATA/train_pitch_free/train.csv" "$WORK/$config/pitch_free.csv" \
        --count $(( COUNT - COUNT * 3 / 4 ))
    else
      py -m ru_numbers.subset "$DATA/train.csv" "$WORK/$config/train.csv" --count "$COUNT" $conditions
    fi
  done
fi
if stage 2 "train: each configuration from $INIT, $EPOCHS epochs"; then
  for config in $CONFIGS; do
    manifests="$WORK/$config/train.csv"
    [ "$config" != pitch_free ] || manifests+=" $WORK/$config/pitch_free.csv"
    started=$(date +%s)
    py -m ru_numbers.train --train $manifests --init "$INIT" --export "$WORK/$config/model" \
      --max_epochs "$EPOCHS" $ARGS $(extra_args "$config")
    echo "$config: training wall time $(( $(date +%s) - started )) s" | run tee "$WORK/$config/wall.txt"
  done
fi
if stage 3 "measure: each configuration on the held-out sets, gathered in $WORK/table.md"; then
  for config in $CONFIGS; do
    for part in $TESTS; do
      py -m ru_numbers.evaluate --states "$WORK/$config/model" "$DATA/test_$part/test.csv" "$WORK/$config/$part.csv"
      py_into "$WORK/$config/$part.txt" -m ru_numbers.report "$DATA/test_$part/test.csv" "$WORK/$config/$part.csv"
    done
  done
  runs=""
  [ ! -d "$DATA/shipped" ] || runs="$DATA/shipped"  # INIT itself, measured by recipes/russian.sh
  for config in $CONFIGS; do runs+=" $WORK/$config"; done
  py_into "$WORK/table.md" -m ru_numbers.report_table "$DATA" $runs
  dry_run || cat "$WORK/table.md"
fi
