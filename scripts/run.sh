#!/usr/bin/env bash
# The main job: installs missing packages, builds, and trains the default DWN model for one epoch,
# printing test_accuracy=... last. Arguments are passed to the app as key=value overrides.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh
export DIFFLUT_DATA_ROOT="${DIFFLUT_DATA_ROOT:-$(cd "$root/.." && pwd)/shared/data}"
./build/difflut-train training.epochs=1 "$@"
