#!/usr/bin/env bash
# The test command: installs missing system packages, checks the C++/CUDA formatting against
# .clang-format (scripts/check-format.sh), builds, and runs every test suite with CTest.
# Datasets: DIFFLUT_DATA_ROOT (default: ../shared/data beside the checkout); Fashion-MNIST comes
# from the Debian package dataset-fashion-mnist.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh hdl pipeline python
bash scripts/check-format.sh
bash scripts/build.sh
export DIFFLUT_DATA_ROOT="${DIFFLUT_DATA_ROOT:-$(cd "$root/.." && pwd)/shared/data}"
cd build
ctest --output-on-failure --timeout 900 "$@"
