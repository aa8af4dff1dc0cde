#!/usr/bin/env bash
# The BitLogic node-type ablation (issue 6): trains configs/model/bitlogic_ablation.yaml (two layers
# of 4000 LUT6 nodes, fixed random connections) for 20 epochs once per node type, then prints one
# JSON line per type with its test accuracy and training time, next to the paper's figure.
#   scripts/bitlogic-ablation.sh [device=cpu|cuda] [extra difflut-train overrides...]
# Needs a built tree (scripts/build.sh); runs go to outputs/bitlogic_ablation_<type>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${DIFFLUT_BUILD_DIR:-$root/build}"
epochs="${ABLATION_EPOCHS:-20}"
# Paper figures (Fashion-MNIST test accuracy, %), in the order runs are made (cheapest first).
types=(linear_lut difflogic dwn polylut hybrid probabilistic warp fourier neurallut)
declare -A paper=([hybrid]=84.0 [probabilistic]=83.5 [neurallut]=81.7 [difflogic]=78.8 [dwn]=73.0
                  [linear_lut]=70.8 [polylut]=70.2 [fourier]=77.8 [warp]=69.2)
for t in "${types[@]}"; do
  extra=()
  [ "$t" = difflogic ] && extra=(model.params.num_inputs=2)  # DiffLogic gates have two inputs
  log="$(mktemp)"
  "$build/difflut-train" model=bitlogic_ablation "model.params.node_type=$t" "${extra[@]}" \
    "training.epochs=$epochs" "experiment_name=bitlogic_ablation_$t" "$@" > "$log" 2>&1 || {
    echo "bitlogic-ablation: $t failed:" >&2; tail -5 "$log" >&2; rm -f "$log"; exit 1; }
  acc="$(sed -n 's/^test_accuracy=//p' "$log" | tail -1)"
  secs="$(sed -n 's/^train_seconds=\([0-9.]*\).*/\1/p' "$log" | tail -1)"
  run_dir="$(sed -n 's/^run_dir=//p' "$log" | tail -1)"
  rm -f "$log"
  printf '{"bench": "bitlogic_ablation", "node_type": "%s", "epochs": %s, "test_accuracy": %s, "paper_accuracy": %s, "train_seconds": %s, "run_dir": "%s"}\n' \
    "$t" "$epochs" "$acc" "$(awk "BEGIN{print ${paper[$t]} / 100}")" "$secs" "$run_dir"
done
