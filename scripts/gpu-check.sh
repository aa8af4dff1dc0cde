#!/usr/bin/env bash
# GPU-machine check (H100/H200): builds the minimal CUDA configuration for sm_90 (only the CUDA
# toolkit, the standard library and a carried doctest header), runs the test suites with the GPU
# present, then the GPU benchmarks, writing logs under $OUT. Usage:
#   scripts/gpu-check.sh [tests] [bench] [infer] [train] [long] [nodes] [ablation] [reference] [torch_dwn]
# (default: tests bench infer). infer: compiled inference, scripts/bench-infer.sh on the GPU machine
# (float graph, software model, CPU engines, the CUDA engine and the PyTorch peer in one call), on
# the newest model a train step left in /tmp/runs, else an untrained default-size model.
# Needs .deps/doctest/doctest.h (copied from /usr/include/doctest) and, for bench/train,
# .device-data/fashion-mnist/*.gz carried along; torch_dwn needs .whl/ (scripts/fetch-torch-dwn.sh).
set -uo pipefail
OUT="${OUT:-/tmp/difflut-gpu-out}"
mkdir -p "$OUT"
export PATH="/usr/local/cuda/bin:$PATH"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
steps="${*:-tests bench infer}"
summary="$OUT/summary.txt"
{
  echo "date: $(date -u)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  nvcc --version | tail -1
  nproc
} > "$summary"

# The PyTorch reference needs no build: start its seeds first, in the background, so that they
# run while the build and the tests do (at batch 32 each process mostly waits on kernel launches).
ref_pids=()
if [[ " $steps " == *" reference "* ]]; then
  for seed in ${REFERENCE_TORCH_SEEDS:-0 1 2}; do
    timeout "${REFERENCE_TIMEOUT:-480}" python3 bench/dwn_torch_baseline.py --device cuda \
      --batches 32 --steps 1 --train-epochs 15 --seed "$seed" --threads 4 \
      --data "$root/.device-data/fashion-mnist" > "$OUT/reference_torch_$seed.jsonl" 2>&1 &
    ref_pids+=($!)
  done
  ref_t0=$(date +%s)
fi

t0=$(date +%s)
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DDIFFLUT_MINIMAL=ON -DDIFFLUT_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DDIFFLUT_DOCTEST_DIR="$root/.deps" > "$OUT/build.log" 2>&1 &&
  cmake --build build-gpu -j "$(nproc)" >> "$OUT/build.log" 2>&1
rc=$?
echo "build rc=$rc seconds=$(( $(date +%s) - t0 ))" >> "$summary"
if [ $rc -ne 0 ]; then tail -40 "$OUT/build.log"; exit 1; fi

# Fashion-MNIST: the IDX .gz files travel; the minimal build reads the decompressed files.
if [ -d .device-data/fashion-mnist ]; then
  mkdir -p /tmp/fmnist
  for f in .device-data/fashion-mnist/*.gz; do gunzip -c "$f" > "/tmp/fmnist/$(basename "$f" .gz)"; done
  export DIFFLUT_FASHION_MNIST_DIR=/tmp/fmnist
fi
if [ -d .device-data/mnist ]; then
  mkdir -p /tmp/data/mnist
  for f in .device-data/mnist/*.gz; do gunzip -c "$f" > "/tmp/data/mnist/$(basename "$f" .gz)"; done
  export DIFFLUT_DATA_ROOT=/tmp/data
fi

for step in $steps; do
  case "$step" in
    tests)
      t0=$(date +%s)
      (cd build-gpu && ctest --output-on-failure -L "cuda|cpu|gradcheck|determinism" --timeout 300) \
        > "$OUT/ctest.log" 2>&1
      echo "ctest rc=$? seconds=$(( $(date +%s) - t0 ))" >> "$summary"
      DIFFLUT_SYNC_DEBUG=1 ./build-gpu/tests/test_cuda > "$OUT/test_cuda_syncdebug.log" 2>&1
      echo "test_cuda with DIFFLUT_SYNC_DEBUG=1 rc=$?" >> "$summary"
      grep -h -E "test cases|assertions|Status" "$OUT/test_cuda_syncdebug.log" >> "$summary"
      tail -3 "$OUT/ctest.log" >> "$summary"
      ;;
    bench)
      t0=$(date +%s)
      timeout 120 ./build-gpu/bench_core >> "$OUT/bench.jsonl" 2>> "$OUT/bench.err"
      DIFFLUT_BUILD_DIR="$root/build-gpu" timeout 240 bash scripts/bench-dwn.sh cuda --epoch \
        >> "$OUT/bench.jsonl" 2>> "$OUT/bench.err"
      echo "bench rc=$? seconds=$(( $(date +%s) - t0 ))" >> "$summary"
      grep ratio "$OUT/bench.jsonl" >> "$summary"
      ;;
    infer)
      t0=$(date +%s)
      ckpt=$(ls -t /tmp/runs/*/*/model.safetensors 2>/dev/null | head -1)
      DIFFLUT_BUILD_DIR="$root/build-gpu" timeout "${INFER_TIMEOUT:-300}" bash scripts/bench-infer.sh \
        ${ckpt:+--checkpoint "$ckpt"} > "$OUT/infer.jsonl" 2>> "$OUT/bench.err"
      echo "infer rc=$? seconds=$(( $(date +%s) - t0 ))" >> "$summary"
      grep -E '"path": ?"(ratios|bound|bitslice_cuda|cuda_h2d|ratio_vs_pytorch)"' "$OUT/infer.jsonl" >> "$summary"
      ;;
    train)
      t0=$(date +%s)
      timeout 120 ./build-gpu/mlp --device cuda > "$OUT/train.log" 2>&1
      echo "mlp cuda rc=$? $(tail -1 "$OUT/train.log")" >> "$summary"
      timeout 150 ./build-gpu/difflut-train device=cuda training.epochs=1 output_dir=/tmp/runs \
        model.params.node_type=dwn >> "$OUT/train.log" 2>&1
      echo "difflut-train default 1 epoch cuda rc=$? $(tail -1 "$OUT/train.log")" >> "$summary"
      echo "train seconds=$(( $(date +%s) - t0 ))" >> "$summary"
      ;;
    long)
      t0=$(date +%s)
      timeout 200 ./build-gpu/difflut-train device=cuda training.epochs=15 output_dir=/tmp/runs \
        model.params.node_type=dwn experiment_name=fmnist_15ep > "$OUT/long.log" 2>&1
      echo "difflut-train fashionmnist 15 epochs cuda rc=$? $(tail -1 "$OUT/long.log")" >> "$summary"
      timeout 200 ./build-gpu/difflut-train device=cuda dataloaders=mnist training.epochs=30 \
        model.params.node_type=dwn output_dir=/tmp/runs experiment_name=mnist_30ep >> "$OUT/long.log" 2>&1
      echo "difflut-train mnist 30 epochs cuda rc=$? $(tail -1 "$OUT/long.log")" >> "$summary"
      echo "long seconds=$(( $(date +%s) - t0 ))" >> "$summary"
      ;;
    nodes)
      for nt in linear_lut polylut neurallut probabilistic unbound_probabilistic hybrid difflogic \
                fourier warp dwn_stable; do
        extra=""
        [ "$nt" = difflogic ] && extra="model.params.num_inputs=2"
        timeout 90 ./build-gpu/difflut-train device=cuda training.epochs=1 output_dir=/tmp/runs \
          dataloaders.subset_size=10000 model.params.node_type=$nt $extra >> "$OUT/nodes.log" 2>&1
        echo "node $nt cuda rc=$? $(grep -E 'train_seconds|test_accuracy' "$OUT/nodes.log" | tail -2 | tr '\n' ' ')" >> "$summary"
      done
      ;;
    ablation)
      t0=$(date +%s)
      DIFFLUT_BUILD_DIR="$root/build-gpu" timeout 500 bash scripts/bitlogic-ablation.sh device=cuda \
        output_dir=/tmp/runs tracking.enabled=false > "$OUT/ablation.jsonl" 2> "$OUT/ablation.err"
      echo "ablation rc=$? seconds=$(( $(date +%s) - t0 ))" >> "$summary"
      cat "$OUT/ablation.jsonl" >> "$summary"
      ;;
    reference)
      # Is 15-epoch accuracy a property of the semantics? The PyTorch reference (same math as
      # torch_dwn, StepLR(14, 0.1); started before the build) and difflut-train, 15 epochs each.
      for seed in ${REFERENCE_DIFFLUT_SEEDS:-1 2 3 4}; do
        timeout 100 ./build-gpu/difflut-train device=cuda training.epochs=15 seed="$seed" \
          model.params.node_type=dwn output_dir=/tmp/runs tracking.enabled=false > "$OUT/reference_difflut_$seed.log" 2>&1
        echo "difflut-train seed $seed rc=$? $(grep -E 'train_seconds' "$OUT/reference_difflut_$seed.log" | tail -1) $(tail -1 "$OUT/reference_difflut_$seed.log")" >> "$summary"
      done
      for pid in "${ref_pids[@]}"; do wait "$pid"; done
      for seed in ${REFERENCE_TORCH_SEEDS:-0 1 2}; do
        echo "pytorch reference seed $seed: $(grep -c dwn_train_epoch "$OUT/reference_torch_$seed.jsonl") epochs, last: $(tail -1 "$OUT/reference_torch_$seed.jsonl")" >> "$summary"
      done
      echo "reference seconds=$(( $(date +%s) - ref_t0 ))" >> "$summary"
      ;;
    torch_dwn)
      # The published torch_dwn library (scripts/fetch-torch-dwn.sh puts its source in .whl/),
      # built here for this card, against bench_dwn in the same call: speed and accuracy ratios.
      t0=$(date +%s)
      sdist="$(ls .whl/torch_dwn-*.tar.gz 2>/dev/null | head -1)"
      if [ -z "$sdist" ]; then
        echo "torch_dwn: skipped: no .whl/torch_dwn-*.tar.gz (run scripts/fetch-torch-dwn.sh and carry .whl)" >> "$summary"
        continue
      fi
      export TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS="$(nproc)"
      if ! python3 -m pip install --no-deps --no-build-isolation --no-index --target /tmp/torch_dwn \
          "$sdist" > "$OUT/torch_dwn_build.log" 2>&1; then
        # Without pip's wheel support: build the extension in place and lay the package out by hand.
        rm -rf /tmp/torch_dwn /tmp/torch_dwn_src && mkdir -p /tmp/torch_dwn /tmp/torch_dwn_src
        tar xzf "$sdist" -C /tmp/torch_dwn_src --strip-components=1
        (cd /tmp/torch_dwn_src && python3 setup.py build_ext --inplace) >> "$OUT/torch_dwn_build.log" 2>&1
        cp -r /tmp/torch_dwn_src/src/torch_dwn /tmp/torch_dwn_src/*.so /tmp/torch_dwn/ 2>> "$OUT/torch_dwn_build.log"
      fi
      PYTHONPATH=/tmp/torch_dwn python3 -c "import torch_dwn, efd_cuda" >> "$OUT/torch_dwn_build.log" 2>&1
      echo "torch_dwn build (importable: rc=$?) seconds=$(( $(date +%s) - t0 ))" >> "$summary"
      tdwn="$OUT/torch_dwn.jsonl"
      ./build-gpu/bench_dwn --device cuda --epoch > "$tdwn" 2>> "$OUT/bench.err"
      PYTHONPATH="/tmp/torch_dwn:$root/bench" timeout "${TORCH_DWN_TIMEOUT:-300}" python3 \
        bench/torch_dwn_reference.py --train-epochs "${TORCH_DWN_EPOCHS:-1}" >> "$tdwn" 2>> "$OUT/bench.err"
      echo "torch_dwn reference rc=$? seconds=$(( $(date +%s) - t0 ))" >> "$summary"
      python3 bench/ratios.py < "$tdwn" | grep torch_dwn >> "$summary"
      grep dwn_train_epoch "$tdwn" | tail -1 >> "$summary"
      ;;
  esac
done
cat "$summary"
