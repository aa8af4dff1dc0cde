#!/usr/bin/env bash
# Checks that every C++/CUDA source and header tracked by git (*.h *.hpp *.cpp *.cc *.cu *.cuh)
# is formatted as .clang-format says. Prints each file that differs and exits 1 if there is any;
# exits 0 when all match. Needs clang-format (Debian package clang-format).
#   scripts/check-format.sh            check the whole tree
#   scripts/check-format.sh FILE...    check only these files
#   CLANG_FORMAT=clang-format-14 ...   choose the binary
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
clang_format="${CLANG_FORMAT:-clang-format}"
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "check-format: expected '$clang_format' on PATH, found none (apt-get install clang-format)" >&2
  exit 2
fi
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- '*.h' '*.hpp' '*.cpp' '*.cc' '*.cu' '*.cuh')
fi
differ=()
for f in "${files[@]}"; do
  if ! "$clang_format" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
    differ+=("$f")
  fi
done
if [ "${#differ[@]}" -gt 0 ]; then
  printf '%s\n' "${differ[@]}"
  echo "check-format: ${#differ[@]} of ${#files[@]} files differ from .clang-format (fix: clang-format -i FILE)" >&2
  exit 1
fi
echo "check-format: all ${#files[@]} files match .clang-format"
