#!/usr/bin/env bash
# The comparison table of docs/accuracy.md: every configuration trains on the same corpus for the same number of
# epochs (EPOCHS, default 3; the training time each took is measured and printed) in its own local NSML session,
# then its best checkpoint is submitted and scored on the held-out split (sentences and four voices never heard
# in training). Prints one table row per configuration.
#   recipes/compare_korean.sh     (DATA=..., TRAIN=..., EPOCHS=..., THREADS=... to change corpus, budget, threads)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install.sh
py() { "$PYTHON" "$@"; }
DATA=${DATA:-data/ko_compare}
EPOCHS=${EPOCHS:-2}
TRAIN=${TRAIN:-1500}
THREADS=${THREADS:-2}
COMMON="--hidden_size 256 --layer_size 3 --batch_frames 12000 --workers 2 --lr 1.5e-3 --warmup_steps 50
 --lr_decay cosine --clip_norm 5 --precision bf16 --max_epochs $EPOCHS --max_len 120"

if [ ! -f "$DATA/labels.txt" ]; then
  py -m corpus.make_dataset --out "$DATA" --train "$TRAIN" --test 100 --seed 1 --labels hackathon.labels \
    --train_noise_fraction 0.3 --overwrite >/dev/null 2>&1
fi
py -m nsml dataset add ko_compare "$DATA" --force

declare -a NAMES=(
  "seed: raw STFT, syllables, dot attention, cross-entropy"
  "log-mel, jamo, bidirectional; attention, cross-entropy"
  "log-mel, jamo, bidirectional; joint CTC 0.5 + attention"
  "log-mel, jamo, bidirectional; CTC only"
  "log-mel, jamo, bidirectional; CTC only, SpecAugment"
)
declare -a FLAGS=(
  "--use_attention"
  "--use_attention --feature logmel --units jamo --bidirectional"
  "--use_attention --feature logmel --units jamo --bidirectional --ctc_weight 0.5"
  "--feature logmel --units jamo --bidirectional --ctc_weight 1"
  "--feature logmel --units jamo --bidirectional --ctc_weight 1 --spec_augment"
)
for i in "${!NAMES[@]}"; do
  session=$(py -m nsml run -d ko_compare -e main.py -c "$THREADS" -a "$(echo $COMMON ${FLAGS[$i]})" \
    -m "${NAMES[$i]}" --detach)
  py -m nsml logs -f "$session" >/dev/null
  crr=$(py -m nsml submit "$session" best | grep -o 'CRR [-0-9.]*' | head -1)
  seconds=$(py -m nsml logs "$session" | grep -o 'cer [0-9.]* ([0-9.]* s)' | grep -o '([0-9.]*' | tr -d '(' |
    awk '{ total += $1 } END { printf "%.0f", total }')
  echo "| ${NAMES[$i]} | \`${FLAGS[$i]}\` | $seconds | $crr | $session |"
done
