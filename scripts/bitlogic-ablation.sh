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
types=(linear_lut difflogic dwn polylut hybrid probabilistic neurallut)
declare -A paper=([hybrid]=84.0 [probabilistic]=83.5 [neurallut]=81.7 [difflogic]=78.8 [dwn]=73.0
                  [linear_lut]=70.8 [polylut]=70.2)
for t in "${types[@]}"; do
  extra=()
  [ "$t" = difflogic ] && extra=(model.params.num_inputs=2)  # DiffLogic gates have two inputs
  log="$(mktemp)"
  "$build/difflut-train" model=bitlogic_ablation "model.params.node_type=$t" "${extra[@]}" \
    "training.epochs=$epochs" "experiment_name=bitlogic_ablation_$t" "$@" > "$log" 2>&1 || {
    echo "bitlogic-ablation: $t failed:" >&2; tail -5 "$log" >&2; rm -f "$log"; exit 1; }
  run_dir="$(sed -n 's/^run_dir=//p' "$log" | tail -1)"
  rm -f "$log"
  python3 - "$run_dir/summary.json" "$t" "${paper[$t]}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(json.dumps({"bench": "bitlogic_ablation", "node_type": sys.argv[2], "device": s["device"],
                  "epochs": s["epochs"], "test_accuracy": s["test_accuracy"],
                  "paper_accuracy": float(sys.argv[3]) / 100, "train_seconds": s["train_seconds"],
                  "run_dir": sys.argv[1].rsplit("/", 1)[0]}), flush=True)
PY
done
