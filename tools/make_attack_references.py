#!/usr/bin/python3
"""PyTorch reference adversarial examples for Crucible's fgsm and pgd engines.

Run with Debian's interpreter from anywhere:

    /usr/bin/python3 tools/make_attack_references.py [--out DIR]

Needs python3-torch (1.13), python3-onnx (1.12) and python3-numpy; no network.
Reads tests/fixtures/models/fmnist_{mlp,lenet}.onnx and the bundled Fashion-MNIST
images, runs each attack case literally as specified below in float32, and writes
tests/fixtures/attacks/ (see tools/README.md).  The C++ tests only read the outputs.
Deterministic: torch.manual_seed(0), torch.set_num_threads(2), deterministic algorithms;
two runs write byte-identical files.

The ONNX graphs are interpreted with torch.nn.functional by bench/pytorch_baseline.py's
OnnxAsTorch, so the network is exactly the committed ONNX file (checked against the
golden logits in tests/fixtures/golden/).

Attack definitions (the spec the C++ engines implement); loss = cross-entropy with
reduction='sum' on the logits, g = d loss / d input:
  FGSM L-inf:            x' = clamp(x + eps * sign(g(x, y)), 0, 1)     (sign(0) = 0)
  FGSM L-inf targeted t: x' = clamp(x - eps * sign(g(x, t)), 0, 1)
  FGSM L2:               x' = clamp(x + eps * g / ||g||_2, 0, 1) per example; x' = x if ||g||_2 == 0
  PGD (no random start, per-example early stop), x_0 = x, for k < steps:
      active = argmax f(x_k) == y; inactive examples keep x_k;
      L-inf: x_{k+1} = clamp(min(max(x_k + alpha * sign(g), x - eps), x + eps), 0, 1)
      L2:    y = x_k + alpha * g / ||g||_2 (no step if ||g||_2 == 0); delta = y - x;
             if ||delta||_2 > eps: delta *= eps / ||delta||_2; x_{k+1} = clamp(x + delta, 0, 1)
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from pytorch_baseline import OnnxAsTorch  # noqa: E402

warnings.filterwarnings("ignore")
torch.manual_seed(0)
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

FIX = ROOT / "tests" / "fixtures"
MODELS = ["fmnist_mlp", "fmnist_lenet"]
N = 16
NUM_CLASSES = 10

# (case suffix, attack, norm, epsilon, step_size, steps, targeted)
CASES = [
    ("fgsm_linf_eps0.1", "fgsm", "LINF", 0.1, None, None, False),
    ("fgsm_linf_targeted_eps0.1", "fgsm", "LINF", 0.1, None, None, True),
    ("fgsm_l2_eps1.5", "fgsm", "L2", 1.5, None, None, False),
    ("pgd_linf_eps0.1_alpha0.01_steps20", "pgd", "LINF", 0.1, 0.01, 20, False),
    ("pgd_l2_eps1.5_alpha0.2_steps20", "pgd", "L2", 1.5, 0.2, 20, False),
]


def scalar(v, like):
    return torch.tensor(v, dtype=like.dtype)


def ce_logit_gradient(logits, y):
    """d CE_sum / d logits = softmax - onehot, in float64, with the true class's 1 - p computed as
    the sum of the other probabilities: for near-certain examples p - 1 in float32 keeps few digits."""
    p = torch.softmax(logits.detach().double(), dim=1)
    rows = torch.arange(len(y))
    others = p.clone()
    others[rows, y] = 0
    g = p.clone()
    g[rows, y] = -others.sum(dim=1)
    return g.to(logits.dtype)


def loss_grad(net, x, y):
    """Logits at x and d CE_sum(f(x), y) / dx (gradient with respect to the input only)."""
    xg = x.detach().clone().requires_grad_(True)
    logits = net(xg)
    (g,) = torch.autograd.grad(logits, xg, grad_outputs=ce_logit_gradient(logits, y))
    return logits.detach(), g.detach()


def per_example_l2(t):
    """||t_i||_2 over all elements of each example, shaped [B,1,1,1] for broadcasting."""
    return t.flatten(1).norm(p=2, dim=1).view(-1, *([1] * (t.dim() - 1)))


def predict(net, x):
    with torch.no_grad():
        return net(x).argmax(dim=1)


def fgsm(net, x, y, eps, norm, targets=None):
    eps = scalar(eps, x)
    if targets is not None:
        _, g = loss_grad(net, x, targets)
        return torch.clamp(x - eps * torch.sign(g), 0, 1)
    _, g = loss_grad(net, x, y)
    if norm == "LINF":
        return torch.clamp(x + eps * torch.sign(g), 0, 1)
    n = per_example_l2(g)
    step = torch.where(n > 0, eps * g / torch.where(n > 0, n, torch.ones_like(n)), torch.zeros_like(g))
    return torch.where(n > 0, torch.clamp(x + step, 0, 1), x)


def pgd(net, x, y, eps, alpha, steps, norm, stats):
    eps, alpha = scalar(eps, x), scalar(alpha, x)
    xk = x.clone()
    for _ in range(steps):
        logits, g = loss_grad(net, xk, y)
        active = (logits.argmax(dim=1) == y).view(-1, 1, 1, 1)
        if norm == "LINF":
            nxt = torch.clamp(torch.min(torch.max(xk + alpha * torch.sign(g), x - eps), x + eps), 0, 1)
            # Diagnostic only: nonzero gradient elements of active examples so small that their
            # sign is a rounding accident (relative to that example's largest |g|).
            big = g.abs().flatten(1).max(dim=1).values.view(-1, 1, 1, 1)
            tiny = (g != 0) & (g.abs() < 1e-6 * big) & active
            stats["tiny_sign_steps"] += int(tiny.sum())
        else:
            n = per_example_l2(g)
            y_ = torch.where(n > 0, xk + alpha * g / torch.where(n > 0, n, torch.ones_like(n)), xk)
            delta = y_ - x
            dn = per_example_l2(delta)
            delta = torch.where(dn > eps, delta * (eps / torch.where(dn > 0, dn, torch.ones_like(dn))), delta)
            nxt = torch.clamp(x + delta, 0, 1)
        stats["active_steps"] += int(active.sum())
        xk = torch.where(active, nxt, xk)
    return xk


def as_float64(net):
    """The same interpreter with float64 weights: a diagnostic of float32 rounding only."""
    net.consts = {k: (v.double() if v.is_floating_point() else v) for k, v in net.consts.items()}
    return net


def run_case(net, x, y, targets, attack, norm, eps, alpha, steps, targeted, stats):
    if attack == "fgsm":
        return fgsm(net, x, y, eps, norm, targets if targeted else None)
    return pgd(net, x, y, eps, alpha, steps, norm, stats)


def save(path, arr, dtype, written):
    arr = np.ascontiguousarray(np.asarray(arr).astype(np.dtype(dtype).newbyteorder("<")))
    np.save(path, arr, allow_pickle=False)
    written.append(path)


def fmt(v):
    return repr(float(v))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(FIX / "attacks"), help="output directory")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    images = np.load(FIX / "data" / "fmnist_test_1000_images.npy")
    labels = np.load(FIX / "data" / "fmnist_test_1000_labels.npy")
    assert images.dtype == np.uint8 and images.shape == (1000, 1, 28, 28), images.shape
    x_np = images[:N].astype(np.float32) / np.float32(255)
    y_np = labels[:N].astype(np.int64)
    t_np = (y_np + 1) % NUM_CLASSES
    x = torch.from_numpy(x_np.copy())
    y = torch.from_numpy(y_np.copy())
    targets = torch.from_numpy(t_np.copy())
    save(out / "inputs.npy", x_np, np.float32, written)
    save(out / "labels.npy", y_np, np.int64, written)
    save(out / "targets.npy", t_np, np.int64, written)

    manifest = [
        "# Reference adversarial examples, made by tools/make_attack_references.py (PyTorch).",
        "# name key=value ...; inputs.npy/labels.npy are the first 16 bundled test images (/255) and labels;",
        "# targeted cases aim at targets.npy = (label + 1) % 10 per example.",
        "# Files: NAME_adversarial.npy float32 [16,1,28,28], NAME_predictions.npy int64 [16] (argmax f(x')).",
    ]
    failures = []
    for model in MODELS:
        net = OnnxAsTorch(str(FIX / "models" / f"{model}.onnx"))
        # The interpreter must reproduce the committed golden logits (first 8 images).
        gx = torch.from_numpy(np.load(FIX / "golden" / f"{model}_inputs.npy"))
        gl = np.load(FIX / "golden" / f"{model}_logits.npy")
        with torch.no_grad():
            dev = float(np.abs(net(gx).numpy() - gl).max())
        if not (torch.equal(gx, x[: gx.shape[0]]) and dev < 1e-4):
            failures.append(f"{model}: golden mismatch (max |dlogits| {dev:g})")

        net64 = as_float64(OnnxAsTorch(str(FIX / "models" / f"{model}.onnx")))
        _, g = loss_grad(net, x, y)
        _, g64 = loss_grad(net64, x.double(), y)
        sign_flips = torch.sign(g).double() != torch.sign(g64)
        save(out / f"{model}_input_grad.npy", g.numpy(), np.float32, written)
        largest = float(g.abs().max())
        ambiguous = int((g.abs() < 1e-6 * largest).sum())
        exact_zero = int((g == 0).sum())
        clean = predict(net, x)
        acc = float((clean == y).float().mean())
        print(f"{model}: golden max |dlogits| {dev:.2e}; clean accuracy {acc:.4f} ({int((clean == y).sum())}/{N}); "
              f"clean-gradient elements |g| < 1e-6*max|g|: {ambiguous}/{g.numel()} ({exact_zero} exactly 0); "
              f"sign differs from float64 in {int(sign_flips.sum())} elements "
              f"(examples {sorted(set(torch.nonzero(sign_flips)[:, 0].tolist()))}, "
              f"{int((sign_flips & (g.abs() < 1e-6 * largest)).sum())} of them below 1e-6*max|g|)")

        for suffix, attack, norm, eps, alpha, steps, targeted in CASES:
            name = f"{model}_{suffix}"
            stats = {"active_steps": 0, "tiny_sign_steps": 0}
            adv = run_case(net, x, y, targets, attack, norm, eps, alpha, steps, targeted, stats)
            # Diagnostic: the same attack in float64; elements farther than 1e-5 from the float32
            # result (a sign flipped by rounding, or an early stop taken at another step).
            adv64 = run_case(net64, x.double(), y, targets, attack, norm, eps, alpha, steps, targeted,
                             {"active_steps": 0, "tiny_sign_steps": 0})
            off = ((adv64 - adv.double()).abs() > 1e-5).flatten(1).sum(dim=1).tolist()
            off64 = f"{sum(off)}" + (" {" + ", ".join(f"ex{i}: {n}" for i, n in enumerate(off) if n) + "}" if sum(off) else "")
            assert adv.dtype == torch.float32 and adv.shape == x.shape
            pred = predict(net, adv)
            save(out / f"{name}_adversarial.npy", adv.numpy(), np.float32, written)
            save(out / f"{name}_predictions.npy", pred.numpy(), np.int64, written)

            delta = (adv - x).flatten(1)
            linf = float(delta.abs().max(dim=1).values.max())
            l2 = float(delta.norm(dim=1).max())
            in_box = bool(((adv >= 0) & (adv <= 1)).all())
            bound = linf if norm == "LINF" else l2
            tol = 1e-6 if norm == "LINF" else 1e-5 * eps
            in_ball = bound <= eps + tol
            if not in_box or not in_ball:
                failures.append(f"{name}: in [0,1] {in_box}, max {norm} distance {bound:g} > eps {eps}")
            adv_acc = float((pred == y).float().mean())
            line = (f"  {name:48s} accuracy {adv_acc:.4f} ({int((pred == y).sum()):2d}/{N})  "
                    f"max Linf {linf:.6f}  max L2 {l2:.6f}  in [0,1] {in_box}  in ball {in_ball}  "
                    f"elements >1e-5 from float64 run {off64}")
            if targeted:
                line += f"  target hit {int((pred == targets).sum())}/{N}"
            if attack == "pgd":
                line += f"  active steps {stats['active_steps']}"
                if norm == "LINF":
                    line += f"  tiny-|g| sign steps {stats['tiny_sign_steps']}"
            print(line)

            params = [f"model={model}", f"attack={attack}", f"norm={norm}", f"epsilon={fmt(eps)}"]
            if attack == "pgd":
                params += [f"step_size={fmt(alpha)}", f"steps={steps}"]
            params.append(f"targeted={int(targeted)}")
            if targeted:
                params.append("targets=targets.npy")
            manifest.append(" ".join([name] + params))

    (out / "MANIFEST.txt").write_text("\n".join(manifest) + "\n")
    written.append(out / "MANIFEST.txt")
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files, {total} bytes, to {out}")
    if failures:
        for f in failures:
            print("FAILED:", f, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
