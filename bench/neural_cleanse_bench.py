#!/usr/bin/python3
"""Neural Cleanse for all 10 labels of the BadNets fixture CNN: Crucible's backdoor engine
(build/bench/neural_cleanse_bench) next to the same optimisation in PyTorch.

Same ONNX weights (run as torch.nn.functional calls by pytorch_baseline.OnnxAsTorch), the
same 300 clean inputs (tests/fixtures/backdoor/strip_images.npy / 255), batch 32, STEPS Adam
steps per label (lr 0.1, betas (0.5, 0.9)) on mask = tanh(m)/2 + 0.5 and pattern =
tanh(p)/2 + 0.5, loss mean CE + cost * |mask|_1 with the round-of-10 cost schedule, labels
one after the other on THREADS intra-op threads (the engine spreads labels over its
threads instead). Prints seconds per full run (median of REPS) for both.

Usage: bench/neural_cleanse_bench.py [--steps 300] [--threads 2] [--reps 3] [--binary PATH]
Set OPENBLAS_CORETYPE=SkylakeX for the PyTorch process (see bench/README.md).
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from pytorch_baseline import OnnxAsTorch  # noqa: E402

FIX = ROOT / "tests" / "fixtures" / "backdoor"


def reverse(model, clean, label, steps, gen):
    mask_p = (torch.rand(28, 28, generator=gen) * 4 - 2).requires_grad_(True)
    pattern_p = (torch.rand(1, 28, 28, generator=gen) * 4 - 2).requires_grad_(True)
    opt = torch.optim.Adam([mask_p, pattern_p], lr=0.1, betas=(0.5, 0.9))
    cost, up, down, hits, total = 1e-3, 0, 0, 0, 0
    target = torch.full((32,), label, dtype=torch.long)
    order = torch.randperm(len(clean), generator=gen)
    cursor = 0
    for step in range(steps):
        if cursor + 32 > len(clean):
            order, cursor = torch.randperm(len(clean), generator=gen), 0
        x = clean[order[cursor:cursor + 32]]
        cursor += 32
        mask = torch.tanh(mask_p) / 2 + 0.5
        pattern = torch.tanh(pattern_p) / 2 + 0.5
        logits = model((1 - mask) * x + mask * pattern)
        loss = F.cross_entropy(logits, target) + cost * mask.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        hits += int((logits.argmax(1) == label).sum())
        total += 32
        if (step + 1) % 10 == 0:
            success = hits >= 0.99 * total
            hits = total = 0
            up, down = (up + 1, 0) if success else (0, down + 1)
            if up >= 5:
                up, cost = 0, cost * 2
            elif down >= 5:
                down, cost = 0, cost / 2 ** 1.5
    return float((torch.tanh(mask_p) / 2 + 0.5).sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--binary", default=str(ROOT / "build" / "bench" / "neural_cleanse_bench"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = OnnxAsTorch(str(FIX / "badnets_cnn.onnx"))
    clean = torch.from_numpy(np.load(FIX / "strip_images.npy")[:300].astype(np.float32) / 255)
    torch_times = []
    for rep in range(args.reps):
        gen = torch.Generator().manual_seed(rep)
        t0 = time.perf_counter()
        l1 = [reverse(model, clean, label, args.steps, gen) for label in range(10)]
        torch_times.append(time.perf_counter() - t0)
    binary = args.binary
    crucible_times = []
    for rep in range(args.reps):
        out = subprocess.run([str(binary), str(args.steps), str(args.threads)], capture_output=True, text=True,
                             check=True).stdout
        crucible_times.append(json.loads(out)["seconds"])
    print(json.dumps({"steps": args.steps, "threads": args.threads,
                      "pytorch_seconds": sorted(torch_times)[len(torch_times) // 2], "pytorch_all": torch_times,
                      "crucible_seconds": sorted(crucible_times)[len(crucible_times) // 2],
                      "crucible_all": crucible_times, "pytorch_target_l1": l1[0]}))


if __name__ == "__main__":
    main()
