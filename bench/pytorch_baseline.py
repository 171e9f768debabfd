#!/usr/bin/python3
"""PyTorch baseline for bench/executor_bench: the same ONNX weights run by
PyTorch (Debian python3-torch) on the same shapes and thread count.

The ONNX graph is interpreted with torch.nn.functional calls on the ONNX
initializers, so both sides compute the identical network. Forward runs under
torch.inference_mode(); forward+input-gradient sets requires_grad only on the
input and calls backward() with a cotangent, like executor_bench.

Prints one JSON object per line:
  {"model": ..., "mode": "forward"|"gradient", "batch": B, "images_per_second": ...}

Usage: bench/pytorch_baseline.py --models DIR [--threads 2] [--min-time 0.5]
"""
import argparse
import json
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pads_pair(pads):
    """ONNX [b1, b2, e1, e2] as PyTorch's symmetric per-dimension padding."""
    n = len(pads) // 2
    begin, end = pads[:n], pads[n:]
    if list(begin) != list(end):
        raise ValueError("asymmetric padding is not supported by this baseline")
    return tuple(begin)


def run_node(node, args, consts):
    a = attrs(node)
    op = node.op_type
    if op == "Conv":
        return F.conv2d(args[0], args[1], args[2] if len(args) > 2 else None, stride=a.get("strides", 1),
                        padding=pads_pair(a.get("pads", [0, 0, 0, 0])), dilation=a.get("dilations", 1),
                        groups=a.get("group", 1))
    if op == "Relu":
        return F.relu(args[0])
    if op == "MaxPool":
        return F.max_pool2d(args[0], a["kernel_shape"], a.get("strides"), pads_pair(a.get("pads", [0, 0, 0, 0])),
                            ceil_mode=bool(a.get("ceil_mode", 0)))
    if op == "AveragePool":
        return F.avg_pool2d(args[0], a["kernel_shape"], a.get("strides"), pads_pair(a.get("pads", [0, 0, 0, 0])),
                            ceil_mode=bool(a.get("ceil_mode", 0)),
                            count_include_pad=bool(a.get("count_include_pad", 0)))
    if op == "GlobalAveragePool":
        return F.adaptive_avg_pool2d(args[0], 1)
    if op == "Pad":
        pads = consts[node.input[1]].tolist()
        n = len(pads) // 2
        torch_pads = []
        for d in reversed(range(n)):
            torch_pads += [pads[d], pads[d + n]]
        return F.pad(args[0], torch_pads) if any(pads) else args[0]
    if op == "BatchNormalization":
        return F.batch_norm(args[0], args[3], args[4], args[1], args[2], False, 0.0, a.get("epsilon", 1e-5))
    if op == "Flatten":
        return torch.flatten(args[0], a.get("axis", 1))
    if op == "Gemm":
        w = args[1].t() if a.get("transB", 0) else args[1]
        return torch.addmm(args[2], args[0], w) if len(args) > 2 else args[0] @ w
    if op == "Add":
        return args[0] + args[1]
    if op == "Identity":
        return args[0]
    raise ValueError(f"baseline has no mapping for {op}")


class OnnxAsTorch:
    def __init__(self, path):
        model = onnx.load(path)
        graph = model.graph
        self.consts = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
        self.nodes = []
        for node in graph.node:
            if node.op_type == "Constant":
                self.consts[node.output[0]] = torch.from_numpy(numpy_helper.to_array(attrs(node)["value"]).copy())
            else:
                self.nodes.append(node)
        self.input = [i.name for i in graph.input if i.name not in self.consts][0]
        self.output = graph.output[0].name
        self.input_shape = [d.dim_value or 1 for d in graph.input[0].type.tensor_type.shape.dim]

    def __call__(self, x):
        env = dict(self.consts)
        env[self.input] = x
        for node in self.nodes:
            env[node.output[0]] = run_node(node, [env[i] if i else None for i in node.input], self.consts)
        return env[self.output]


def measure(fn, min_time, warm_up=None):
    """Calls of `fn` per second over at least `min_time` s, after `warm_up` (default: 3 calls)."""
    if warm_up is None:
        for _ in range(3):
            fn()
    else:
        warm_up()
    iterations = 0
    start = time.perf_counter()
    while True:
        fn()
        iterations += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return iterations / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True)
    parser.add_argument("--names", default="fmnist_lenet,fmnist_resnet")
    parser.add_argument("--batches", default="1,32,256")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=0.5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.mkldnn.enabled = True
    rng = np.random.default_rng(1)
    for name in args.names.split(","):
        net = OnnxAsTorch(f"{args.models}/{name}.onnx")
        for batch in [int(b) for b in args.batches.split(",")]:
            shape = [batch] + net.input_shape[1:]
            x = torch.from_numpy(rng.random(shape, dtype=np.float32))
            with torch.inference_mode():
                cotangent = torch.from_numpy(rng.random(net(x).shape, dtype=np.float32))

            def forward():
                with torch.inference_mode():
                    net(x)

            def gradient():
                xg = x.clone().requires_grad_(True)
                net(xg).backward(cotangent)
                return xg.grad

            for mode, fn in (("forward", forward), ("gradient", gradient)):
                calls = measure(fn, args.min_time)
                print(json.dumps({"model": name, "mode": mode, "batch": batch,
                                  "images_per_second": calls * batch}), flush=True)


if __name__ == "__main__":
    main()
