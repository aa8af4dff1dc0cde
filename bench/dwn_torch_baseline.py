#!/usr/bin/env python3
"""Pure-PyTorch implementation of the default DWN model (torch_dwn's README model), as the baseline
that bench_dwn measures DiffLUT against in the same run on the same machine or GPU.

Model: distributive thermometer (3 bits) -> 2000 LUT6 with learnable mapping -> 1000 LUT6 with
random mapping -> GroupSum(10, tau = 1/0.3); Adam lr 1e-2; tables clamped to [-1, 1] after each step.
The semantics follow DESIGN.md section 3 (the same as torch_dwn): bits are x >= 0.5, input l of a
LUT is address bit l, the DWN output is 1[T[addr] > 0] with straight-through table gradients and the
EFD input gradient. The EFD gradient table is computed with the same O(k^2 2^k) factorisation our
kernels use, vectorised over LUTs, so the baseline is a strong pure-PyTorch implementation, not a
strawman.

Prints one JSON object per line. Usage:
  dwn_torch_baseline.py --device cpu|cuda --batches 32,256,1024 [--steps N] [--train-epochs E]
                        [--seed S] [--step-size 14] [--gamma 0.1] [--threads T]
Training epochs use Adam 1e-2 with StepLR(step-size, gamma) per epoch, like difflut-train.
"""
import argparse
import gzip
import json
import os
import platform
import struct
import time

import numpy as np
import torch


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_file(dirpath, stem):
    """The IDX file `stem` in `dirpath`, plain or .gz."""
    for ext in ("", ".gz"):
        p = os.path.join(dirpath, stem + ext)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(os.path.join(dirpath, stem))


def find_fashion(dirpath):
    return [read_idx(fashion_file(dirpath, s))
            for s in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]


def distributive_thresholds(x, bits):
    # t_i = sorted[floor(N * i / (bits + 1))] per feature, i = 1..bits
    s, _ = torch.sort(x, dim=0)
    n = x.shape[0]
    idx = [int(n * i // (bits + 1)) for i in range(1, bits + 1)]
    return s[idx, :].t().contiguous()  # [F, bits]


def encode(x, thr):
    return (x.unsqueeze(-1) > thr.unsqueeze(0)).float().reshape(x.shape[0], -1)


class LearnableMappingFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, tau):
        idx = torch.argmax(w, dim=0)
        ctx.save_for_backward(x, w)
        ctx.tau = tau
        return x[:, idx]

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gw = (2 * x - 1).t() @ g
        gx = None
        if ctx.needs_input_grad[0]:
            gx = g @ torch.softmax(w / ctx.tau, dim=0).t()
        return gx, gw, None


def efd_table(table, k, alpha, beta):
    """G[n, l, a] = alpha * sum_a' (2a'_l - 1) T[n, a'] beta^popcount((a ^ a') & ~(1 << l))."""
    addr = torch.arange(1 << k, device=table.device)
    out = []
    for l in range(k):
        sign = ((addr >> l) & 1).float() * 2 - 1
        h = table * sign
        for m in range(k):
            partner = addr ^ (1 << m)
            h = h + (1.0 if m == l else beta) * h[:, partner]
        out.append(alpha * h)
    return torch.stack(out, dim=1)  # [N, k, A]


class DwnLutFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, table, k):
        b = x.shape[0]
        n = table.shape[0]
        bits = (x >= 0.5).view(b, n, k).long()
        weights = (1 << torch.arange(k, device=x.device)).view(1, 1, k)
        addr = (bits * weights).sum(-1)  # [B, N]
        ctx.save_for_backward(addr, table)
        ctx.k = k
        return (table.gather(1, addr.t()).t() > 0).float()

    @staticmethod
    def backward(ctx, g):
        addr, table = ctx.saved_tensors
        k = ctx.k
        n, A = table.shape
        gt = torch.zeros(n * A, device=g.device, dtype=g.dtype)
        flat = (addr + torch.arange(n, device=g.device).view(1, n) * A).reshape(-1)
        gt.index_add_(0, flat, g.reshape(-1))
        gx = None
        if ctx.needs_input_grad[0]:
            alpha = 0.5 * 0.75 ** (k - 1)
            G = efd_table(table, k, alpha, 1.0 / 3.0)  # [N, k, A]
            Gt = G.permute(0, 2, 1).reshape(n * A, k)   # row (n, a) -> k gradients
            gx = (Gt[flat].view(addr.shape[0], n, k) * g.unsqueeze(-1)).reshape(addr.shape[0], n * k)
        return gx, gt.view(n, A), None


def random_mapping(num_inputs, num_slots, gen):
    parts = []
    total = 0
    while total < num_slots:
        parts.append(torch.randperm(num_inputs, generator=gen))
        total += num_inputs
    return torch.cat(parts)[:num_slots]


class DwnModel(torch.nn.Module):
    def __init__(self, in_bits, sizes=(2000, 1000), k=6, classes=10, tau=1 / 0.3, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.k = k
        self.tau = tau
        self.w = torch.nn.Parameter(torch.rand(in_bits, sizes[0] * k, generator=gen))
        self.t1 = torch.nn.Parameter(torch.rand(sizes[0], 1 << k, generator=gen) * 2 - 1)
        self.register_buffer("map2", random_mapping(sizes[0], sizes[1] * k, gen))
        self.t2 = torch.nn.Parameter(torch.rand(sizes[1], 1 << k, generator=gen) * 2 - 1)
        self.classes = classes

    def forward(self, x):
        h = LearnableMappingFn.apply(x, self.w, 1e-3)
        h = DwnLutFn.apply(h, self.t1, self.k)
        h = DwnLutFn.apply(h[:, self.map2], self.t2, self.k)
        b = h.shape[0]
        return h.view(b, self.classes, -1).sum(-1) / self.tau


def clamp_tables(model):
    with torch.no_grad():
        model.t1.clamp_(-1, 1)
        model.t2.clamp_(-1, 1)


def sync(dev):
    if dev == "cuda":
        torch.cuda.synchronize()


def machine(dev):
    if dev == "cuda":
        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def load_fashion_tensors(dirpath):
    """Fashion-MNIST as float pixels in [0, 1] ([N, 784]) and int64 labels: train, then test."""
    xtr, ytr, xte, yte = find_fashion(dirpath)
    as_x = lambda a: torch.tensor(a.reshape(len(a), -1), dtype=torch.float32) / 255.0  # noqa: E731
    return (as_x(xtr), torch.tensor(ytr, dtype=torch.long),
            as_x(xte), torch.tensor(yte, dtype=torch.long))


def make_step(model, opt, after=None):
    """One Adam training step on a batch (cross-entropy); `after(model)` runs after the update."""
    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        if after:
            after(model)
        return loss
    return step


# The benchmark lines below are shared by every Python baseline (this one, torch_dwn_reference.py):
# `row` holds the fields that name the implementation, device and machine.

def bench_steps(step, x, y, batches, steps, dev, row):
    """Mean training-step time per batch size, after 3 warm-up steps on the same batch."""
    for bs in batches:
        xb, yb = x[:bs], y[:bs]
        for _ in range(3):
            step(xb, yb)
        sync(dev)
        t0 = time.perf_counter()
        for _ in range(steps):
            step(xb, yb)
        sync(dev)
        dt = (time.perf_counter() - t0) / steps
        print(json.dumps({"bench": "dwn_train_step", **row, "batch": bs, "ms_per_step": dt * 1e3,
                          "epoch_seconds_est": dt * (60000 // bs)}), flush=True)


def bench_inference(forward, x, dev, row, bs=1024, reps=10):
    """Inference samples/s at batch `bs` (no autograd), after one warm-up batch."""
    with torch.no_grad():
        forward(x[:bs])
        sync(dev)
        t0 = time.perf_counter()
        for _ in range(reps):
            forward(x[:bs])
        sync(dev)
        dt = (time.perf_counter() - t0) / reps
    print(json.dumps({"bench": "dwn_inference", **row, "batch": bs,
                      "samples_per_second": bs / dt}), flush=True)


def bench_inference_raw(model, x_u8, thr, dev, row, bs=8192, min_seconds=1.0):
    """End-to-end classification from raw 8-bit pixels, as bench_infer measures DiffLUT's engines:
    u8 codes already in memory -> /255 -> thermometer -> model -> argmax, over the test set in
    batches of `bs`, repeated passes for at least `min_seconds` (after one warm-up pass)."""
    x_u8 = x_u8.to(dev)

    def one_pass():
        for i in range(0, x_u8.shape[0], bs):
            xb = x_u8[i:i + bs].float() / 255.0
            model(encode(xb, thr)).argmax(1)

    with torch.no_grad():
        one_pass()
        sync(dev)
        passes, t0 = 0, time.perf_counter()
        while True:
            one_pass()
            passes += 1
            sync(dev)
            dt = time.perf_counter() - t0
            if dt >= min_seconds:
                break
    n = passes * x_u8.shape[0]
    print(json.dumps({"bench": "infer", "path": "pytorch_reference", **row, "batch": bs,
                      "samples": n, "seconds": dt, "samples_per_second": n / dt}), flush=True)


def train_epochs(step, sched, test_accuracy, x, y, epochs, dev, row, bs=32):
    """Epochs of shuffled batches (a fresh permutation each), StepLR per epoch, then the test
    accuracy; one line per epoch with its training time."""
    for epoch in range(epochs):
        perm = torch.randperm(x.shape[0], device=dev)
        sync(dev)
        t0 = time.perf_counter()
        for i in range(0, x.shape[0], bs):
            idx = perm[i:i + bs]
            step(x[idx], y[idx])
        sync(dev)
        secs = time.perf_counter() - t0
        sched.step()
        print(json.dumps({"bench": "dwn_train_epoch", **row, "batch": bs, "epoch": epoch + 1,
                          "epoch_seconds": secs, "test_accuracy": test_accuracy()}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batches", default="32,256,1024")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--train-epochs", type=int, default=0)
    ap.add_argument("--data", default=os.environ.get("DIFFLUT_FASHION_MNIST_DIR",
                                                     "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--step-size", type=int, default=14,
                    help="training epochs: StepLR step (epochs), as difflut-train's default")
    ap.add_argument("--gamma", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="CPU threads for PyTorch (default: all cores, like DiffLUT)")
    ap.add_argument("--inference-only", action="store_true",
                    help="only the end-to-end inference line from raw u8 pixels (bench_infer's "
                         "peer); the model is untrained, which does not change its cost")
    args = ap.parse_args()
    dev = args.device
    # Some PyTorch builds start with one OpenMP thread (Debian's, on the dev CPU); the comparison
    # with DiffLUT, which uses every core, is only fair with the same thread count.
    torch.set_num_threads(max(1, args.threads))
    torch.manual_seed(args.seed)
    xtr, ytr, xte, yte = load_fashion_tensors(args.data)
    thr = distributive_thresholds(xtr, 3)
    if args.inference_only:
        row = {"impl": "pytorch", "device": dev, "machine": machine(dev)}
        model = DwnModel(xtr.shape[1] * 3).to(dev)
        bench_inference_raw(model, (xte * 255.0).round().to(torch.uint8), thr.to(dev), dev, row)
        return
    etr = encode(xtr, thr).to(dev)
    ete = encode(xte, thr).to(dev)
    ytr, yte = ytr.to(dev), yte.to(dev)
    row = {"impl": "pytorch", "device": dev, "machine": machine(dev)}

    model = DwnModel(etr.shape[1]).to(dev)
    step = make_step(model, torch.optim.Adam(model.parameters(), lr=1e-2), after=clamp_tables)
    bench_steps(step, etr, ytr, [int(b) for b in args.batches.split(",") if b], args.steps, dev, row)
    bench_inference(model, ete, dev, row)

    if args.train_epochs > 0:
        # A fresh model for the accuracy run, so the timing steps above do not count as training.
        model = DwnModel(etr.shape[1], seed=args.seed).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=args.step_size, gamma=args.gamma)

        def test_accuracy():
            with torch.no_grad():
                return sum((model(ete[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                           for i in range(0, ete.shape[0], 1000)) / ete.shape[0]
        train_epochs(make_step(model, opt, after=clamp_tables), sched, test_accuracy, etr, ytr,
                     args.train_epochs, dev, row)

if __name__ == "__main__":
    main()
