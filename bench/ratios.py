#!/usr/bin/env python3
"""Reads benchmark JSON lines (stdin) from bench_dwn and the baselines run in the same run on the
same machine (dwn_torch_baseline.py: "impl": "pytorch"; torch_dwn_reference.py: "impl":
"torch_dwn"), and prints one JSON line per comparable pair with the speed ratio, named
speedup_vs_<baseline> (difflut over the baseline: > 1 means DiffLUT is faster). Training epochs
are paired only with the same epoch number, so that accuracies are compared like for like. Only
bench_dwn's rows with the dense learnable first mapping (the baselines' model) are paired; its other
"mapping" rows (e.g. sparse) are printed by bench_dwn itself and skipped here."""
import json
import sys


def speedup(bench, ours, base):
    if bench == "dwn_train_step":
        return base["ms_per_step"] / ours["ms_per_step"]
    if bench == "dwn_inference":
        return ours["samples_per_second"] / base["samples_per_second"]
    if bench == "dwn_train_epoch":
        return base["epoch_seconds"] / ours["epoch_seconds"]
    return None


def main():
    rows = [json.loads(line) for line in sys.stdin if line.strip().startswith("{")]
    by_key = {}
    for r in rows:
        if r.get("mapping", "learnable") != "learnable":
            continue
        key = (r.get("bench"), r.get("device"), r.get("batch"), r.get("epoch"))
        by_key.setdefault(key, {})[r.get("impl")] = r
    for (bench, device, batch, epoch), impls in sorted(by_key.items(), key=lambda kv: str(kv[0])):
        ours = impls.get("difflut")
        if not ours:
            continue
        for impl, base in sorted(impls.items()):
            ratio = speedup(bench, ours, base) if impl != "difflut" else None
            if ratio is None:
                continue
            out = {"bench": bench + "_ratio", "device": device, "batch": batch,
                   "machine": ours.get("machine"), "baseline": impl, f"speedup_vs_{impl}": ratio}
            if bench == "dwn_train_epoch":
                out["epoch"] = epoch
                out["test_accuracy_difflut"] = ours["test_accuracy"]
                out[f"test_accuracy_{impl}"] = base["test_accuracy"]
            print(json.dumps(out))


if __name__ == "__main__":
    main()
