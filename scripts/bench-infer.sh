#!/usr/bin/env bash
# Compiled-inference benchmark: builds bench_infer and prints its JSON lines (the float graph, the
# circuit's software model, the bit-sliced CPU engine per ISA with all threads and with 1, the CUDA
# engine when a GPU is usable, then the ratio and memory-bandwidth bound lines).
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
"$build/bench_infer" "$@"
