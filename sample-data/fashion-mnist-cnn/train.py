"""Trains the sample CNN on Fashion-MNIST and exports it to ONNX with its BatchNorm nodes kept.

The network: two Conv+BatchNorm2d+ReLU+MaxPool blocks and one Linear+BatchNorm1d+ReLU block
before the classifier, on [N, 1, 28, 28] float32 images of raw pixels 0..255 (scaled by 1/255
inside the network). BatchNorm momentum is 0.01 (PyTorch's default is 0.1), so that after one epoch
the running statistics still average over the last few hundred minibatches, taken while the
weights kept changing: they lag the statistics the trained network sees, as in long runs with
decaying learning rates. That is the situation recalibration (`jobs/normstats recalibrate`) fixes.

Needs PyTorch (tested with 2.15.0, CPU) and numpy; runs in about a minute on 2 cores:

    python3 train.py --images /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
        --labels /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz \
        --test-images ../fashion-mnist/t10k-images-idx3-ubyte.gz \
        --test-labels ../fashion-mnist/t10k-labels-idx1-ubyte.gz --output model.onnx

It prints the test accuracy of the exported network with its stored (running) statistics. The same
seed, PyTorch version and thread count give the same model.
"""

import argparse
import gzip
import struct

import numpy as np
import torch
from torch import nn


def read_idx(path):
    """An IDX file (plain or gzip) as a numpy array of its unsigned bytes, in its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">i", data[:4])
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {magic})")
    rank = magic & 0xFF
    dims = struct.unpack(">" + "i" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


class FashionCnn(nn.Module):
    """Conv-BN2d-ReLU-Pool x 2, Linear-BN1d-ReLU, Linear: [N, 1, 28, 28] -> [N, 10] logits."""

    def __init__(self, bn_momentum):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16, momentum=bn_momentum)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32, momentum=bn_momentum)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.bn3 = nn.BatchNorm1d(64, momentum=bn_momentum)
        self.fc2 = nn.Linear(64, 10)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        x = x * (1.0 / 255.0)
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool(torch.relu(self.bn2(self.conv2(x))))
        x = torch.flatten(x, 1)
        x = torch.relu(self.bn3(self.fc1(x)))
        return self.fc2(x)


def accuracy(model, images, labels, batch_size=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start:start + batch_size]).float().unsqueeze(1)
            y = torch.from_numpy(labels[start:start + batch_size].astype(np.int64))
            correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(images)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--test-images", required=True)
    parser.add_argument("--test-labels", required=True)
    parser.add_argument("--output", default="model.onnx")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--bn-momentum", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    images = read_idx(args.images)
    labels = read_idx(args.labels)
    test_images = read_idx(args.test_images)
    test_labels = read_idx(args.test_labels)

    model = FashionCnn(args.bn_momentum)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed)
    steps = 0
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator).numpy()
        for start in range(0, len(order) - args.batch_size + 1, args.batch_size):
            batch = order[start:start + args.batch_size]
            x = torch.from_numpy(images[batch]).float().unsqueeze(1)
            y = torch.from_numpy(labels[batch].astype(np.int64))
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            steps += 1
        print(f"epoch {epoch + 1}: {steps} steps, last loss {loss.item():.4f}, "
              f"test accuracy {accuracy(model, test_images, test_labels):.4f}")

    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    # TrainingMode.PRESERVE with the model in eval mode and no constant folding keeps every
    # BatchNorm as an inference-mode BatchNormalization node (not folded into the Conv or Gemm),
    # its initializers named after the state-dict keys (bn1.running_mean, ...).
    torch.onnx.export(model, (dummy,), args.output, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                      dynamo=False)
    print(f"wrote {args.output}; test accuracy with the stored statistics "
          f"{accuracy(model, test_images, test_labels):.4f}")


if __name__ == "__main__":
    main()
