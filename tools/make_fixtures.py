#!/usr/bin/env python3
"""Regenerate Crucible's test fixtures (models, bundled data, goldens, per-op cases).

Run with Debian's interpreter from the repository root (or anywhere):

    /usr/bin/python3 tools/make_fixtures.py

Needs python3-torch (1.13), python3-onnx (1.12), python3-numpy and the
dataset-fashion-mnist package (IDX gzip files in /usr/share/datasets/fashion-mnist,
override with $FMNIST_DIR).  Writes everything under tests/fixtures/ (see
tools/README.md).  Deterministic: fixed seeds, torch.set_num_threads(2).
The C++ tests only read the outputs; they never need torch.
"""

import gzip
import io
import json
import os
import struct
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

warnings.filterwarnings("ignore")
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
DATA_SRC = Path(os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist"))
MODELS = ["fmnist_mlp", "fmnist_lenet", "fmnist_resnet"]
N_BUNDLED = 1000
N_GOLDEN = 8
# Inputs of piecewise-linear ops are kept well away from kinks so that central finite
# differences with step 1e-2 along N(0,1) directions (as the C++ tests do) never cross one.
KINK_MARGIN = 0.1  # min distance of elementwise-op inputs from kinks (relu, leaky_relu, clip)
MAXPOOL_SPACING = 0.1  # spacing of the distinct values fed to max pooling


# ----------------------------------------------------------------------------- io helpers

def read_idx_gz(path):
    """Parse an IDX file (gzip): magic 0x0000 0x08 ndim, big-endian u32 dims, uint8 data."""
    with gzip.open(path, "rb") as f:
        buf = f.read()
    if buf[0:2] != b"\x00\x00" or buf[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = buf[3]
    dims = struct.unpack(">" + "I" * ndim, buf[4:4 + 4 * ndim])
    data = np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch")
    return data.reshape(dims).copy()


def load_fmnist():
    tr_x = read_idx_gz(DATA_SRC / "train-images-idx3-ubyte.gz")
    tr_y = read_idx_gz(DATA_SRC / "train-labels-idx1-ubyte.gz")
    te_x = read_idx_gz(DATA_SRC / "t10k-images-idx3-ubyte.gz")
    te_y = read_idx_gz(DATA_SRC / "t10k-labels-idx1-ubyte.gz")
    assert tr_x.shape == (60000, 28, 28) and te_x.shape == (10000, 28, 28)
    return tr_x, tr_y.astype(np.int64), te_x, te_y.astype(np.int64)


WRITTEN = []


def save_npy(path, arr, dtype):
    arr = np.ascontiguousarray(np.asarray(arr).astype(np.dtype(dtype).newbyteorder("<")))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, arr, allow_pickle=False)
    WRITTEN.append(path)


def save_f32(path, arr):
    save_npy(path, arr, np.float32)


def save_onnx(path, model):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    WRITTEN.append(path)


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def to_np(t):
    return t.detach().cpu().numpy()


# ----------------------------------------------------------------------------- numpy ONNX reference
# A tiny independent interpreter, used only to cross-check that every written ONNX graph
# computes what the torch reference computed (onnxruntime is not available here).

def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _pool_prep(x, a, fill):
    k = list(a["kernel_shape"])
    nd = len(k)
    pads = list(a.get("pads", [0] * (2 * nd)))
    assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
    tp = torch.from_numpy(np.ascontiguousarray(x))
    fpad = []
    for i in reversed(range(nd)):
        fpad += [pads[i], pads[i + nd]]
    tp = F.pad(tp, fpad, value=fill)
    strides = list(a.get("strides", [1] * nd))
    return tp, k, strides


def run_onnx_reference(model, feeds):
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    env[""] = None
    for node in model.graph.node:
        a = _attrs(node)
        ins = [env[n] for n in node.input]
        op = node.op_type
        x = ins[0] if ins else None
        if op == "Constant":
            if "value" in a:
                out = numpy_helper.to_array(a["value"])
            elif "value_float" in a:
                out = np.array(a["value_float"], np.float32)
            elif "value_floats" in a:
                out = np.array(a["value_floats"], np.float32)
            elif "value_int" in a:
                out = np.array(a["value_int"], np.int64)
            elif "value_ints" in a:
                out = np.array(a["value_ints"], np.int64)
            else:
                raise NotImplementedError(a)
        elif op in ("Identity",):
            out = x
        elif op == "Dropout":
            out = x
        elif op == "Add":
            out = ins[0] + ins[1]
        elif op == "Sub":
            out = ins[0] - ins[1]
        elif op == "Mul":
            out = ins[0] * ins[1]
        elif op == "Div":
            out = ins[0] / ins[1]
        elif op == "MatMul":
            out = np.matmul(ins[0], ins[1])
        elif op == "Gemm":
            A = ins[0].T if a.get("transA", 0) else ins[0]
            B = ins[1].T if a.get("transB", 0) else ins[1]
            out = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                out = out + a.get("beta", 1.0) * ins[2]
        elif op == "Relu":
            out = np.maximum(x, 0)
        elif op == "LeakyRelu":
            out = np.where(x >= 0, x, a.get("alpha", 0.01) * x)
        elif op == "Sigmoid":
            out = 1.0 / (1.0 + np.exp(-x))
        elif op == "Tanh":
            out = np.tanh(x)
        elif op == "Softmax":
            if opset >= 13:
                ax = a.get("axis", -1)
                e = np.exp(x - x.max(axis=ax, keepdims=True))
                out = e / e.sum(axis=ax, keepdims=True)
            else:
                ax = a.get("axis", 1) % x.ndim
                x2 = x.reshape(int(np.prod(x.shape[:ax])), -1)
                e = np.exp(x2 - x2.max(axis=1, keepdims=True))
                out = (e / e.sum(axis=1, keepdims=True)).reshape(x.shape)
        elif op == "Conv":
            assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
            w = ins[1]
            nd = w.ndim - 2
            pads = list(a.get("pads", [0] * (2 * nd)))
            fpad = []
            for i in reversed(range(nd)):
                fpad += [pads[i], pads[i + nd]]
            tx = F.pad(torch.from_numpy(np.ascontiguousarray(x)), fpad)
            b = torch.from_numpy(ins[2]) if len(ins) > 2 and ins[2] is not None else None
            out = F.conv2d(tx, torch.from_numpy(w), b, stride=list(a.get("strides", [1] * nd)),
                           dilation=list(a.get("dilations", [1] * nd)),
                           groups=a.get("group", 1)).numpy()
        elif op == "MaxPool":
            tp, k, s = _pool_prep(x, a, float("-inf"))
            out = F.max_pool2d(tp, k, s, dilation=list(a.get("dilations", [1, 1])),
                               ceil_mode=bool(a.get("ceil_mode", 0))).numpy()
        elif op == "AveragePool":
            assert not a.get("ceil_mode", 0)
            tp, k, s = _pool_prep(x, a, 0.0)
            sums = F.avg_pool2d(tp, k, s) * float(np.prod(k))
            if a.get("count_include_pad", 0):
                out = (sums / float(np.prod(k))).numpy()
            else:
                ones, _, _ = _pool_prep(np.ones_like(x), a, 0.0)
                cnt = F.avg_pool2d(ones, k, s) * float(np.prod(k))
                out = (sums / cnt).numpy()
        elif op == "GlobalAveragePool":
            out = x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)
        elif op == "BatchNormalization":
            sc, bb, mu, var = ins[1:5]
            shp = [1, -1] + [1] * (x.ndim - 2)
            out = (x - mu.reshape(shp)) / np.sqrt(var.reshape(shp) + a.get("epsilon", 1e-5)) \
                * sc.reshape(shp) + bb.reshape(shp)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            ax = ax + x.ndim if ax < 0 else ax
            out = x.reshape(int(np.prod(x.shape[:ax])), -1)
        elif op == "Reshape":
            shp = [int(v) for v in ins[1]]
            shp = [x.shape[i] if v == 0 else v for i, v in enumerate(shp)]
            out = x.reshape(shp)
        elif op == "Transpose":
            out = np.transpose(x, a.get("perm", list(reversed(range(x.ndim)))))
        elif op == "Unsqueeze":
            axes = list(a["axes"]) if "axes" in a else [int(v) for v in ins[1]]
            r = x.ndim + len(axes)
            out = x
            for ax in sorted(v % r for v in axes):
                out = np.expand_dims(out, ax)
        elif op == "Squeeze":
            axes = list(a["axes"]) if "axes" in a else [int(v) for v in ins[1]]
            out = np.squeeze(x, tuple(v % x.ndim for v in axes))
        elif op == "Concat":
            out = np.concatenate(ins, axis=a["axis"])
        elif op == "Clip":
            if opset >= 11:
                lo = ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf
                hi = ins[2] if len(ins) > 2 and ins[2] is not None else np.inf
            else:
                lo = a.get("min", -3.4028234663852886e38)
                hi = a.get("max", 3.4028234663852886e38)
            out = np.minimum(np.maximum(x, lo), hi)
        elif op == "Pad":
            mode = a.get("mode", b"constant")
            assert mode in (b"constant", "constant")
            pads = [int(v) for v in ins[1]]
            cval = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
            r = x.ndim
            out = np.pad(x, [(pads[i], pads[i + r]) for i in range(r)], constant_values=cval)
        else:
            raise NotImplementedError(op)
        for i, name in enumerate(node.output):
            if name:
                env[name] = np.asarray(out) if i == 0 else None
    return [env[o.name] for o in model.graph.output]


def check_against_reference(model, x, expected, what, rtol=1e-4, atol=2e-5):
    got = run_onnx_reference(model, {"input": x})[0]
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: reference shape {got.shape} != {expected.shape}")
    err = np.max(np.abs(got.astype(np.float64) - expected)) if expected.size else 0.0
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        raise AssertionError(f"{what}: numpy ONNX reference disagrees with torch (max err {err})")
    return err


def describe(model):
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    return opset, [n.op_type for n in model.graph.node]


def export_torch(module, x, opset, dynamic, out_name):
    f = io.BytesIO()
    kw = {}
    if dynamic:
        kw["dynamic_axes"] = {"input": {0: "batch"}, out_name: {0: "batch"}}
    torch.onnx.export(module, x, f, opset_version=opset, input_names=["input"],
                      output_names=[out_name], training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=True, **kw)
    model = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(model, full_check=True)
    return model


# ----------------------------------------------------------------------------- models

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.proj is None else self.proj(x)
        return F.relu(y + skip)


def make_model(name):
    if name == "fmnist_mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
                             nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    if name == "fmnist_lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
                             nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                             nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    if name == "fmnist_resnet":
        return nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                             BasicBlock(16, 16, 1), BasicBlock(16, 32, 2),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    raise KeyError(name)


TRAIN_CFG = {  # epochs, lr, batch
    "fmnist_mlp": (3, 1e-3, 128),
    "fmnist_lenet": (3, 2e-3, 128),
    "fmnist_resnet": (3, 2e-3, 128),
}


def train(name, xtr, ytr):
    torch.manual_seed(seed_of(name))
    model = make_model(name)
    epochs, lr, bs = TRAIN_CFG[name]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed_of(name) + 1)
    model.train()
    t0 = time.time()
    for ep in range(epochs):
        perm = torch.randperm(xtr.shape[0], generator=gen)
        tot = 0.0
        for i in range(0, xtr.shape[0], bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss) * idx.numel()
        print(f"  {name} epoch {ep + 1}/{epochs}: loss {tot / xtr.shape[0]:.4f} "
              f"({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def input_grad(fn, x, cot):
    xt = torch.from_numpy(x).clone().requires_grad_(True)
    out = fn(xt)
    (g,) = torch.autograd.grad((out * torch.from_numpy(cot)).sum(), xt)
    return to_np(out), to_np(g)


def build_models(summary):
    tr_x, tr_y, te_x, te_y = load_fmnist()
    data_dir, model_dir, gold_dir = FIX / "data", FIX / "models", FIX / "golden"

    imgs = te_x[:N_BUNDLED].reshape(N_BUNDLED, 1, 28, 28).astype(np.uint8)
    labels = te_y[:N_BUNDLED].astype(np.int64)
    save_npy(data_dir / "fmnist_test_1000_images.npy", imgs, np.uint8)
    save_npy(data_dir / "fmnist_test_1000_labels.npy", labels, np.int64)

    xtr = torch.from_numpy(tr_x.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    ytr = torch.from_numpy(tr_y)
    xb = torch.from_numpy(imgs.astype(np.float32) / 255.0)
    golden_x = (imgs[:N_GOLDEN].astype(np.float32) / 255.0)

    acc = {}
    for name in MODELS:
        model = train(name, xtr, ytr)
        with torch.no_grad():
            pred = model(xb).argmax(1).numpy()
        correct = int((pred == labels).sum())
        acc[name] = {"accuracy": correct / N_BUNDLED, "correct": correct}

        onnx_model = export_torch(model, torch.from_numpy(golden_x), 13, True, "logits")
        opset, ops = describe(onnx_model)
        if name == "fmnist_resnet" and "BatchNormalization" not in ops:
            raise AssertionError("BatchNormalization was fused away in fmnist_resnet")
        save_onnx(model_dir / f"{name}.onnx", onnx_model)

        rng = np.random.default_rng(seed_of(name + "/cotangent"))
        cot = rng.standard_normal((N_GOLDEN, 10)).astype(np.float32)
        logits, g = input_grad(model, golden_x, cot)
        err = check_against_reference(onnx_model, golden_x, logits, name)
        # also check a batch size different from the export batch (dynamic axis)
        with torch.no_grad():
            ref100 = model(xb[:100]).numpy()
        check_against_reference(onnx_model, to_np(xb[:100]), ref100, name + "[100]")
        save_f32(gold_dir / f"{name}_inputs.npy", golden_x)
        save_f32(gold_dir / f"{name}_logits.npy", logits)
        save_f32(gold_dir / f"{name}_cotangent.npy", cot)
        save_f32(gold_dir / f"{name}_input_grad.npy", g)
        summary.append((f"models/{name}.onnx", opset, ops, err))
        print(f"  {name}: accuracy {acc[name]['accuracy']:.3f} ({correct}/{N_BUNDLED}), "
              f"opset {opset}, ops {ops}", flush=True)

    p = gold_dir / "accuracy.json"
    p.write_text(json.dumps(acc, indent=2, sort_keys=True) + "\n")
    WRITTEN.append(p)
    return acc


# ----------------------------------------------------------------------------- per-op cases

def normal(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def away_from(x, kinks, margin=KINK_MARGIN):
    """Push values that are closer than `margin` to any kink out to distance >= margin."""
    x = x.astype(np.float64)
    for k in kinks:
        d = x - k
        near = np.abs(d) < margin
        x = np.where(near, k + np.where(d >= 0, 1.0, -1.0) * (margin + np.abs(d)), x)
    for k in kinks:
        assert np.min(np.abs(x - k)) >= margin * 0.999
    return x.astype(np.float32)


def spaced_perm(rng, shape, spacing=MAXPOOL_SPACING):
    """A random permutation of distinct values `spacing` apart, centred on 0: no ties or
    near-ties anywhere (for max pooling)."""
    n = int(np.prod(shape))
    vals = (np.arange(n, dtype=np.float64) - (n - 1) / 2.0) * spacing
    return rng.permutation(vals).astype(np.float32).reshape(shape)


def rand_param(rng, shape, scale=0.5):
    return torch.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32))


class Fn(nn.Module):
    """Wrap a function (with optional constant tensors registered as buffers)."""

    def __init__(self, fn, **consts):
        super().__init__()
        self.fn = fn
        for k, v in consts.items():
            self.register_buffer(k, v)

    def forward(self, x):
        return self.fn(self, x)


def with_margin(rng, shape, preact_fn, margin, tries=5000):
    """Draw N(0,1) inputs until every pre-activation returned by preact_fn is >= margin from 0."""
    for _ in range(tries):
        x = normal(rng, shape)
        with torch.no_grad():
            pre = preact_fn(torch.from_numpy(x))
        if float(pre.abs().min()) >= margin:
            return x
    raise RuntimeError("could not draw an input with the required kink margin")


def hand_model(nodes, x_shape, out_shape, inits=(), opset=13, ir_version=None,
               inits_as_inputs=False, name="case"):
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, list(x_shape))
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, list(out_shape))
    init_protos = [numpy_helper.from_array(np.ascontiguousarray(v), k) for k, v in inits]
    inputs = [inp]
    if inits_as_inputs:
        inputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape))
                  for k, v in inits] + [inp]
    graph = helper.make_graph(nodes, name, inputs, [out], initializer=init_protos)
    model = helper.make_model(graph, producer_name="crucible-make_fixtures",
                              opset_imports=[helper.make_opsetid("", opset)])
    if ir_version is not None:
        model.ir_version = ir_version
    onnx.checker.check_model(model, full_check=True)
    return model


def op_cases():
    """Yield (name, note, builder).  builder(rng) -> (onnx_model, x, torch_fn)."""
    cases = []

    def case(name, note=""):
        def deco(f):
            cases.append((name, note, f))
            return f
        return deco

    def tcase(module, x, opset=13):
        module.eval()
        for p in module.parameters():
            p.requires_grad_(False)
        return export_torch(module, torch.from_numpy(x), opset, False, "output"), x, module

    # --- Gemm / MatMul
    @case("gemm", "nn.Linear(12,5) on [2,12] -> Gemm transB=1")
    def _(rng):
        return tcase(nn.Linear(12, 5), normal(rng, (2, 12)))

    @case("gemm_attrs", "hand-built Gemm alpha=0.5 beta=2 transA=0 transB=0, B [12,5], C [5]")
    def _(rng):
        x = normal(rng, (2, 12))
        B = normal(rng, (12, 5))
        C = normal(rng, (5,))
        node = helper.make_node("Gemm", ["input", "B", "C"], ["output"], alpha=0.5, beta=2.0,
                                transA=0, transB=0)
        m = hand_model([node], x.shape, (2, 5), [("B", B), ("C", C)])
        Bt, Ct = torch.from_numpy(B), torch.from_numpy(C)
        return m, x, lambda t: 0.5 * (t @ Bt) + 2.0 * Ct

    @case("matmul", "[2,3,4,5] @ const [5,6]")
    def _(rng):
        return tcase(Fn(lambda s, x: torch.matmul(x, s.w), w=rand_param(rng, (5, 6))),
                     normal(rng, (2, 3, 4, 5)))

    @case("matmul_vars", "x @ x^T over the last two dims, both operands variable")
    def _(rng):
        return tcase(Fn(lambda s, x: torch.matmul(x, x.transpose(-1, -2))),
                     normal(rng, (2, 3, 4, 5)))

    # --- elementwise binary
    @case("add_broadcast", "x[2,3,8,8] + const[3,1,1]")
    def _(rng):
        return tcase(Fn(lambda s, x: x + s.c, c=rand_param(rng, (3, 1, 1), 1.0)),
                     normal(rng, (2, 3, 8, 8)))

    @case("sub", "(const[3,1,1] - x) - x^T(HW), x[2,3,6,6]")
    def _(rng):
        return tcase(Fn(lambda s, x: (s.c - x) - x.transpose(2, 3),
                        c=rand_param(rng, (3, 1, 1), 1.0)),
                     normal(rng, (2, 3, 6, 6)))

    @case("mul", "x*const[1,3,1,1] + x*x")
    def _(rng):
        return tcase(Fn(lambda s, x: x * s.c + x * x, c=rand_param(rng, (1, 3, 1, 1), 1.0)),
                     normal(rng, (2, 3, 6, 6)))

    @case("div", "x/const[3,1,1] + const[3,1,1]/(x*x+1)")
    def _(rng):
        c = torch.from_numpy(rng.uniform(0.5, 2.0, (3, 1, 1)).astype(np.float32))
        d = rand_param(rng, (3, 1, 1), 1.0)
        return tcase(Fn(lambda s, x: x / s.c + s.d / (x * x + 1.0), c=c, d=d),
                     normal(rng, (2, 3, 6, 6)))

    # --- convolution
    def conv_case(rng, x_shape, **kw):
        m = nn.Conv2d(**kw)
        with torch.no_grad():
            m.weight.copy_(rand_param(rng, tuple(m.weight.shape)))
            m.bias.copy_(rand_param(rng, tuple(m.bias.shape)))
        return tcase(m, normal(rng, x_shape))

    @case("conv_basic", "Conv2d(3,4,k3,pad1) on [2,3,8,8]")
    def _(rng):
        return conv_case(rng, (2, 3, 8, 8), in_channels=3, out_channels=4, kernel_size=3,
                         padding=1)

    @case("conv_strided", "Conv2d(3,4,k3,stride2,pad(1,2),dilation2) on [2,3,9,10]")
    def _(rng):
        return conv_case(rng, (2, 3, 9, 10), in_channels=3, out_channels=4, kernel_size=3,
                         stride=2, padding=(1, 2), dilation=2)

    @case("conv_groups", "Conv2d(3,6,k3,pad1,groups=3) on [2,3,8,8]")
    def _(rng):
        return conv_case(rng, (2, 3, 8, 8), in_channels=3, out_channels=6, kernel_size=3,
                         padding=1, groups=3)

    @case("conv_depthwise", "Conv2d(4,4,k3,pad1,groups=4) on [2,4,8,8]")
    def _(rng):
        return conv_case(rng, (2, 4, 8, 8), in_channels=4, out_channels=4, kernel_size=3,
                         padding=1, groups=4)

    # --- activations
    @case("relu", f"input pushed >= {KINK_MARGIN} away from 0")
    def _(rng):
        return tcase(nn.ReLU(), away_from(normal(rng, (2, 3, 8, 8)), [0.0]))

    @case("leaky_relu", f"LeakyReLU(0.1); input >= {KINK_MARGIN} away from 0")
    def _(rng):
        return tcase(nn.LeakyReLU(0.1), away_from(normal(rng, (2, 3, 8, 8)), [0.0]))

    @case("leaky_relu_default_alpha", "hand-built LeakyRelu with NO alpha attribute (0.01)")
    def _(rng):
        x = away_from(normal(rng, (2, 3, 8, 8)), [0.0])
        m = hand_model([helper.make_node("LeakyRelu", ["input"], ["output"])], x.shape, x.shape)
        return m, x, lambda t: F.leaky_relu(t, 0.01)

    @case("sigmoid")
    def _(rng):
        return tcase(nn.Sigmoid(), normal(rng, (2, 3, 8, 8)))

    @case("tanh")
    def _(rng):
        return tcase(nn.Tanh(), normal(rng, (2, 3, 8, 8)))

    @case("softmax", "softmax over axis 1 of [2,12]")
    def _(rng):
        return tcase(nn.Softmax(dim=1), normal(rng, (2, 12)))

    @case("softmax_axis_last", "softmax over dim=-1 of [2,3,4,5]")
    def _(rng):
        return tcase(nn.Softmax(dim=-1), normal(rng, (2, 3, 4, 5)))

    # --- pooling
    @case("maxpool", "k2 s2; input = random permutation of distinct values 0.1 apart (no near-ties)")
    def _(rng):
        return tcase(nn.MaxPool2d(2, 2), spaced_perm(rng, (2, 3, 8, 8)))

    @case("maxpool_pad", "k3 s2 pad1 on [2,3,9,9]; spaced-permutation input")
    def _(rng):
        return tcase(nn.MaxPool2d(3, 2, 1), spaced_perm(rng, (2, 3, 9, 9)))

    @case("maxpool_overlap", "k3 s1 on [2,3,8,8]; spaced-permutation input")
    def _(rng):
        return tcase(nn.MaxPool2d(3, 1), spaced_perm(rng, (2, 3, 8, 8)))

    @case("avgpool", "AvgPool2d(2,2); torch emits Pad(zeros)+AveragePool")
    def _(rng):
        return tcase(nn.AvgPool2d(2, 2), normal(rng, (2, 3, 8, 8)))

    @case("avgpool_pad_exclude", "k3 s2 pad1 count_include_pad=False on [2,3,9,9]")
    def _(rng):
        return tcase(nn.AvgPool2d(3, 2, 1, count_include_pad=False), normal(rng, (2, 3, 9, 9)))

    @case("avgpool_pad_include",
          "k3 s2 pad1 count_include_pad=True on [2,3,9,9]; torch emits Pad(1)+AveragePool(pads 0)")
    def _(rng):
        return tcase(nn.AvgPool2d(3, 2, 1, count_include_pad=True), normal(rng, (2, 3, 9, 9)))

    @case("avgpool_pad_include_native",
          "hand-built AveragePool k3 s2 pads1 count_include_pad=1 on [2,3,9,9]")
    def _(rng):
        x = normal(rng, (2, 3, 9, 9))
        node = helper.make_node("AveragePool", ["input"], ["output"], kernel_shape=[3, 3],
                                strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
        m = hand_model([node], x.shape, (2, 3, 5, 5))
        return m, x, lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=True)

    @case("global_avgpool", "AdaptiveAvgPool2d(1) -> GlobalAveragePool, out [2,3,1,1]")
    def _(rng):
        return tcase(nn.AdaptiveAvgPool2d(1), normal(rng, (2, 3, 8, 8)))

    # --- normalisation
    def random_bn(rng, c):
        bn = nn.BatchNorm2d(c)
        with torch.no_grad():
            bn.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, c).astype(np.float32)))
            bn.bias.copy_(rand_param(rng, (c,)))
            bn.running_mean.copy_(rand_param(rng, (c,)))
            bn.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, c).astype(np.float32)))
        return bn

    @case("batchnorm", "BatchNorm2d(3) eval, non-trivial running stats, unfused")
    def _(rng):
        return tcase(random_bn(rng, 3), normal(rng, (2, 3, 8, 8)))

    @case("conv_batchnorm", "Conv2d(3,4,k3,pad1,no bias) + BatchNorm2d(4) eval, kept unfused")
    def _(rng):
        conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        with torch.no_grad():
            conv.weight.copy_(rand_param(rng, tuple(conv.weight.shape)))
        return tcase(nn.Sequential(conv, random_bn(rng, 4)), normal(rng, (2, 3, 8, 8)))

    # --- shape ops
    @case("flatten", "flatten(1) of [2,3,4,4] then Linear(48,5)")
    def _(rng):
        return tcase(nn.Sequential(nn.Flatten(), nn.Linear(48, 5)), normal(rng, (2, 3, 4, 4)))

    @case("reshape", "x.reshape(2,-1,4) of [2,3,4,4] -> [2,12,4]")
    def _(rng):
        return tcase(Fn(lambda s, x: x.reshape(2, -1, 4)), normal(rng, (2, 3, 4, 4)))

    @case("transpose", "permute(0,2,3,1) of [2,3,4,5]")
    def _(rng):
        return tcase(Fn(lambda s, x: x.permute(0, 2, 3, 1)), normal(rng, (2, 3, 4, 5)))

    su = lambda s, x: (x.unsqueeze(1) * s.c).squeeze(1)

    @case("squeeze_unsqueeze", "(unsqueeze(1) * const[1,1,3,1,1]).squeeze(1); axes as inputs")
    def _(rng):
        return tcase(Fn(su, c=rand_param(rng, (1, 1, 3, 1, 1), 1.0)), normal(rng, (2, 3, 4, 4)))

    @case("squeeze_unsqueeze_opset11", "same as squeeze_unsqueeze, opset 11 (axes attributes)")
    def _(rng):
        return tcase(Fn(su, c=rand_param(rng, (1, 1, 3, 1, 1), 1.0)), normal(rng, (2, 3, 4, 4)),
                     opset=11)

    @case("concat", "cat([x, x*2], dim=1) of [2,3,4,4]")
    def _(rng):
        return tcase(Fn(lambda s, x: torch.cat([x, x * 2], dim=1)), normal(rng, (2, 3, 4, 4)))

    @case("concat_axis_last", "cat([x, x*2], dim=-1) of [2,3,4,4]")
    def _(rng):
        return tcase(Fn(lambda s, x: torch.cat([x, x * 2], dim=-1)), normal(rng, (2, 3, 4, 4)))

    # --- hand-built pass-through / constant nodes
    @case("identity", "a=Identity(input); b=Add(a,input); output=Identity(b)")
    def _(rng):
        x = normal(rng, (2, 3, 4, 4))
        nodes = [helper.make_node("Identity", ["input"], ["a"]),
                 helper.make_node("Add", ["a", "input"], ["b"]),
                 helper.make_node("Identity", ["b"], ["output"])]
        return hand_model(nodes, x.shape, x.shape), x, lambda t: t + t

    @case("dropout", "opset-13 Dropout (data input only, inference) then Mul const[3,1,1]")
    def _(rng):
        x = normal(rng, (2, 3, 4, 4))
        c = normal(rng, (3, 1, 1))
        nodes = [helper.make_node("Dropout", ["input"], ["d"]),
                 helper.make_node("Mul", ["d", "c"], ["output"])]
        ct = torch.from_numpy(c)
        return hand_model(nodes, x.shape, x.shape, [("c", c)]), x, lambda t: t * ct

    @case("constant", "Constant node (value [3,1,1]) feeding Add")
    def _(rng):
        x = normal(rng, (2, 3, 4, 4))
        c = normal(rng, (3, 1, 1))
        nodes = [helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(c, "c")),
                 helper.make_node("Add", ["input", "c"], ["output"])]
        ct = torch.from_numpy(c)
        return hand_model(nodes, x.shape, x.shape), x, lambda t: t + ct

    # --- clip
    @case("clip", f"torch.clamp(x,-0.5,0.7), min/max as inputs; input >= {KINK_MARGIN} from kinks")
    def _(rng):
        return tcase(Fn(lambda s, x: torch.clamp(x, -0.5, 0.7)),
                     away_from(normal(rng, (2, 3, 8, 8)), [-0.5, 0.7]))

    @case("clip_opset6", "hand-built Clip-6 with min=-0.5 max=0.7 attributes, opset 6")
    def _(rng):
        x = away_from(normal(rng, (2, 3, 8, 8)), [-0.5, 0.7])
        node = helper.make_node("Clip", ["input"], ["output"], min=-0.5, max=0.7)
        m = hand_model([node], x.shape, x.shape, opset=6, ir_version=3)
        return m, x, lambda t: torch.clamp(t, -0.5, 0.7)

    # --- composites
    @case("residual", "x + relu(conv3x3(x)) on [2,3,4,4]; all conv outputs >= 0.08 from 0")
    def _(rng):
        conv = nn.Conv2d(3, 3, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(rand_param(rng, tuple(conv.weight.shape), 0.3))
            conv.bias.copy_(rand_param(rng, (3,), 0.3))
        mod = Fn(lambda s, x: x + F.relu(s.conv(x)))
        mod.conv = conv
        x = with_margin(rng, (2, 3, 4, 4), conv, 0.08)
        return tcase(mod, x)

    @case("acas_style",
          "VNN-COMP ACAS Xu layout: opset 8, ir_version 3, initializers ALSO listed as graph "
          "inputs (before 'input'); Sub, Flatten, MatMul, Add, Relu, MatMul, Add; "
          "hidden pre-activations >= 0.15 from 0")
    def _(rng):
        avg = normal(rng, (1, 1, 1, 5)) * 0.1
        W1, b1 = normal(rng, (5, 7)), normal(rng, (7,)) * 0.1
        W2, b2 = normal(rng, (7, 5)) * 0.5, normal(rng, (5,)) * 0.1
        T = {k: torch.from_numpy(v) for k, v in
             dict(avg=avg, W1=W1, b1=b1, W2=W2, b2=b2).items()}

        def hidden(t):
            return torch.flatten(t - T["avg"], 1) @ T["W1"] + T["b1"]

        def fn(t):
            return F.relu(hidden(t)) @ T["W2"] + T["b2"]

        x = with_margin(rng, (1, 1, 1, 5), hidden, 0.15)
        inits = [("input_AvgImg", avg), ("Operation_1_MatMul_W", W1), ("Operation_1_Add_B", b1),
                 ("linear_2_MatMul_W", W2), ("linear_2_Add_B", b2)]
        nodes = [
            helper.make_node("Sub", ["input", "input_AvgImg"], ["input_Sub"]),
            helper.make_node("Flatten", ["input_Sub"], ["Operation_1_Flatten"], axis=1),
            helper.make_node("MatMul", ["Operation_1_Flatten", "Operation_1_MatMul_W"],
                             ["Operation_1_MatMul"]),
            helper.make_node("Add", ["Operation_1_MatMul", "Operation_1_Add_B"],
                             ["Operation_1_Add"]),
            helper.make_node("Relu", ["Operation_1_Add"], ["relu_1"]),
            helper.make_node("MatMul", ["relu_1", "linear_2_MatMul_W"], ["linear_2_MatMul"]),
            helper.make_node("Add", ["linear_2_MatMul", "linear_2_Add_B"], ["output"]),
        ]
        m = hand_model(nodes, x.shape, (1, 5), inits, opset=8, ir_version=3,
                       inits_as_inputs=True, name="acas_style")
        return m, x, fn

    return cases


def build_ops(summary):
    ops_dir = FIX / "ops"
    manifest = ["# Per-operator fixture cases: one case name per line (first token);",
                "# the comment lists opset and node op_types in graph order.",
                "# Files per case: NAME.onnx NAME_input.npy NAME_output.npy NAME_cotangent.npy "
                "NAME_input_grad.npy"]
    details = []
    for name, note, builder in op_cases():
        rng = np.random.default_rng(seed_of(name))
        torch.manual_seed(seed_of(name))
        model, x, fn = builder(rng)
        x = np.ascontiguousarray(x.astype(np.float32))
        # structural checks: one non-initializer float input "input" with a static shape
        init_names = {t.name for t in model.graph.initializer}
        real_inputs = [i for i in model.graph.input if i.name not in init_names]
        assert [i.name for i in real_inputs] == ["input"], (name, real_inputs)
        dims = [d.dim_value if d.HasField("dim_value") else None
                for d in real_inputs[0].type.tensor_type.shape.dim]
        assert dims == list(x.shape), (name, dims, x.shape)
        assert len(model.graph.output) == 1, name

        with torch.no_grad():
            y0 = to_np(fn(torch.from_numpy(x)))
        crng = np.random.default_rng(seed_of(name + "/cotangent"))
        cot = crng.standard_normal(y0.shape).astype(np.float32)
        y, g = input_grad(fn, x, cot)
        err = check_against_reference(model, x, y, name)

        save_onnx(ops_dir / f"{name}.onnx", model)
        save_f32(ops_dir / f"{name}_input.npy", x)
        save_f32(ops_dir / f"{name}_output.npy", y)
        save_f32(ops_dir / f"{name}_cotangent.npy", cot)
        save_f32(ops_dir / f"{name}_input_grad.npy", g)
        opset, ops = describe(model)
        manifest.append(f"{name}  # opset {opset}: {' '.join(ops)}")
        details.append(f"{name}: in {list(x.shape)} out {list(y.shape)}; {note}" if note
                       else f"{name}: in {list(x.shape)} out {list(y.shape)}")
        summary.append((f"ops/{name}.onnx", opset, ops, err))
    p = ops_dir / "MANIFEST.txt"
    p.write_text("\n".join(manifest) + "\n#\n# Notes:\n" +
                 "\n".join("#   " + d for d in details) + "\n")
    WRITTEN.append(p)


# ----------------------------------------------------------------------------- main

def main():
    t0 = time.time()
    summary = []
    print("per-operator cases ...", flush=True)
    build_ops(summary)
    print(f"  done ({time.time() - t0:.0f}s)", flush=True)
    print("Fashion-MNIST models ...", flush=True)
    acc = build_models(summary)

    print("\n== ONNX files (opset, node op_types, max |numpy-ref - torch|)")
    for path, opset, ops, err in summary:
        print(f"{path:45s} opset {opset:2d}  err {err:.1e}  {' '.join(ops)}")
    print("\n== accuracy on the 1000 bundled test images")
    for k, v in acc.items():
        print(f"{k:15s} {v['accuracy']:.3f} ({v['correct']}/{N_BUNDLED})")
    total = 0
    print("\n== files written")
    for p in WRITTEN:
        total += p.stat().st_size
        print(f"{p.stat().st_size:9d}  {p.relative_to(ROOT)}")
    print(f"{total:9d}  total ({len(WRITTEN)} files), {time.time() - t0:.0f}s")


if __name__ == "__main__":
    sys.exit(main())
