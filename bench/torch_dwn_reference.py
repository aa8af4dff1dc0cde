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
import os
import sys

import torch

from dwn_torch_baseline import (bench_inference, bench_steps, load_fashion_tensors, machine,
                                make_step, train_epochs)

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

    xtr, ytr, xte, yte = load_fashion_tensors(args.data)
    thermometer = dwn.DistributiveThermometer(3).fit(xtr)
    etr = thermometer.binarize(xtr).flatten(start_dim=1).cuda()
    ete = thermometer.binarize(xte).flatten(start_dim=1).cuda()
    ytr, yte = ytr.cuda(), yte.cuda()
    row = {"impl": "torch_dwn", "device": "cuda", "machine": machine("cuda")}

    # The library clamps its tables itself, at the start of every training forward.
    model = build_model(dwn, etr.shape[1])
    model.train()
    step = make_step(model, torch.optim.Adam(model.parameters(), lr=1e-2))
    bench_steps(step, etr, ytr, [int(b) for b in args.batches.split(",") if b], args.steps, "cuda",
                row)
    model.eval()
    bench_inference(model, ete, "cuda", row)

    if args.train_epochs <= 0:
        return
    # A fresh model for the accuracy run, so the timing steps above do not count as training.
    torch.manual_seed(args.seed)
    model = build_model(dwn, etr.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=14, gamma=0.1)

    def test_accuracy():  # as torch_dwn's tutorial: eval mode, the whole test set at once
        model.eval()
        with torch.no_grad():
            acc = (model(ete).argmax(dim=1) == yte).float().mean().item()
        model.train()
        return acc
    model.train()
    train_epochs(make_step(model, opt), sched, test_accuracy, etr, ytr, args.train_epochs, "cuda",
                 row)

if __name__ == "__main__":
    main()
