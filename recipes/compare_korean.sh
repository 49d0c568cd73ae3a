#!/usr/bin/env bash
# The comparison table of docs/accuracy.md: the seed's configuration, each improvement alone on top of it, and all
# of them together, each trained on the same corpus for the same wall-time budget (MINUTES, default 6: no epoch
# starts after it) in its own local NSML session; the best checkpoint (eval loss) is then pulled and transcribed
# greedily and with a beam on the held-out split (sentences and voices never heard in training). Prints one
# Markdown row per configuration; the training seconds come from the session's log.
#   recipes/compare_korean.sh     (DATA=..., TRAIN=..., MINUTES=..., THREADS=... to change corpus, budget, threads;
#                                  FROM=N to start at the N-th configuration, e.g. to finish an interrupted table)
# Twelve configurations take about 12 x (MINUTES + 1) minutes; run nothing else meanwhile, or the budgets buy
# different amounts of work.
# Stages (recipes/stages.sh: STAGE=N STOP_STAGE=M run only N..M, DRY_RUN=1 prints their commands):
#   1 data     the corpus in DATA, made only when DATA/labels.txt is missing (FORCE_DATA=1: made again), registered
#              as the NSML dataset ko_compare
#   2 table    each configuration from the FROM-th on: trained in its own session, its best checkpoint pulled and
#              measured (CRR greedy and with a beam), one row each
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/stages.sh
dry_run || source scripts/install.sh
DATA=${DATA:-data/ko_compare}
TRAIN=${TRAIN:-1500}
MINUTES=${MINUTES:-6}
THREADS=${THREADS:-2}
FROM=${FROM:-1}
# No cosine decay: with a time budget the last step is not known in advance; the schedule row warms up instead.
COMMON="--hidden_size 256 --layer_size 3 --batch_frames 12000 --workers 1 --lr 1.5e-3 --precision auto
 --max_epochs 1000 --max_minutes $MINUTES --max_len 120"
ALL="--feature logmel --units jamo --bidirectional --ctc_weight 1 --spec_augment --warmup_steps 100 --clip_norm 5"

if stage 1 "data: the corpus in $DATA, registered as ko_compare"; then
  if ! data_present "$DATA/labels.txt"; then
    py -m corpus.make_dataset --out "$DATA" --train "$TRAIN" --test 100 --seed 1 --labels hackathon.labels \
      --train_noise_fraction 0.3 --overwrite >/dev/null 2>&1
  fi
  py -m nsml dataset add ko_compare "$DATA" --force >/dev/null
fi

# name | training flags | beam decoding flags for the second CRR column
ROWS=(
  "the seed: raw STFT, syllables, dot attention, cross-entropy|--use_attention|--beam_size 8"
  "+ log-mel (normalised)|--use_attention --feature logmel|--beam_size 8"
  "+ bidirectional encoder|--use_attention --bidirectional|--beam_size 8"
  "+ location-aware attention|--use_attention --attention location|--beam_size 8"
  "+ SpecAugment|--use_attention --spec_augment|--beam_size 8"
  "+ label smoothing 0.1|--use_attention --label_smoothing 0.1|--beam_size 8"
  "+ warm-up 100 steps, gradient clipping 5|--use_attention --warmup_steps 100 --clip_norm 5|--beam_size 8"
  "+ jamo units|--use_attention --units jamo|--beam_size 8"
  "+ joint CTC 0.5|--use_attention --ctc_weight 0.5|--beam_size 8 --ctc_weight 0.5"
  "+ CTC only (no decoder)|--ctc_weight 1|--beam_size 8"
  "all together: log-mel, jamo, bidirectional, CTC, SpecAugment, warm-up, clipping|$ALL|--beam_size 8"
  "all together + 5-gram LM in the beam|$ALL --lm_order 5|--beam_size 8 --lm_weight 0.5 --length_bonus 1.0"
)
if stage 2 "table: configurations $FROM-${#ROWS[@]}, each trained for $MINUTES min and measured"; then
  echo "| configuration | flags | training s | CRR greedy | CRR beam | session |"
  echo "|---|---|---|---|---|---|"
  for row in "${ROWS[@]:$((FROM - 1))}"; do
    IFS='|' read -r name flags beam <<< "$row"
    session=$(py -m nsml run -d ko_compare -e main.py -c "$THREADS" -a "$(echo $COMMON $flags)" -m "$name" --detach)
    py -m nsml logs -f "$session" >/dev/null
    seconds=$(py -m nsml logs "$session" | grep -o 'cer [0-9.]* ([0-9.]* s)' | grep -o '([0-9.]*' | tr -d '(' |
      awk '{ total += $1 } END { printf "%.0f", total }')
    model=$(run mktemp -d)
    py -m nsml model pull "$session" best "$model/best" >/dev/null
    crrs=()
    for decoding in "--beam_size 1" "$beam"; do
      py -m evaluation.transcribe --checkpoint "$model/best" $decoding --max_len 120 --output "$model/predictions.csv" \
        "$DATA/test/test_data/test_list.csv" 2>/dev/null
      crrs+=("$(py -m evaluation.score "$model/predictions.csv" "$DATA/test/test_label" | grep -o 'CRR [-0-9.]*' |
        head -1 | cut -d' ' -f2)")
    done
    run rm -rf "$model"
    echo "| $name | \`$flags\` | $seconds | ${crrs[0]} | ${crrs[1]} | $session |"
  done
fi
