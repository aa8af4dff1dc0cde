#!/usr/bin/env bash
# The long hardware checks of docs/HARDWARE.md (not in ctest): every test image through the
# streaming top in Verilator with random stalls, Icarus on 1,000 images, flattened synthesis, and
# iCE40 place and route. Usage:
#   scripts/hdl-acceptance.sh verify-mnist  MNIST_900_NODE.safetensors  OUT_DIR
#   scripts/hdl-acceptance.sh pnr-mnist     MNIST_900_NODE.safetensors  OUT_DIR
#   scripts/hdl-acceptance.sh verify-fmnist DEFAULT_MODEL.safetensors   OUT_DIR
#   scripts/hdl-acceptance.sh icarus-fmnist DEFAULT_MODEL.safetensors   OUT_DIR
#   scripts/hdl-acceptance.sh synth-fmnist  DEFAULT_MODEL.safetensors   OUT_DIR
# Each step prints difflut-export's report; its last line is the key=value summary. Runs nice'd,
# one tool at a time (Verilator builds and nextpnr runs take minutes on a shared 2-core machine).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exe="$root/build/difflut-export"
step="${1:?step}"; model="${2:?checkpoint}"; out="${3:?output directory}"
mkdir -p "$out"
export DIFFLUT_DATA_ROOT="${DIFFLUT_DATA_ROOT:-/work/shared/data}"
# The 900-node MNIST model behind the streaming top: 8-bit input bus, encoded bits in (the encoder
# runs outside, as in the issue's 74 MHz measurement), registers after every layer and every
# popcount / argmax level.
mnist_top=(--no-encoder --interface stream --bus-bits 8 --pipeline 1 --popcount-regs 1 --argmax-regs 1)
case "$step" in
  verify-mnist)
    nice "$exe" "$model" "${mnist_top[@]}" --stall 30 --verify --out "$out/mnist_stream" ;;
  pnr-mnist)
    nice "$exe" "$model" "${mnist_top[@]}" --limit 16 --pnr ice40 --part hx8k --package ct256 \
      --seeds 3 --out "$out/mnist_pnr" ;;
  verify-fmnist)
    # Encoder included, a 64-bit bus (98 beats a sample), with and without fine pipelining.
    nice "$exe" "$model" --interface stream --bus-bits 64 --stall 30 --verify --out "$out/fm_stream_comb"
    nice "$exe" "$model" --interface stream --bus-bits 64 --stall 30 --pipeline 1 --popcount-regs 1 \
      --argmax-regs 1 --verify --out "$out/fm_stream_fine" ;;
  icarus-fmnist)
    nice "$exe" "$model" --simulator icarus --verify --limit 1000 --out "$out/fm_icarus" ;;
  synth-fmnist)
    nice "$exe" "$model" --synth --limit 16 --out "$out/fm_synth"
    nice "$exe" "$model" --synth --limit 16 --no-encoder --out "$out/fm_synth_noenc" ;;
  *) echo "hdl-acceptance.sh: unknown step '$step'" >&2; exit 2 ;;
esac
