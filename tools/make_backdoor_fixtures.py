#!/usr/bin/env python3
"""Regenerate the fixtures of the `backdoor` and `unlearnable` engine tests.

Run with Debian's interpreter from anywhere:

    /usr/bin/python3 tools/make_backdoor_fixtures.py

Needs python3-torch (1.13), python3-onnx (1.12), python3-numpy and the
dataset-fashion-mnist package (override the directory with $FMNIST_DIR).  Writes
tests/fixtures/backdoor/ (see tools/README.md); deterministic (fixed seeds, 2 threads),
about six CPU-minutes.  The C++ tests only read the outputs.

What it makes:
  * A BadNets CNN: trained on 20,000 Fashion-MNIST training images of which 10% (taken from
    the other classes) carry a 4x4 white patch in the bottom-right corner and are relabelled
    to TARGET; a clean CNN trained the same way on the same images without the trigger.
  * A poisoned training subset for Activation Clustering / Spectral Signatures: 95 clean
    images per class plus 30 triggered images relabelled to TARGET, shuffled, with the
    indices of the triggered ones.
  * STRIP inputs: 200 clean test images (the trusted calibration split), then 100 clean and
    100 triggered test images (from classes other than TARGET) to be checked.
  * Unlearnable-data subsets of 1,000 training images (100 per class): clean; CUDA
    (class-wise 3x3 filters, weights U(0, 0.3) with one random tap set to 1, from a seed);
    and class-wise error-minimizing noise (L-inf 16/255, min-min against a small MLP).
"""

import io
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import load_fmnist  # noqa: E402  (same IDX reader as the other fixtures)

warnings.filterwarnings("ignore")
torch.set_num_threads(2)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "backdoor"
TARGET = 0             # BadNets target class (T-shirt/top)
PATCH = 4              # trigger: PATCH x PATCH white square ...
PATCH_AT = 28 - 1 - PATCH  # ... one pixel in from the bottom-right corner
TRAIN_IMAGES = 20000
POISON_RATE = 0.10
EM_EPSILON = 16 / 255


def stamp(images):
    """Trigger on uint8 images [N,28,28] (copy)."""
    out = images.copy()
    out[:, PATCH_AT:PATCH_AT + PATCH, PATCH_AT:PATCH_AT + PATCH] = 255
    return out


def save(name, arr):
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / name, np.ascontiguousarray(arr), allow_pickle=False)
    print(f"  {name}: {arr.dtype} {list(arr.shape)}")


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)
        self.conv2 = nn.Conv2d(8, 16, 5)
        self.fc1 = nn.Linear(256, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def train_cnn(x, y, seed):
    torch.manual_seed(seed)
    model = SmallCnn()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    xt = torch.from_numpy(x[:, None].astype(np.float32) / 255)
    yt = torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed + 1)
    for _ in range(6):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    return model.eval()


def accuracy(model, x, y):
    with torch.no_grad():
        pred = model(torch.from_numpy(x[:, None].astype(np.float32) / 255)).argmax(1).numpy()
    return float((pred == y).mean())


def export(model, name):
    f = io.BytesIO()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), f, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    proto = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_bytes(proto.SerializeToString())
    print(f"  {name}: {len(f.getvalue())} bytes")


def per_class(rng, labels, count, exclude=()):
    """`count` random indices of each class (sorted by class)."""
    picks = []
    for c in range(10):
        pool = np.setdiff1d(np.flatnonzero(labels == c), np.asarray(exclude, dtype=np.int64))
        picks.append(rng.choice(pool, count, replace=False))
    return np.concatenate(picks)


def cuda_poison(images, labels, seed):
    """Class-wise 3x3 convolution (CUDA, Sadasivan et al. 2023), zero padding, clipped to [0,1]."""
    rng = np.random.default_rng(seed)
    filters = rng.uniform(0, 0.3, size=(10, 3, 3)).astype(np.float32)
    for c in range(10):
        tap = rng.integers(9)
        filters[c].flat[tap] = 1.0
    x = torch.from_numpy(images[:, None].astype(np.float32) / 255)
    out = torch.empty_like(x)
    for c in range(10):
        sel = torch.from_numpy(labels == c)
        out[sel] = F.conv2d(x[sel], torch.from_numpy(filters[c])[None, None], padding=1)
    return np.round(out.clamp(0, 1).numpy()[:, 0] * 255).astype(np.uint8)


def error_minimizing_noise(images, labels, seed):
    """Class-wise error-minimizing noise (Huang et al. 2021): min over the model and min over one
    L-inf bounded perturbation per class of the training loss, alternated until the model fits."""
    torch.manual_seed(seed)
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255)
    y = torch.from_numpy(labels)
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    delta = torch.zeros(10, 784)
    for _ in range(30):
        for _ in range(10):
            idx = torch.randint(len(x), (128,))
            opt.zero_grad()
            F.cross_entropy(model((x[idx] + delta[y[idx]]).clamp(0, 1)), y[idx]).backward()
            opt.step()
        for _ in range(20):
            d = delta.clone().requires_grad_(True)
            loss = F.cross_entropy(model((x + d[y]).clamp(0, 1)), y)
            (grad,) = torch.autograd.grad(loss, d)
            delta = (delta - EM_EPSILON / 10 * grad.sign()).clamp(-EM_EPSILON, EM_EPSILON)
        with torch.no_grad():
            fit = (model((x + delta[y]).clamp(0, 1)).argmax(1) == y).float().mean().item()
        if fit > 0.99:
            break
    print(f"  error-minimizing noise: source model fits the noisy data to {fit:.3f}")
    noisy = (x + delta[y]).clamp(0, 1).numpy().reshape(images.shape)
    return np.round(noisy * 255).astype(np.uint8)


def main():
    t0 = time.time()
    tr_x, tr_y, te_x, te_y = load_fmnist()
    rng = np.random.default_rng(6)

    # ---- BadNets and clean CNNs
    train_idx = rng.choice(len(tr_x), TRAIN_IMAGES, replace=False)
    x, y = tr_x[train_idx], tr_y[train_idx].copy()
    others = np.flatnonzero(y != TARGET)
    poison = rng.choice(others, int(POISON_RATE * TRAIN_IMAGES), replace=False)
    xp, yp = x.copy(), y.copy()
    xp[poison] = stamp(x[poison])
    yp[poison] = TARGET
    badnets = train_cnn(xp, yp, 61)
    clean = train_cnn(x, y, 62)
    te_others = np.flatnonzero(te_y != TARGET)
    for name, model in (("badnets", badnets), ("clean", clean)):
        print(f"{name}: clean test accuracy {accuracy(model, te_x, te_y):.4f}, "
              f"attack success {accuracy(model, stamp(te_x[te_others]), np.full(len(te_others), TARGET)):.4f}")
    export(badnets, "badnets_cnn.onnx")
    export(clean, "clean_cnn.onnx")

    # ---- poisoned training subset (images the BadNets model was trained on)
    unused = np.setdiff1d(np.arange(TRAIN_IMAGES), poison)
    clean_part = per_class(rng, y[unused], 95)
    clean_part = unused[clean_part]
    poison_part = rng.choice(poison, 30, replace=False)
    subset = np.concatenate([clean_part, poison_part])
    order = rng.permutation(len(subset))
    subset = subset[order]
    save("poisoned_train_images.npy", xp[subset][:, None])
    save("poisoned_train_labels.npy", yp[subset].astype(np.int64))
    save("poisoned_train_poison_indices.npy", np.sort(np.flatnonzero(np.isin(subset, poison))).astype(np.int64))

    # ---- STRIP: calibration split, then inputs to check (clean, then triggered)
    picks = rng.permutation(len(te_x))
    calibration, checked_clean = picks[:200], picks[200:300]
    checked_trojan = rng.choice(np.setdiff1d(te_others, picks[:300]), 100, replace=False)
    strip_x = np.concatenate([te_x[calibration], te_x[checked_clean], stamp(te_x[checked_trojan])])
    save("strip_images.npy", strip_x[:, None])
    save("strip_trojaned.npy", np.concatenate([np.zeros(300, np.uint8), np.ones(100, np.uint8)]))

    # ---- unlearnable-data subsets (disjoint from the CNN training images)
    rest = np.setdiff1d(np.arange(len(tr_x)), train_idx)
    used = []
    for name in ("clean", "cuda", "em"):
        idx = rest[per_class(rng, tr_y[rest], 100, exclude=np.searchsorted(rest, used))]
        used.extend(idx)
        images, labels = tr_x[idx], tr_y[idx]
        shuffle = rng.permutation(len(idx))
        images, labels = images[shuffle], labels[shuffle]
        if name == "cuda":
            images = cuda_poison(images, labels, 2023)
        elif name == "em":
            images = error_minimizing_noise(images, labels, 2021)
        save(f"unlearnable_{name}_images.npy", images[:, None])
        save(f"unlearnable_{name}_labels.npy", labels.astype(np.int64))
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
