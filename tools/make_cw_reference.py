#!/usr/bin/python3
"""PyTorch reference for Crucible's cw engine (Carlini-Wagner L2).

Run with Debian's interpreter from anywhere:

    /usr/bin/python3 tools/make_cw_reference.py [--out DIR]

Needs python3-torch (1.13), python3-onnx (1.12) and python3-numpy; no network. Reads
tests/fixtures/models/fmnist_{mlp,lenet}.onnx (run by bench/pytorch_baseline.py's OnnxAsTorch,
so the network is exactly the committed ONNX file) and the first 100 bundled Fashion-MNIST
test images, and writes tests/fixtures/attacks/cw_* (see tools/README.md). The C++ test
(tests/unit/engines/attack/cw_test.cc) only reads the outputs. Deterministic: 2 threads,
deterministic algorithms; reruns write identical files.

cw_l2 below is a port of the algorithm of Carlini's l2_attack.py (nn_robust_attacks) to
PyTorch, step for step:
  - tanh box: w0 = atanh((x - plus) / mul * 0.999999), x' = tanh(w0 + modifier) * mul + plus
    with mul = (hi - lo) / 2, plus = (hi + lo) / 2 for the pixel range [lo, hi]; the L2 term is
    measured from tanh(w0) * mul + plus, as in the reference;
  - loss per example = ||x' - x0||^2 + c * max(0, Z_t - max_{j != t} Z_j + kappa) untargeted,
    c * max(0, max_{j != t} Z_j - Z_t + kappa) targeted (no gradient where the max is 0,
    as TF's tf.maximum);
  - each binary-search step resets the modifier and Adam (TF's AdamOptimizer: beta1 0.9,
    beta2 0.999, epsilon 1e-8, lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)); the loss,
    logits and x' an iteration reports are those before its update, as in one TF run call;
  - abort early: every max(1, max_iterations // 10) iterations, stop when the loss is above
    0.9999 times the loss at the previous check (that iteration is not recorded);
  - best tracking: an iteration's x' is a success when argmax(Z with Z_t -/+ kappa) is (not)
    t; the smallest-L2 success is kept per binary step and over the whole search;
  - c: on success upper = min(upper, c) and c = (lower + upper) / 2; on failure lower =
    max(lower, c) and c = (lower + upper) / 2 once an upper bound exists, else c *= 10; with
    10 or more binary steps the last one uses c = upper (the reference's `repeat`).
The reference's default batch_size is 1, so abort early decides per example; cw_l2 runs the
examples as one batch with that per-example rule, which computes the same thing. Where no
success is found, the original image is returned (the reference returns zeros).
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from pytorch_baseline import OnnxAsTorch  # noqa: E402

FIX = ROOT / "tests" / "fixtures"
MODELS = ["fmnist_mlp", "fmnist_lenet"]
N = 100

# Reduced from the reference defaults (9 binary steps, 10,000 iterations, c 1e-3) so the C++
# test runs in seconds; the C++ side runs the same values.
PARAMS = {
    "confidence": 0.0,
    "learning_rate": 0.01,
    "binary_search_steps": 5,
    "max_iterations": 100,
    "initial_const": 0.1,
    "abort_early": True,
}


def tf_adam_step(w, g, m, v, t, lr, active):
    """One step of TF1's AdamOptimizer on the rows of w where `active` (m, v, w updated in place)."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    mask = active.view(-1, *([1] * (w.dim() - 1)))
    m.copy_(torch.where(mask, b1 * m + (1 - b1) * g, m))
    v.copy_(torch.where(mask, b2 * v + (1 - b2) * g * g, v))
    lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    w.copy_(torch.where(mask, w - np.float32(lr_t) * m / (torch.sqrt(v) + eps), w))


def margin_loss(logits, onehot, confidence, targeted):
    real = (onehot * logits).sum(1)
    other = ((1 - onehot) * logits - onehot * 10000).max(1).values
    a = (other - real if targeted else real - other) + confidence
    return torch.where(a > 0, a, torch.zeros_like(a))


def is_success(logits, target, confidence, targeted):
    """The reference's compare(): logits shifted by kappa at the target, then argmax test."""
    z = logits.clone()
    rows = torch.arange(len(target))
    z[rows, target] += -confidence if targeted else confidence
    pred = z.argmax(1)
    return pred == target if targeted else pred != target


def cw_l2(net, x, target, confidence=0.0, learning_rate=0.01, binary_search_steps=9, max_iterations=10000,
          initial_const=1e-3, abort_early=True, targeted=False, low=0.0, high=1.0, num_classes=10):
    """Adversarial examples of pixels x [B, ...] attacked at classes `target` by CW-L2 (see the module
    docstring); the original image where no success was found."""
    mul, plus = (high - low) / 2, (high + low) / 2
    b = x.shape[0]
    shape = (-1,) + (1,) * (x.dim() - 1)
    w0 = torch.atanh((x - plus) / mul * 0.999999)
    x0 = torch.tanh(w0) * mul + plus
    onehot = torch.nn.functional.one_hot(target, num_classes).to(x.dtype)
    lower = np.zeros(b)
    upper = np.full(b, 1e10)
    const = np.full(b, initial_const)
    o_best_l2 = np.full(b, 1e10)
    o_best = x.clone()
    repeat = binary_search_steps >= 10
    check_every = max(1, max_iterations // 10)
    for outer in range(binary_search_steps):
        modifier = torch.zeros_like(x)
        m, v = torch.zeros_like(x), torch.zeros_like(x)
        best_l2 = np.full(b, 1e10)
        best_score = np.full(b, -1)
        if repeat and outer == binary_search_steps - 1:
            const = upper.copy()
        c = torch.tensor(const, dtype=x.dtype)
        prev = np.full(b, np.inf)
        active = torch.ones(b, dtype=torch.bool)
        for iteration in range(max_iterations):
            mod = modifier.clone().requires_grad_(True)
            new = torch.tanh(mod + w0) * mul + plus
            logits = net(new)
            l2 = ((new - x0) ** 2).flatten(1).sum(1)
            loss = l2 + c * margin_loss(logits, onehot, confidence, targeted)
            (grad,) = torch.autograd.grad(loss.sum(), mod)
            tf_adam_step(modifier, grad, m, v, iteration + 1, learning_rate, active)
            loss_np = loss.detach().numpy().astype(np.float64)
            if abort_early and iteration % check_every == 0:
                stalled = torch.from_numpy(loss_np > prev * 0.9999) & active
                active &= ~stalled
                prev = np.where(active.numpy(), loss_np, prev)
                if not bool(active.any()):
                    break
            with torch.no_grad():
                ok = (is_success(logits.detach(), target, confidence, targeted) & active).numpy()
                l2_np = l2.detach().numpy()
                pred = logits.detach().argmax(1).numpy()
                better = ok & (l2_np < best_l2)
                best_l2 = np.where(better, l2_np, best_l2)
                best_score = np.where(better, pred, best_score)
                overall = ok & (l2_np < o_best_l2)
                o_best_l2 = np.where(overall, l2_np, o_best_l2)
                o_best[torch.from_numpy(overall)] = new.detach()[torch.from_numpy(overall)]
        succeeded = best_score != -1
        upper = np.where(succeeded, np.minimum(upper, const), upper)
        lower = np.where(succeeded, lower, np.maximum(lower, const))
        const = np.where(upper < 1e9, (lower + upper) / 2, np.where(succeeded, const, const * 10))
    return o_best


def save(path, arr, dtype, written):
    arr = np.ascontiguousarray(np.asarray(arr).astype(np.dtype(dtype).newbyteorder("<")))
    np.save(path, arr, allow_pickle=False)
    written.append(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(FIX / "attacks"), help="output directory")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    images = np.load(FIX / "data" / "fmnist_test_1000_images.npy")
    labels = np.load(FIX / "data" / "fmnist_test_1000_labels.npy")
    assert images.dtype == np.uint8 and images.shape == (1000, 1, 28, 28), images.shape
    # As the engine's preprocess.scale = 1/255 computes pixels: value * float32(1/255).
    x_np = images[:N].astype(np.float32) * np.float32(1 / 255)
    y = torch.from_numpy(labels[:N].astype(np.int64))
    x = torch.from_numpy(x_np.copy())

    lines = [
        "# Carlini-Wagner L2 reference, made by tools/make_cw_reference.py (PyTorch port of l2_attack.py).",
        "# Inputs: the first 100 images of data/fmnist_test_1000_images.npy times float32(1/255), untargeted",
        "# at data/fmnist_test_1000_labels.npy. Files per model M: cw_M_adversarial_l2.npy float64 [100],",
        "# the L2 distance of the reference's adversarial from the input where the attack succeeded on a",
        "# correctly classified input, -1 elsewhere; cw_M_predictions.npy int64 [100], argmax f(x').",
        "params " + " ".join(f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in PARAMS.items()),
    ]
    for model in MODELS:
        net = OnnxAsTorch(str(FIX / "models" / f"{model}.onnx"))
        with torch.no_grad():
            clean = net(x).argmax(1)
        adv = cw_l2(net, x, y, **PARAMS)
        with torch.no_grad():
            pred = net(adv).argmax(1)
        correct = clean == y
        success = correct & (pred != y)
        l2 = (adv - x).flatten(1).double().norm(dim=1)
        linf = (adv - x).flatten(1).abs().max(dim=1).values
        assert bool(((adv >= 0) & (adv <= 1)).all())
        l2_out = torch.where(success, l2, torch.full_like(l2, -1.0))
        save(out / f"cw_{model}_adversarial_l2.npy", l2_out.numpy(), np.float64, written)
        save(out / f"cw_{model}_predictions.npy", pred.numpy(), np.int64, written)
        rate = float(success.sum()) / float(correct.sum())
        mean_l2 = float(l2[success].mean())
        summary = (f"{model} clean_correct={int(correct.sum())} successes={int(success.sum())} "
                   f"success_rate={rate:.6f} mean_l2={mean_l2:.6f} median_l2={float(l2[success].median()):.6f} "
                   f"mean_linf={float(linf[success].mean()):.6f}")
        print(summary)
        lines.append(summary)
    (out / "cw_reference.txt").write_text("\n".join(lines) + "\n")
    written.append(out / "cw_reference.txt")
    print(f"wrote {len(written)} files, {sum(p.stat().st_size for p in written)} bytes, to {out}")


if __name__ == "__main__":
    main()
