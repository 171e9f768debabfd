#!/usr/bin/python3
"""Converts the NAP paper authors' mined patterns to Crucible's NapSet JSON (nap.json).

Input: ../shared/data/nap/reference/<prefix>_<Delta>.json, one object per class label:
  {"stable_idx": [...], "val": [...]}
`stable_idx` numbers the hidden ReLU neurons layer by layer (LAYER_SIZE, default 256, per
layer), `val` says how many of the class's training images activated each. With n the
class's image count, a neuron is fixed inactive when val <= n * Delta and fixed active when
val >= n * (1 - Delta); Crucible's mining threshold delta is 1 - Delta.

The files do not store n. It is bounded per class by the files themselves and by the other
Delta files of the same network in the same directory (the "siblings", same prefix):
  - n >= every val (no neuron fires more often than there are images);
  - a neuron stable at Delta with a val on the active side: val >= n (1 - Delta), so
    n <= val / (1 - Delta); on the inactive side: val <= n Delta, so n >= val / Delta;
  - a neuron stable at a larger Delta_b but not at a smaller Delta_a of a sibling file was
    not stable at Delta_a: active side, val < n (1 - Delta_a), so n > val / (1 - Delta_a);
    inactive side, val > n Delta_a, so n < val / Delta_a.
(The active side is val > max_val / 2.) The script prints the interval per class, checks
that every neuron's state is the same for every n in it, and records the smallest integer
n in the interval as the pattern's `mined_from`. For mnist-net_256x4 the intervals are a
few units wide and contain the class counts of the full 60,000-image MNIST training set.

Layers are named after the ReLU output tensors of --model (ONNX) when given.

    /usr/bin/python3 tools/nap_reference_to_napset.py \
        ../shared/data/nap/reference/mnist_relu_patterns_0.01.json nap_ref_0.01.json \
        --model ../shared/data/nap/mnist-net_256x4.onnx
"""
import argparse
import glob
import json
import math
import os
import re
import sys

FILE_NAME = re.compile(r"^(?P<prefix>.*)_(?P<delta>[0-9]+(?:\.[0-9]+)?)\.json$")


def parse_name(path):
    match = FILE_NAME.match(os.path.basename(path))
    if not match:
        raise ValueError(f"{path}: expected a name PREFIX_<Delta>.json")
    return match.group("prefix"), float(match.group("delta"))


def load_reference(path):
    with open(path) as f:
        raw = json.load(f)
    patterns = {}
    for label, entry in raw.items():
        idx, val = entry["stable_idx"], entry["val"]
        if len(idx) != len(val):
            raise ValueError(f"{path}: class {label}: stable_idx and val differ in length")
        patterns[int(label)] = dict(zip((int(i) for i in idx), (int(v) for v in val)))
    return patterns


def siblings_of(path):
    prefix, _ = parse_name(path)
    found = {}
    for candidate in glob.glob(os.path.join(os.path.dirname(os.path.abspath(path)), glob.escape(prefix) + "_*.json")):
        try:
            candidate_prefix, delta = parse_name(candidate)
        except ValueError:
            continue
        if candidate_prefix == prefix:
            found[delta] = load_reference(candidate)
    return found


def class_count_interval(label, files):
    """[lo, hi] of the image count n of class `label` consistent with all Delta files."""
    lo, hi = 0.0, math.inf
    for patterns in files.values():
        lo = max([lo] + list(patterns[label].values()))
    active_side = lo / 2
    for delta, patterns in files.items():
        for val in patterns[label].values():
            if val > active_side:
                if delta < 1:
                    hi = min(hi, val / (1 - delta))
            elif delta > 0:
                lo = max(lo, val / delta)
    deltas = sorted(files)
    for smaller, larger in zip(deltas, deltas[1:]):
        stable_before = files[smaller][label]
        for neuron, val in files[larger][label].items():
            if neuron in stable_before:
                continue
            if val > active_side:
                lo = max(lo, val / (1 - smaller))
            elif smaller > 0:
                hi = min(hi, val / smaller)
    return lo, hi


def state_of(val, delta, lo, hi):
    """'ACTIVE' / 'INACTIVE' if the rule gives that state for every n in [lo, hi], else None."""
    if val <= lo * delta:
        return "INACTIVE"
    if val >= hi * (1 - delta):
        return "ACTIVE"
    return None


def relu_layers(model_path):
    """(output tensor name, units) of each hidden Relu of an ONNX MLP, in graph order."""
    import onnx
    from onnx import shape_inference

    model = shape_inference.infer_shapes(onnx.load(model_path))
    dims = {}
    for value in list(model.graph.value_info) + list(model.graph.output):
        dims[value.name] = [d.dim_value for d in value.type.tensor_type.shape.dim]
    layers = []
    for node in model.graph.node:
        if node.op_type == "Relu":
            shape = dims.get(node.output[0])
            units = math.prod(shape[1:]) if shape else 0
            layers.append((node.output[0], units))
    return layers


def convert(path, model_path=None, layer_size=256):
    _, delta = parse_name(path)
    files = siblings_of(path)
    files[delta] = load_reference(path)
    patterns = files[delta]
    max_index = max((i for p in patterns.values() for i in p), default=-1)
    if model_path:
        layers = relu_layers(model_path)
        layer_names = [name for name, _ in layers]
        layer_sizes = [units for _, units in layers]
        if any(size != layer_size for size in layer_sizes):
            raise ValueError(f"{model_path}: hidden ReLU sizes {layer_sizes}, expected {layer_size} each")
    else:
        layer_names = []
        layer_sizes = [layer_size] * (max_index // layer_size + 1)
    if max_index >= layer_size * len(layer_sizes):
        raise ValueError(f"{path}: neuron index {max_index} beyond {len(layer_sizes)} layers of {layer_size}")

    out_patterns, counts = [], {}
    for label in sorted(patterns):
        lo, hi = class_count_interval(label, files)
        if lo > hi:
            raise ValueError(f"{path}: class {label}: no image count n fits the Delta rule ({lo:.2f} > {hi:.2f})")
        n = math.ceil(lo - 1e-9)
        neurons = []
        for index in sorted(patterns[label]):
            state = state_of(patterns[label][index], delta, lo, hi)
            if state is None:
                raise ValueError(f"{path}: class {label} neuron {index}: val {patterns[label][index]} "
                                 f"is on neither side of the rule for n in [{lo:.2f}, {hi:.2f}]")
            neurons.append({"layer": index // layer_size, "neuron": str(index % layer_size), "state": state})
        out_patterns.append({"label": str(label), "neurons": neurons, "mined_from": str(n)})
        counts[label] = (lo, hi, n)
    napset = {"delta": round(1.0 - delta, 6), "layer_names": layer_names,
              "layer_sizes": [str(s) for s in layer_sizes], "patterns": out_patterns}
    return napset, counts, sorted(files)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference", help="PREFIX_<Delta>.json from the authors")
    parser.add_argument("output", help="NapSet JSON to write ('-': stdout)")
    parser.add_argument("--model", help="the ONNX network, to name the layers after its ReLU outputs")
    parser.add_argument("--layer-size", type=int, default=256)
    args = parser.parse_args()

    napset, counts, deltas = convert(args.reference, args.model, args.layer_size)
    text = json.dumps(napset, indent=1) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)
    print(f"class image count n bounded by Delta files {deltas}:", file=sys.stderr)
    for label, (lo, hi, n) in counts.items():
        fixed = len(next(p for p in napset["patterns"] if p["label"] == str(label))["neurons"])
        print(f"  class {label}: n in [{lo:.2f}, {hi:.2f}] -> {n}; {fixed} fixed neurons", file=sys.stderr)


if __name__ == "__main__":
    main()
