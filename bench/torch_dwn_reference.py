#!/usr/bin/env python3
"""The published torch_dwn library (PyPI `torch-dwn`, CUDA only) running its README model on
Fashion-MNIST, as a second baseline next to dwn_torch_baseline.py: the real thing people use today,
not our re-implementation of its math. Same recipe as difflut-train's defaults: distributive
thermometer (3 bits, feature-wise) -> LUTLayer(2000, n=6, learnable mapping) -> LUTLayer(1000, n=6,
random mapping) -> GroupSum(10, tau=1/0.3); Adam 1e-2, StepLR(14, 0.1) per epoch, batch 32; the
training loop follows torch_dwn's tutorial (fresh permutation per epoch, test after each epoch).

The library is not a dependency of the project: scripts/fetch-torch-dwn.sh puts its source archive
in .whl/ and scripts/gpu-check.sh (step torch_dwn) builds it on the GPU machine. Without it (or
without a GPU, which its EFD operator needs) this script says so on one line and exits 77.

Prints one JSON object per line with "impl": "torch_dwn", in the same shape as
dwn_torch_baseline.py, so that bench/ratios.py pairs it with bench_dwn's lines. Usage:
  torch_dwn_reference.py [--batches 32,256,1024] [--steps N] [--train-epochs E] [--seed S]
"""
import argparse
import json
import os
import sys
import time

import torch

from dwn_torch_baseline import find_fashion, machine

SKIP = 77


def load_library():
    try:
        import torch_dwn  # noqa: F401  (a third-party baseline, built outside the project)
    except ImportError as e:
        print(f"torch_dwn_reference: skipped: torch_dwn is not importable ({e}); "
              "see scripts/fetch-torch-dwn.sh", file=sys.stderr)
        sys.exit(SKIP)
    if not torch.cuda.is_available():
        print("torch_dwn_reference: skipped: torch_dwn's EFD operator needs a CUDA GPU, none found",
              file=sys.stderr)
        sys.exit(SKIP)
    return torch_dwn


def build_model(dwn, in_bits):
    return torch.nn.Sequential(
        dwn.LUTLayer(in_bits, 2000, n=6, mapping="learnable"),
        dwn.LUTLayer(2000, 1000, n=6),
        dwn.GroupSum(10, tau=1 / 0.3),
    ).cuda()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="32,256,1024")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--train-epochs", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=os.environ.get("DIFFLUT_FASHION_MNIST_DIR",
                                                     "/usr/share/datasets/fashion-mnist"))
    args = ap.parse_args()
    dwn = load_library()
    torch.manual_seed(args.seed)

    xtr, ytr, xte, yte = find_fashion(args.data)
    xtr = torch.tensor(xtr.reshape(len(xtr), -1), dtype=torch.float32) / 255.0
    xte = torch.tensor(xte.reshape(len(xte), -1), dtype=torch.float32) / 255.0
    thermometer = dwn.DistributiveThermometer(3).fit(xtr)
    etr = thermometer.binarize(xtr).flatten(start_dim=1).cuda()
    ete = thermometer.binarize(xte).flatten(start_dim=1).cuda()
    ytr = torch.tensor(ytr, dtype=torch.long).cuda()
    yte = torch.tensor(yte, dtype=torch.long).cuda()
    name = machine("cuda")

    model = build_model(dwn, etr.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def step(xb, yb):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    def test_accuracy():
        model.eval()
        with torch.no_grad():
            acc = (model(ete).argmax(dim=1) == yte).float().mean().item()
        model.train()
        return acc

    model.train()
    for bs in [int(b) for b in args.batches.split(",") if b]:
        xb, yb = etr[:bs], ytr[:bs]
        for _ in range(3):
            step(xb, yb)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step(xb, yb)
        torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / args.steps
        print(json.dumps({"bench": "dwn_train_step", "impl": "torch_dwn", "device": "cuda",
                          "machine": name, "batch": bs, "ms_per_step": dt * 1e3,
                          "epoch_seconds_est": dt * (60000 // bs)}), flush=True)

    model.eval()
    with torch.no_grad():
        bs = 1024
        model(ete[:bs])
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        reps = 10
        for _ in range(reps):
            model(ete[:bs])
        torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / reps
    print(json.dumps({"bench": "dwn_inference", "impl": "torch_dwn", "device": "cuda",
                      "machine": name, "batch": bs, "samples_per_second": bs / dt}), flush=True)

    if args.train_epochs <= 0:
        return
    # A fresh model for the accuracy run, so the timing steps above do not count as training.
    torch.manual_seed(args.seed)
    model = build_model(dwn, etr.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=14, gamma=0.1)
    n = etr.shape[0]
    for epoch in range(args.train_epochs):
        model.train()
        perm = torch.randperm(n, device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for i in range(0, n, 32):
            idx = perm[i:i + 32]
            step(etr[idx], ytr[idx])
        torch.cuda.synchronize()
        secs = time.perf_counter() - t0
        sched.step()
        print(json.dumps({"bench": "dwn_train_epoch", "impl": "torch_dwn", "device": "cuda",
                          "machine": name, "batch": 32, "epoch": epoch + 1,
                          "epoch_seconds": secs, "test_accuracy": test_accuracy()}), flush=True)


if __name__ == "__main__":
    main()
