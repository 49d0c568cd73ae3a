# Sourced by the recipes after stages.sh. train_session DATASET ENTRY ARGS runs ENTRY on the registered DATASET in a
# local NSML session with ARGS and follows its log until it ends (Ctrl-C stops the session too); the session's name
# is left in SESSION. export_session SESSION OUT exports the session's best checkpoint to OUT without its optimizer
# state, with the training log and plot beside it (a third argument: models.export's decoding flags, recorded as
# the export's recommended decoding). latest_session DATASET names the newest finished session on
# DATASET, for an export stage run without the train stage.
train_session() {
  local dataset=$1 entry=$2 args=$3
  SESSION=$(py -m nsml run -d "$dataset" -e "$entry" -a "$args" --nproc "${NPROC:-1}" --detach)
  if dry_run; then
    SESSION="USER/$dataset/N"
  fi
  trap 'echo; py -m nsml stop "$SESSION"; exit 130' INT TERM
  py -m nsml logs -f "$SESSION"
  trap - INT TERM
}

export_session() {
  local session=$1 out=$2 decoding=${3:-}
  run rm -rf "$out.tmp" && py -m nsml model pull "$session" best "$out.tmp"
  py -m models.export "$out.tmp" "$out" $decoding && run rm -rf "$out.tmp"
  py_into "$out/training.log" -m nsml logs "$session"
  py -m nsml plot "$session" --out "$out/training.png"
}

latest_session() {
  local dataset=$1 found
  if dry_run; then
    echo "USER/$dataset/N"
    return
  fi
  found=$("$PYTHON" -m nsml ps --json | "$PYTHON" -c 'import json, sys
done = [s for s in json.load(sys.stdin) if s["dataset"] == sys.argv[1] and s["status"] == "done"]
print(max(done, key=lambda s: s["created"])["name"] if done else "")' "$dataset")
  if [ -z "$found" ]; then
    echo "$(basename "$0"): error: no finished session on dataset $dataset: run the train stage first, or give" \
         "RECIPE_SESSION=USER/$dataset/N" >&2
    exit 2
  fi
  echo "$found"
}
