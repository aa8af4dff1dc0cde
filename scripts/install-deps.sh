#!/usr/bin/env bash
# Installs the Debian packages DiffLUT needs to build and test (as root; uses sudo otherwise).
# Idempotent: only missing packages are installed, and apt-get update runs only when needed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  doctest-dev zlib1g-dev libyaml-cpp-dev libsqlite3-dev libstb-dev
  dataset-fashion-mnist
  clang-format
)
# Extra groups: "hdl" for Verilog simulation/synthesis, "python" for the PyTorch baselines,
# "pipeline" for the experiment-pipeline tests (SVG to PNG, XML check, a single-node SLURM).
for extra in "$@"; do
  case "$extra" in
    hdl) packages+=(verilator iverilog yosys nextpnr-ice40 fpga-icestorm) ;;
    python) packages+=(python3-torch python3-numpy) ;;
    pipeline) packages+=(librsvg2-bin libxml2-utils slurm-wlm munge) ;;
    *) echo "install-deps.sh: unknown group '$extra' (known: hdl, python, pipeline)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
