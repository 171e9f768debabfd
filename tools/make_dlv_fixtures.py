#!/usr/bin/python3
"""Pooling-free CNN fixture for the dlv engine tests.

The fixture LeNet has MaxPool, which the affine extraction (and so dlv) does
not support; this script trains a small CNN made only of strided convolutions,
ReLUs and a Gemm on the committed Fashion-MNIST subset
(tests/fixtures/data/fmnist_test_1000_*.npy, scaled to [0, 1]) and exports it
to tests/fixtures/models/fmnist_conv_nopool.onnx.

    /usr/bin/python3 tools/make_dlv_fixtures.py      # needs python3-torch, python3-onnx
"""
import os

import numpy as np
import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def main():
    torch.manual_seed(0)
    images = np.load(os.path.join(ROOT, "tests/fixtures/data/fmnist_test_1000_images.npy")).astype(np.float32) / 255
    labels = np.load(os.path.join(ROOT, "tests/fixtures/data/fmnist_test_1000_labels.npy")).astype(np.int64)
    x = torch.from_numpy(images.reshape(-1, 1, 28, 28))
    y = torch.from_numpy(labels)
    model = nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=5, stride=3), nn.ReLU(),   # 4 x 8 x 8
        nn.Conv2d(4, 8, kernel_size=3, stride=2), nn.ReLU(),   # 8 x 3 x 3
        nn.Flatten(), nn.Linear(72, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(30):
        permutation = torch.randperm(len(x))
        for start in range(0, len(x), 50):
            batch = permutation[start:start + 50]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"training accuracy on the 1000-image subset: {accuracy:.3f}")
    out = os.path.join(ROOT, "tests/fixtures/models/fmnist_conv_nopool.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    print("wrote", out)


if __name__ == "__main__":
    main()
