#!/usr/bin/env bash
# DWN benchmark against the pure-PyTorch implementation of the same model, in the same run on the
# same machine: prints both implementations' JSON lines, then the ratio lines.
#   scripts/bench-dwn.sh [cpu|cuda] [--epoch]
# Needs a built tree (scripts/build.sh) and PyTorch (Debian python3-torch on the CPU).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
device="${1:-cpu}"
epoch="${2:-}"
build="${DIFFLUT_BUILD_DIR:-$root/build}"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
python=python3
if [ "$device" = cpu ] && [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import torch" 2>/dev/null; then
  python=/usr/bin/python3
fi
"$build/bench_dwn" --device "$device" ${epoch:+--epoch} | tee -a "$tmp"
steps=20
[ "$device" = cpu ] && steps=3   # pure PyTorch takes seconds per step on a small CPU
train_epochs=0
[ -n "$epoch" ] && train_epochs=1
"$python" "$root/bench/dwn_torch_baseline.py" --device "$device" --steps "$steps" \
  --train-epochs "$train_epochs" | tee -a "$tmp"
python3 "$root/bench/ratios.py" < "$tmp"
