#!/usr/bin/python3
"""PyTorch baseline for bench/attack_bench: FGSM, PGD-40 and CW-L2 on the same ONNX weights,
images, shapes and thread count.

The ONNX graph runs as torch.nn.functional calls on its initializers (pytorch_baseline.py's
OnnxAsTorch); gradients are taken with respect to the input only, the way torchattacks does.
Each call attacks one batch of the first B bundled Fashion-MNIST test images / 255 at their
labels and then classifies the adversarials under torch.inference_mode():
  FGSM:   x' = clamp(x + 0.1 * sign(grad CE_sum), 0, 1)
  PGD-40: 40 x (sign step 0.01, projection onto the L-inf ball of 0.1, clamp), no random start
  CW-L2:  tools/make_cw_reference.py's port of Carlini's l2_attack.py with 1 binary-search
          step, 100 iterations, abort_early off

Prints one JSON object per line:
  {"model": ..., "attack": "fgsm"|"pgd40"|"cw_l2", "batch": B, "images_per_second": ...}

Usage: bench/pytorch_attacks.py --models DIR [--threads 2] [--min-time 0.5]
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tools"))
from pytorch_baseline import OnnxAsTorch, measure  # noqa: E402
from make_cw_reference import cw_l2  # noqa: E402

EPSILON, PGD_STEP, PGD_STEPS, CW_ITERATIONS = 0.1, 0.01, 40, 100


def input_gradient(net, x, y):
    xg = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(net(xg), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, xg)
    return g


def fgsm(net, x, y):
    return torch.clamp(x + EPSILON * torch.sign(input_gradient(net, x, y)), 0, 1)


def pgd40(net, x, y):
    adv = x.clone()
    for _ in range(PGD_STEPS):
        adv = adv + PGD_STEP * torch.sign(input_gradient(net, adv, y))
        adv = torch.clamp(torch.min(torch.max(adv, x - EPSILON), x + EPSILON), 0, 1)
    return adv


def cw(net, x, y):
    return cw_l2(net, x, y, binary_search_steps=1, max_iterations=CW_ITERATIONS, abort_early=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True)
    parser.add_argument("--names", default="fmnist_lenet,fmnist_resnet")
    parser.add_argument("--batches", default="1,32,256")
    parser.add_argument("--attacks", default="fgsm,pgd40,cw_l2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=0.5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.mkldnn.enabled = True
    data = ROOT / "tests" / "fixtures" / "data"
    images = np.load(data / "fmnist_test_1000_images.npy").astype(np.float32) * np.float32(1 / 255)
    labels = np.load(data / "fmnist_test_1000_labels.npy").astype(np.int64)
    attacks = {"fgsm": fgsm, "pgd40": pgd40, "cw_l2": cw}
    for name in args.names.split(","):
        net = OnnxAsTorch(f"{args.models}/{name}.onnx")
        for batch in [int(b) for b in args.batches.split(",")]:
            x = torch.from_numpy(images[:batch].copy())
            y = torch.from_numpy(labels[:batch].copy())
            for attack in args.attacks.split(","):
                def run():
                    adv = attacks[attack](net, x, y)
                    with torch.inference_mode():
                        return net(adv).argmax(1)

                calls = measure(run, args.min_time, warm_up=lambda: input_gradient(net, x, y))
                print(json.dumps({"model": name, "attack": attack, "batch": batch,
                                  "images_per_second": calls * batch}), flush=True)


if __name__ == "__main__":
    main()
