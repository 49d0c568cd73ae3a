#!/usr/bin/env bash
# The fine-tuning table of docs/accuracy.md: on a small corpus of one's own (here: a generated one, every utterance
# in noise at 5-15 dB, its 100 test sentences from the test-only corpus/heldout_ko_everyday.txt), the shipped model
# as it is, a model of the shipped architecture trained from scratch, and the shipped model fine-tuned with main.py
# --init pretrained/korean, the two trainings for the same wall-time budget (MINUTES, default 3: no epoch starts
# after it), each in its own local NSML session; the best checkpoint (eval loss) is pulled and transcribed greedily
# on the held-out split. Prints one Markdown row per model.
#   recipes/finetune_korean.sh     (DATA=..., TRAIN=..., MINUTES=..., THREADS=... to change corpus, budget, threads)
# About 2 x (MINUTES + 1) minutes after the data; run nothing else meanwhile, or the budgets buy different work.
# Stages (recipes/stages.sh: STAGE=N STOP_STAGE=M run only N..M, DRY_RUN=1 prints their commands):
#   1 data     the corpus in DATA, made only when DATA/labels.txt is missing (FORCE_DATA=1: made again), registered
#              as the NSML dataset ko_finetune
#   2 table    the shipped model measured as it is, then trained from scratch and fine-tuned, one row each
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/stages.sh
dry_run || source scripts/install.sh
DATA=${DATA:-data/ko_finetune}
TRAIN=${TRAIN:-200}
MINUTES=${MINUTES:-3}
THREADS=${THREADS:-2}
SHIPPED=pretrained/korean
BUDGET="--batch_frames 12000 --workers 1 --dropout 0.1 --clip_norm 5 --spec_augment --precision auto --max_len 200
 --max_epochs 1000 --max_minutes $MINUTES"
# The shipped model's architecture (recipes/korean.sh), for the model trained from scratch; --init takes it from
# the checkpoint. No cosine decay: with a time budget the last step is not known in advance.
SCRATCH="--feature logmel --units jamo --ctc_weight 1 --bidirectional --hidden_size 256 --layer_size 3
 --conv_channels 16 --lr 1.5e-3 --warmup_steps 100"
FINETUNE="--init $SHIPPED --lr 5e-4"
SCRATCH=$(echo $SCRATCH)  # one line: a table row is read up to its first newline

if stage 1 "data: the corpus in $DATA, registered as ko_finetune"; then
  if ! data_present "$DATA/labels.txt"; then
    py -m corpus.make_dataset --out "$DATA" --train "$TRAIN" --test 100 --seed 7 --labels hackathon.labels \
      --test_text corpus/heldout_ko_everyday.txt --noise_fraction 1.0 --train_noise_fraction 1.0 --snr_range 5 15 \
      --overwrite >/dev/null 2>&1
  fi
  py -m nsml dataset add ko_finetune "$DATA" --force >/dev/null
fi

# crr CHECKPOINT: the greedy CRR of CHECKPOINT on DATA's held-out split
crr() {
  local predictions
  predictions=$(run mktemp)
  py -m evaluation.transcribe --checkpoint "$1" --greedy --max_len 200 --output "$predictions" \
    "$DATA/test/test_data/test_list.csv" >/dev/null 2>&1
  py -m evaluation.score "$predictions" "$DATA/test/test_label" | grep -o 'CRR [-0-9.]*' | head -1 | cut -d' ' -f2
  run rm -f "$predictions"
}

# name | training flags
ROWS=(
  "from scratch (the shipped architecture)|$SCRATCH"
  "fine-tuned from $SHIPPED|$FINETUNE"
)
if stage 2 "table: $SHIPPED as it is, then trained from scratch and fine-tuned for $MINUTES min each"; then
  echo "| model | flags | training s | epochs | CRR greedy | session |"
  echo "|---|---|---|---|---|---|"
  echo "| $SHIPPED as it is (no training) | - | 0 | 0 | $(crr "$SHIPPED") | - |"
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name flags <<< "$row"
    session=$(py -m nsml run -d ko_finetune -e main.py -c "$THREADS" -a "$(echo $flags $BUDGET)" -m "$name" --detach)
    py -m nsml logs -f "$session" >/dev/null
    log=$(py -m nsml logs "$session")
    seconds=$(echo "$log" | grep -o 'cer [0-9.]* ([0-9.]* s)' | grep -o '([0-9.]*' | tr -d '(' |
      awk '{ total += $1 } END { printf "%.0f", total }')
    epochs=$(echo "$log" | grep -c '| eval ' || true)
    model=$(run mktemp -d)
    py -m nsml model pull "$session" best "$model/best" >/dev/null
    echo "| $name | \`$(echo $flags)\` | $seconds | $epochs | $(crr "$model/best") | $session |"
    run rm -rf "$model"
  done
fi
