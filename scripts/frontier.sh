#!/usr/bin/env bash
# Accuracy against hardware size (issue 16's frontier): trains one model per size on one dataset,
# exports each with its encoder, maps it to LUT6 with Yosys and checks the circuit against the
# network on the whole test set, one JSON line per size:
#   FRONTIER_SIZES="500,250 2000,1000"  hidden sizes, one model per entry (default below)
#   FRONTIER_EPOCHS=15                   training epochs of every model
#   FRONTIER_HOLDOUT=N                   train without the last N training samples and score on
#                                        them (CIFAR-10: its test file here holds 1,000 images)
#   FRONTIER_SYNTH=modules               Yosys per module only (difflut-export --synth-modules:
#                                        minutes where the flattened ABC run takes hours on wide
#                                        models); default flat
#   scripts/frontier.sh DATASET [extra difflut-train overrides...]
# e.g. scripts/frontier.sh fashionmnist model.params.layer_type=sparse device=cpu
# Needs a built tree (scripts/build.sh) and Yosys; runs go to outputs/frontier_<dataset>_<size>/.
# Every line carries the training time and the machine's load average at the start and the end
# of training, so a reader can tell a quiet run from a shared one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${DIFFLUT_BUILD_DIR:-$root/build}"
[ $# -ge 1 ] || { echo "usage: scripts/frontier.sh DATASET [overrides...]" >&2; exit 2; }
dataset="$1"
shift
read -ra sizes <<< "${FRONTIER_SIZES:-500,250 2000,1000 8000,4000}"
epochs="${FRONTIER_EPOCHS:-15}"
holdout="${FRONTIER_HOLDOUT:-0}"
case "${FRONTIER_SYNTH:-flat}" in
  flat) synth_flag=--synth ;;
  modules) synth_flag=--synth-modules ;;
  *) echo "frontier: FRONTIER_SYNTH is '$FRONTIER_SYNTH', expected flat or modules" >&2; exit 2 ;;
esac
split_args=()
export_split=()
if [ "$holdout" != 0 ]; then
  split_args=("dataloaders.holdout=$holdout")
  export_split=(--holdout "$holdout")
fi
load() { cut -d' ' -f1 /proc/loadavg; }
for size in "${sizes[@]}"; do
  [[ "$size" =~ ^[0-9]+(,[0-9]+)*$ ]] || {
    echo "frontier: FRONTIER_SIZES entry '$size' is not a comma-separated list of node counts" >&2
    exit 2; }
  log="$(mktemp)"
  load_before="$(load)"
  "$build/difflut-train" "dataloaders=$dataset" "model.params.hidden_sizes=[$size]" \
    "training.epochs=$epochs" "experiment_name=frontier_${dataset}_${size/,/_}" \
    training.checkpoint_every=0 "${split_args[@]}" "$@" > "$log" 2>&1 || {
    echo "frontier: training $size failed:" >&2; tail -5 "$log" >&2; rm -f "$log"; exit 1; }
  load_after="$(load)"
  acc="$(sed -n 's/^test_accuracy=//p' "$log" | tail -1)"
  secs="$(sed -n 's/^train_seconds=\([0-9.]*\).*/\1/p' "$log" | tail -1)"
  run_dir="$(sed -n 's/^run_dir=//p' "$log" | tail -1)"
  # The exported circuit (encoder included) against the network on every test sample (its C++
  # software model), then Yosys's LUT6 mapping of the flattened design.
  "$build/difflut-export" "$run_dir/model.safetensors" "$synth_flag" "${export_split[@]}" > "$log" 2>&1 || {
    echo "frontier: export of $size failed:" >&2; tail -5 "$log" >&2; rm -f "$log"; exit 1; }
  last="$(tail -1 "$log")"
  rm -f "$log"
  field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<< "$last"; }
  printf '{"bench": "frontier", "dataset": "%s", "hidden_sizes": [%s], "epochs": %s, "holdout": %s, "test_accuracy": %s, "train_seconds": %s, "load_before": %s, "load_after": %s, "mismatches": %s, "luts": %s, "ffs": %s, "synth": "%s", "run_dir": "%s"}\n' \
    "$dataset" "$size" "$epochs" "$holdout" "$acc" "$secs" "$load_before" "$load_after" \
    "$(field mismatches)" "$(field luts)" "$(field ffs)" "${FRONTIER_SYNTH:-flat}" "$run_dir"
done
