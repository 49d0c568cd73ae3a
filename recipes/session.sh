# Sourced by the recipes: train_and_export DATASET ENTRY ARGS OUT runs ENTRY on the registered DATASET in a local
# NSML session with ARGS, follows its log until it ends (Ctrl-C stops the session too), then exports the session's
# best checkpoint to OUT without its optimizer state, with the training log and plot beside it. The session's
# name is left in SESSION. Needs py() (the recipe's interpreter).
train_and_export() {
  local dataset=$1 entry=$2 args=$3 out=$4
  SESSION=$(py -m nsml run -d "$dataset" -e "$entry" -a "$args" --nproc "${NPROC:-1}" --detach)
  trap 'echo; py -m nsml stop "$SESSION"; exit 130' INT TERM
  py -m nsml logs -f "$SESSION"
  trap - INT TERM
  rm -rf "$out.tmp" && py -m nsml model pull "$SESSION" best "$out.tmp"
  py -m models.export "$out.tmp" "$out" && rm -rf "$out.tmp"
  py -m nsml logs "$SESSION" > "$out/training.log"
  py -m nsml plot "$SESSION" --out "$out/training.png"
}
