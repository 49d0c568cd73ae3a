#!/usr/bin/env bash
# The shipped Russian numbers recogniser, reproduced: generates its data (20,000 training utterances, 1,200 held-out
# ones with unseen voices and numbers) unless present, trains in a local NSML session, exports the best checkpoint
# (without optimizer state) to ru_numbers/states/words with its training log and plot, and measures it on the
# held-out split, as a DDP job of two one-thread processes (nsml run --nproc 2; 5,000 frames per process per step).
# Measured: 45 min 15 s on a 2-core CPU (data 2.7 min, 7 epochs of 325-382 s). Run from the repository root:
#   recipes/russian.sh           (DATA=... for the data folder, OUT=... for the export folder, ARGS=... to override)
# NPROC=1 trains in one process of two threads (then give it --batch_frames 10000): 62 min 16 s for the previous
# model, 99.17 % exact; two processes are faster on two cores (docs/performance.md).
# Stages (recipes/stages.sh: STAGE=N STOP_STAGE=M run only N..M, DRY_RUN=1 prints their commands):
#   1 data     DATA/train.csv and DATA/test.csv, each generated only when missing (FORCE_DATA=1: both generated
#              again), the hackathon layout beside them, registered as the NSML dataset ru_numbers
#   2 train    a local NSML session of ru_numbers/train.py on ru_numbers
#   3 export   its best checkpoint to OUT, with the training log and plot (run without stage 2: the session
#              RECIPE_SESSION=USER/ru_numbers/N, else the newest finished one on ru_numbers)
#   4 measure  OUT on DATA/test.csv: exact numbers, CER and gender (ru_numbers.evaluate, ru_numbers.report)
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/stages.sh
dry_run || source scripts/install.sh
source recipes/session.sh
DATA=${DATA:-data/ru}
OUT=${OUT:-ru_numbers/states/words}
ARGS=${ARGS:-"--units words --hidden_size 192 --layer_size 3 --conv_channels 8 --batch_frames 5000 --workers 1
 --max_epochs 7 --lr 2.5e-3 --warmup_steps 200 --lr_decay cosine --clip_norm 5 --precision auto"}
ARGS=$(echo $ARGS)
SESSION=${RECIPE_SESSION:-}
started=$(date +%s)

if stage 1 "data: $DATA/train.csv and $DATA/test.csv, registered as ru_numbers"; then
  data_present "$DATA/train.csv" || py -m ru_numbers.generate --out "$DATA" --split train --count 20000 --seed 1
  data_present "$DATA/test.csv" || py -m ru_numbers.generate --out "$DATA" --split test --count 1200 --seed 2
  py -m ru_numbers.nsml_dataset "$DATA"
  py -m nsml dataset add ru_numbers "$DATA" --scorer exact --force
fi
if stage 2 "train: ru_numbers/train.py on ru_numbers in a local NSML session (${NPROC:-2} process(es))"; then
  NPROC=${NPROC:-2} train_session ru_numbers ru_numbers/train.py "$ARGS"
  echo "training wall time: $(( $(date +%s) - started )) s; session $SESSION; arguments: $ARGS"
fi
if stage 3 "export: the session's best checkpoint to $OUT"; then
  SESSION=${SESSION:-$(latest_session ru_numbers)}
  export_session "$SESSION" "$OUT"
fi
if stage 4 "measure: $OUT on $DATA/test.csv"; then
  predictions=$(run mktemp --suffix .csv)
  py -m ru_numbers.evaluate --states "$OUT" "$DATA/test.csv" "$predictions"
  py -m ru_numbers.report "$DATA/test.csv" "$predictions"
fi
