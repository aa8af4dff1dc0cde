#!/usr/bin/env python3
"""Checks one training step of difflut-train against the pure-PyTorch DWN (bench/dwn_torch_baseline.py,
torch_dwn's semantics) at full model size, from identical parameters and optimizer state.

  check_step_vs_torch.py --difflut-train build/difflut-train --workdir /tmp/step-check
                         [--data /usr/share/datasets/fashion-mnist]

It writes a data root whose Fashion-MNIST training set is the first 32 training images (plus the
real test set), runs the default model (learnable 2000 + random 1000 LUT6) through difflut-train
with batch 32 for 1 and for N epochs (--steps N, default 2; same seed, so the first steps are
identical and each epoch is exactly one step), loads the state after step 1 (parameters, Adam
moments, step count, lr), takes steps 2..N in PyTorch (forward, cross-entropy, backward, torch.optim.Adam, table clamp) on the same
images encoded with the run's own thresholds, and compares every step's loss and the final state
with difflut-train's. Prints one JSON object per tensor; exits non-zero when a difference exceeds the
tolerance (relative to the tensor's largest magnitude) or the mapping argmax disagrees anywhere.
"""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np

try:
    import torch
except ImportError:  # CTest treats exit code 77 as skipped (tests/CMakeLists.txt)
    print("check_step_vs_torch: skipped: this Python has no torch (Debian: python3-torch)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dwn_torch_baseline import DwnModel, clamp_tables, encode, fashion_file, find_fashion  # noqa: E402

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def load_safetensors(path):
    """Tensors and metadata of a safetensors file (read by hand: the check needs only torch)."""
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        arr = np.frombuffer(blob[8 + n + lo:8 + n + hi], dtype=DTYPES[info["dtype"]])
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out, header.get("__metadata__", {})


def write_data_root(src_dir, root):
    """root/fashion-mnist: the first 32 training images and labels (plain IDX) and the test set."""
    def read(stem):
        path = fashion_file(src_dir, stem)
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            return f.read()
    out = os.path.join(root, "fashion-mnist")
    os.makedirs(out, exist_ok=True)
    images, labels = read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")
    with open(os.path.join(out, "train-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, 32, 28, 28) + images[16:16 + 32 * 784])
    with open(os.path.join(out, "train-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, 32) + labels[8:8 + 32])
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with open(os.path.join(out, stem), "wb") as f:
            f.write(read(stem))


def train(exe, workdir, epochs):
    """Runs difflut-train on the 32-image root; returns the run directory."""
    cmd = [exe, f"data_root={workdir}/data", f"training.epochs={epochs}", "device=cpu",
           "tracking.enabled=false", "model.params.node_type=dwn",
           f"output_dir={workdir}/outputs", f"experiment_name=e{epochs}"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    if res.returncode != 0:
        sys.exit(f"check_step_vs_torch: {' '.join(cmd)} failed: {res.stderr.strip()}")
    for line in res.stdout.splitlines():
        if line.startswith("run_dir="):
            return line[len("run_dir="):]
    sys.exit("check_step_vs_torch: difflut-train printed no run_dir= line")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--difflut-train", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--steps", type=int, default=2,
                    help="compare after this many steps (PyTorch takes steps 2..N; default 2)")
    args = ap.parse_args()
    if args.steps < 2:
        sys.exit(f"check_step_vs_torch: --steps must be at least 2, found {args.steps}")
    os.makedirs(args.workdir, exist_ok=True)
    write_data_root(args.data, os.path.join(args.workdir, "data"))
    exe = os.path.abspath(args.difflut_train)
    run1, run2 = train(exe, args.workdir, 1), train(exe, args.workdir, args.steps)

    ck1, _ = load_safetensors(os.path.join(run1, "checkpoint.safetensors"))
    ck2, meta2 = load_safetensors(os.path.join(run2, "checkpoint.safetensors"))
    model1, meta = load_safetensors(os.path.join(run1, "model.safetensors"))
    desc = json.loads(meta["difflut.model"])
    k = int(desc["k"])
    tau_gs = float(desc["groupsum"]["tau"])

    xtr, ytr, _, _ = find_fashion(args.data)
    x = torch.tensor(xtr[:32].reshape(32, -1), dtype=torch.float32) / 255.0
    y = torch.tensor(ytr[:32], dtype=torch.long)
    enc = encode(x, model1["encoder.thresholds"])  # the run's own thresholds [F, bits]

    # The reference model, its parameters replaced by difflut-train's after step 1.
    t1_init, t2_init = ck1["model:layer0.params"], ck1["model:layer1.params"]
    model = DwnModel(enc.shape[1], sizes=(t1_init.shape[0], t2_init.shape[0]), k=k, tau=tau_gs)
    with torch.no_grad():
        model.w.copy_(ck1["model:layer0.mapping_weights"])
        model.t1.copy_(t1_init)
        model.t2.copy_(t2_init)
    model.map2 = model1["layer1.mapping_indices"].long()
    w, t1, t2 = model.w, model.t1, model.t2
    params = [t1, t2, w]
    opt = torch.optim.Adam(params, lr=float(ck1["optim:optimizer.lr"][0]))
    step1 = int(ck1["optim:optimizer.step"][0])
    names = {id(t1): "layer0.params", id(t2): "layer1.params", id(w): "layer0.mapping_weights"}
    for p in params:
        n = names[id(p)]
        opt.state[p] = {"step": torch.tensor(float(step1)),
                        "exp_avg": ck1[f"optim:{n}.exp_avg"].clone(),
                        "exp_avg_sq": ck1[f"optim:{n}.exp_avg_sq"].clone()}

    losses = []
    for _ in range(2, args.steps + 1):
        loss = torch.nn.functional.cross_entropy(model(enc), y)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
        clamp_tables(model)

    ok = True
    report = [("model:layer0.params", t1.detach()), ("model:layer1.params", t2.detach()),
              ("model:layer0.mapping_weights", w.detach())]
    for p in params:
        n = names[id(p)]
        report.append((f"optim:{n}.exp_avg", opt.state[p]["exp_avg"]))
        report.append((f"optim:{n}.exp_avg_sq", opt.state[p]["exp_avg_sq"]))
    for name, ours_torch in report:
        ref = ck2[name].double()
        got = ours_torch.double()
        scale = ref.abs().max().item() or 1.0
        diff = (got - ref).abs().max().item()
        good = diff <= args.rtol * scale
        ok &= good
        print(json.dumps({"tensor": name, "max_abs_diff": diff, "scale": scale,
                          "relative": diff / scale, "ok": good}))
    wi = ck2["model:layer0.mapping_weights"].argmax(0)
    same = (w.detach().argmax(0) == wi).float().mean().item()
    ok &= same == 1.0
    print(json.dumps({"tensor": f"mapping argmax after step {args.steps}", "agree": same}))
    # The loss of every step from 2 on (one epoch is one step here, so the run's per-epoch train
    # loss) checks the forward pass, including the mapping argmax the fused update left for it.
    history = json.loads(meta2["difflut.history"])
    for step, ref_loss in enumerate(losses, start=2):
        ours = history[step - 1]["train_loss"]
        good = abs(ours - ref_loss) <= 1e-5 * abs(ref_loss)
        ok &= good
        print(json.dumps({"tensor": f"step-{step} loss", "difflut": ours, "pytorch": ref_loss,
                          "ok": good}))
    print("check_step_vs_torch: " + ("PASS" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
