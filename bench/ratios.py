#!/usr/bin/env python3
"""Reads benchmark JSON lines (stdin) from bench_dwn and dwn_torch_baseline.py run in the same run
on the same machine, and prints one JSON line per comparable pair with the speed ratio
(difflut over pytorch: > 1 means DiffLUT is faster)."""
import json
import sys


def main():
    rows = [json.loads(line) for line in sys.stdin if line.strip().startswith("{")]
    by_key = {}
    for r in rows:
        key = (r.get("bench"), r.get("device"), r.get("batch"))
        by_key.setdefault(key, {})[r.get("impl")] = r
    for (bench, device, batch), impls in sorted(by_key.items(), key=lambda kv: str(kv[0])):
        ours, base = impls.get("difflut"), impls.get("pytorch")
        if not ours or not base:
            continue
        out = {"bench": bench + "_ratio", "device": device, "batch": batch,
               "machine": ours.get("machine")}
        if bench == "dwn_train_step":
            out["speedup_vs_pytorch"] = base["ms_per_step"] / ours["ms_per_step"]
        elif bench == "dwn_inference":
            out["speedup_vs_pytorch"] = ours["samples_per_second"] / base["samples_per_second"]
        elif bench == "dwn_train_epoch":
            out["speedup_vs_pytorch"] = base["epoch_seconds"] / ours["epoch_seconds"]
            out["test_accuracy_difflut"] = ours["test_accuracy"]
            out["test_accuracy_pytorch"] = base["test_accuracy"]
        else:
            continue
        print(json.dumps(out))


if __name__ == "__main__":
    main()
