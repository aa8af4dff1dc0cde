#!/usr/bin/env python3
"""Interop check of DiffLUT's safetensors files against the reference Python implementation.

Needs `pip install safetensors numpy` (not needed to build or test DiffLUT).

  check_safetensors.py read FILE     print metadata and each tensor's dtype, shape and first values
  check_safetensors.py write FILE    write the interop fixture (known values) for DiffLUT to read
  check_safetensors.py verify FILE   check that FILE (written by DiffLUT) holds the fixture exactly

The fixture: f32 [3, 4] = 0.5 * i - 1; f64 [5] = i / 3; i32 [4] = {-3, 0, 7, INT32_MIN};
i64 [3] = {INT64_MIN, 0, INT64_MAX}; u8 [6] = 51 * i; empty f32 [0, 3]; scalar f64 [] = 2.5;
metadata {"source": <writer>}.
"""
import sys

import numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open


def fixture():
    return {
        "f32": (np.arange(12, dtype=np.float32) * np.float32(0.5) - np.float32(1)).reshape(3, 4),
        "f64": np.arange(5, dtype=np.float64) / 3.0,
        "i32": np.array([-3, 0, 7, np.iinfo(np.int32).min], dtype=np.int32),
        "i64": np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max], dtype=np.int64),
        "u8": (np.arange(6, dtype=np.uint8) * np.uint8(51)),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "scalar": np.array(2.5, dtype=np.float64),
    }


def read(path):
    with safe_open(path, framework="numpy") as f:
        print("metadata:", f.metadata())
    for name, t in load_file(path).items():
        flat = t.reshape(-1)
        print(f"{name}: {t.dtype} {list(t.shape)} {flat[:6].tolist()}")


def verify(path):
    got = load_file(path)
    want = fixture()
    ok = True
    if set(got) != set(want):
        print("FAIL: names", sorted(got), "expected", sorted(want))
        return False
    for name, w in want.items():
        g = got[name]
        same = g.dtype == w.dtype and g.shape == w.shape and g.tobytes() == w.tobytes()
        print(f"{'ok  ' if same else 'FAIL'} {name}: {g.dtype} {list(g.shape)}")
        ok = ok and same
    with safe_open(path, framework="numpy") as f:
        print("metadata:", f.metadata())
    return ok


def main(argv):
    if len(argv) != 3 or argv[1] not in ("read", "write", "verify"):
        print(__doc__)
        return 2
    cmd, path = argv[1], argv[2]
    if cmd == "read":
        read(path)
        return 0
    if cmd == "write":
        save_file(fixture(), path, metadata={"source": "python safetensors"})
        print("wrote", path)
        return 0
    return 0 if verify(path) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
