# Sourced first by the recipes: numbered stages as in icefall's prepare.sh, selected from the environment.
#   STAGE=N STOP_STAGE=M  run only stages N..M (default: all of them)
#   FORCE_DATA=1          the data stage makes its data again even where it is already present
#   DRY_RUN=1             print each selected stage's commands ("+ python ...") instead of running them, and
#                         install nothing
# Defines stage, data_present, dry_run, and the commands' runners: py (the recipe's interpreter), py_into (its
# output into a file) and run (any other command).
STAGE=${STAGE:-1}
STOP_STAGE=${STOP_STAGE:-99}
for _stage_bound in "$STAGE" "$STOP_STAGE"; do
  if ! [[ $_stage_bound =~ ^[0-9]+$ ]]; then
    echo "$(basename "$0"): error: STAGE and STOP_STAGE must be stage numbers, got '$_stage_bound'" >&2
    exit 2
  fi
done
if (( STAGE > STOP_STAGE )); then
  echo "$(basename "$0"): error: STAGE=$STAGE comes after STOP_STAGE=$STOP_STAGE: no stage selected" >&2
  exit 2
fi
exec 3>&1  # a dry run's commands go here, even from inside $(...) or a redirection to /dev/null

dry_run() {
  [ "${DRY_RUN:-0}" = 1 ]
}

if dry_run; then
  set +e +o pipefail  # nothing runs, so nothing may stop it: a grep over the output of a command not run finds nothing
fi

# stage N DESCRIPTION: true when stage N is selected, after saying "stage N: DESCRIPTION".
stage() {
  local number=$1
  shift
  (( number >= STAGE && number <= STOP_STAGE )) || return 1
  echo "stage $number: $*"
}

# data_present FILE...: true when every FILE exists and FORCE_DATA is not 1, after saying that they are kept.
data_present() {
  [ "${FORCE_DATA:-0}" = 1 ] && return 1
  local file
  for file in "$@"; do
    [ -e "$file" ] || return 1
  done
  echo "  $* present: kept, not made again (FORCE_DATA=1 to make it again)"
}

py() {
  if dry_run; then
    echo "+ python $*" >&3
  else
    "$PYTHON" "$@"
  fi
}

py_into() {
  local file=$1
  shift
  if dry_run; then
    echo "+ python $* > $file" >&3
  else
    "$PYTHON" "$@" > "$file"
  fi
}

run() {
  if dry_run; then
    echo "+ $*" >&3
  else
    "$@"
  fi
}
