#!/usr/bin/env bash
# Puts the source archive of the published torch_dwn library (PyPI `torch-dwn`, pinned version and
# checksum) in .whl/ (git-ignored), for scripts/gpu-check.sh's torch_dwn step, which builds it on
# the GPU machine and benchmarks it next to DiffLUT. torch_dwn is a baseline we measure against,
# not a dependency: nothing in the build or the tests uses it.
# Needs PyPI access and a Python with torch (its setup.py imports torch): Debian's python3-torch.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="1.1.1"
sha256="add7fc871fa01944cedb76368defe5e728ba9aa730b69ad5f665dce466fd8f9c"
archive="$root/.whl/torch_dwn-$version.tar.gz"
python=python3
/usr/bin/python3 -c "import torch" 2>/dev/null && python=/usr/bin/python3
mkdir -p "$root/.whl"
if [ ! -f "$archive" ]; then
  "$python" -m pip download --quiet --no-deps --no-build-isolation --dest "$root/.whl" \
    "torch-dwn==$version"
fi
echo "$sha256  $archive" | sha256sum --check --quiet || {
  echo "fetch-torch-dwn: $archive: expected sha256 $sha256, found $(sha256sum "$archive" | cut -d' ' -f1)" >&2
  exit 1
}
echo "$archive"
