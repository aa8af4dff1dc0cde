#!/usr/bin/env bash
# Compiled-inference benchmark: builds bench_infer and prints its JSON lines (the float graph, the
# circuit's software model, the bit-sliced CPU engine per ISA with all threads and with 1, the CUDA
# engine when a GPU is usable, then the ratio and memory-bandwidth bound lines), then the peer: the
# PyTorch reference model (bench/dwn_torch_baseline.py --inference-only, end to end from raw u8
# pixels, same machine, same run) and a line with the engine's ratio to it. The peer is skipped
# with a message when no Python with torch is found ($DIFFLUT_TORCH_PYTHON, default /usr/bin/python3).
#   scripts/bench-infer.sh [bench_infer options, e.g. --checkpoint PATH --samples N]
# Builds in $DIFFLUT_BUILD_DIR (default ./build, configured Release if it is not yet) with
# $DIFFLUT_BUILD_JOBS parallel jobs (default 2).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${DIFFLUT_BUILD_DIR:-$root/build}"
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target bench_infer -j "${DIFFLUT_BUILD_JOBS:-2}" >&2
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"$build/bench_infer" "$@" | tee "$out"
py="${DIFFLUT_TORCH_PYTHON:-/usr/bin/python3}"
if ! "$py" -c "import torch, numpy" 2>/dev/null; then
  echo "bench-infer: no Python with torch at $py; the PyTorch peer is skipped" >&2
  exit 0
fi
dev=cpu
if grep -q '"path":"bitslice_cuda"' "$out"; then dev=cuda; fi
"$py" "$root/bench/dwn_torch_baseline.py" --inference-only --device "$dev" | tee -a "$out"
"$py" - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
peer = [r for r in rows if r.get("path") == "pytorch_reference"]
eng = [r for r in rows if r.get("path") in ("bitslice_cpu", "bitslice_cuda")]
if peer and eng:
    best = max(eng, key=lambda r: r["samples_per_second"])
    print(json.dumps({"bench": "infer", "path": "ratio_vs_pytorch", "engine": best["path"],
                      "isa": best.get("isa"), "threads": best.get("threads"),
                      "engine_samples_per_second": best["samples_per_second"],
                      "pytorch_samples_per_second": peer[0]["samples_per_second"],
                      "engine_vs_pytorch": best["samples_per_second"] / peer[0]["samples_per_second"]}))
PY
