#!/usr/bin/env bash
# The BitLogic ablations (Fashion-MNIST, configs/model/bitlogic_ablation.yaml: two layers of 4000
# LUT nodes, fixed random connections, 20 epochs), one difflut-train run per row, one JSON line per
# row with its test accuracy and training time next to the paper's figure:
#   ABLATION=nodes     (default) every node type (issue 6, issue 15's fourier and warp)
#   ABLATION=encoders  every encoder at the node type $ABLATION_NODE (default hybrid)
#   ABLATION=fanin     fan-in n = 2..6 at the node type $ABLATION_NODE
#   ABLATION_ROWS="a b" only these rows of the chosen table (e.g. ABLATION_ROWS=fourier)
#   scripts/bitlogic-ablation.sh [device=cpu|cuda] [extra difflut-train overrides...]
# Needs a built tree (scripts/build.sh); runs go to outputs/bitlogic_ablation_<row>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${DIFFLUT_BUILD_DIR:-$root/build}"
epochs="${ABLATION_EPOCHS:-20}"
ablation="${ABLATION:-nodes}"
node="${ABLATION_NODE:-hybrid}"
# Paper figures (Fashion-MNIST test accuracy, %), rows in the order runs are made.
declare -A paper
case "$ablation" in
  nodes)
    rows=(linear_lut difflogic dwn polylut hybrid probabilistic warp fourier neurallut)
    paper=([hybrid]=84.0 [probabilistic]=83.5 [neurallut]=81.7 [difflogic]=78.8 [dwn]=73.0
           [linear_lut]=70.8 [polylut]=70.2 [fourier]=77.8 [warp]=69.2) ;;
  encoders)
    rows=(logarithmic distributive onehot thermometer gaussian gray binary sign_magnitude)
    paper=([logarithmic]=83.8 [distributive]=83.5 [onehot]=83.2 [thermometer]=82.4 [gaussian]=81.8
           [gray]=81.0 [binary]=80.3 [sign_magnitude]=79.7) ;;
  fanin)
    rows=(2 3 4 5 6)
    paper=([2]=79.3 [3]=82.0 [4]=83.5 [5]=84.2 [6]=84.9) ;;
  *) echo "bitlogic-ablation: unknown ABLATION '$ablation' (known: nodes, encoders, fanin)" >&2; exit 2 ;;
esac
if [ -n "${ABLATION_ROWS:-}" ]; then
  read -ra wanted <<< "$ABLATION_ROWS"
  for row in "${wanted[@]}"; do
    [ -n "${paper[$row]:-}" ] || {
      echo "bitlogic-ablation: ABLATION_ROWS: unknown $ablation row '$row' (known: ${rows[*]})" >&2; exit 2; }
  done
  rows=("${wanted[@]}")
fi
for row in "${rows[@]}"; do
  case "$ablation" in
    nodes)
      args=("model.params.node_type=$row")
      [ "$row" = difflogic ] && args+=(model.params.num_inputs=2) ;;  # DiffLogic gates: two inputs
    encoders) args=("model.params.node_type=$node" "model.params.encoder.name=$row") ;;
    fanin) args=("model.params.node_type=$node" "model.params.num_inputs=$row") ;;
  esac
  log="$(mktemp)"
  "$build/difflut-train" model=bitlogic_ablation "${args[@]}" "training.epochs=$epochs" \
    "experiment_name=bitlogic_ablation_${ablation}_$row" "$@" > "$log" 2>&1 || {
    echo "bitlogic-ablation: $row failed:" >&2; tail -5 "$log" >&2; rm -f "$log"; exit 1; }
  acc="$(sed -n 's/^test_accuracy=//p' "$log" | tail -1)"
  secs="$(sed -n 's/^train_seconds=\([0-9.]*\).*/\1/p' "$log" | tail -1)"
  run_dir="$(sed -n 's/^run_dir=//p' "$log" | tail -1)"
  rm -f "$log"
  printf '{"bench": "bitlogic_ablation", "ablation": "%s", "row": "%s", "node_type": "%s", "epochs": %s, "test_accuracy": %s, "paper_accuracy": %s, "train_seconds": %s, "run_dir": "%s"}\n' \
    "$ablation" "$row" "$([ "$ablation" = nodes ] && echo "$row" || echo "$node")" "$epochs" "$acc" \
    "$(awk "BEGIN{print ${paper[$row]} / 100}")" "$secs" "$run_dir"
done
