"""PyTorch's own cost of what `normstats recalibrate` does, for `jobs/normstats bench`.

Times, on the same rows and the same number of cores as the bench, two things a PyTorch user
runs: eager inference over the rows (`model(x)` under `torch.no_grad()`, minibatches of BATCH),
and `torch.optim.swa_utils.update_bn` over the same minibatches (the cumulative-average
recalibration: one forward pass in training mode). It prints one JSON object:

    {"torch": VERSION, "rows": N, "threads": T, "eager_s": [...], "update_bn_s": [...]}

with the seconds of each timed round (after one warm-up round). The architecture is one of the
zoo's (make_zoo.py) or torchvision's full `resnet18` (the BENCHMARKS.md case), with a one-channel
stem on raw Fashion-MNIST pixels; the weights are loaded from MODEL (the initializers under their
state-dict names, as both of PyTorch's exporters keep them) when given.

    python torch_baseline.py --arch resnet --images IDX [--model MODEL.onnx] [--rows 10000]
    python torch_baseline.py --arch resnet18 --export DIR   # writes DIR/model.onnx (+ .data)

Needs torch and torchvision (and onnx with --model); the bench skips the comparison without them.
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torchvision
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_zoo  # noqa: E402


def resnet18():
    """torchvision's resnet18 (10 classes; 20 BatchNorms in 17 levels), its stem taking one
    channel (7x7, stride 2, then the max pool: 28x28 images become 7x7 in layer1)."""
    m = torchvision.models.resnet18(num_classes=10)
    m.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    return m


ARCHS = dict(make_zoo.ZOO, resnet18=resnet18)


def build(arch):
    if arch not in ARCHS:
        raise SystemExit(f"unknown --arch {arch!r} ({', '.join(ARCHS)})")
    torch.manual_seed(1)
    return make_zoo.Scaled(ARCHS[arch]()).eval()


def load_weights(model, path):
    """Copies MODEL's initializers into the module's state dict by name; returns the count."""
    import onnx
    from onnx import numpy_helper

    state = model.state_dict()
    loaded = 0
    for init in onnx.load(path).graph.initializer:
        if init.name in state and tuple(state[init.name].shape) == tuple(init.dims):
            state[init.name].copy_(torch.from_numpy(numpy_helper.to_array(init).copy()))
            loaded += 1
    return loaded


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", required=True)
    p.add_argument("--images", help="IDX images [N, 28, 28] (gzip or not)")
    p.add_argument("--model", help="ONNX model whose initializers to load")
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--export", metavar="DIR",
                   help="write DIR/model.onnx with the default exporter (optimize=False)")
    a = p.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(a.threads)
    model = build(a.arch)
    if a.export:
        os.makedirs(a.export, exist_ok=True)
        x = torch.zeros(4, 1, 28, 28)
        torch.onnx.export(model, (x,), os.path.join(a.export, "model.onnx"), dynamo=True,
                          optimize=False, input_names=["image"], output_names=["logits"],
                          dynamic_shapes=({0: torch.export.Dim("N", min=2)},))
        return
    if not a.images:
        raise SystemExit("--images is required unless --export")
    if a.model:
        load_weights(model, a.model)
    pixels = make_zoo.read_idx(a.images)[:a.rows].astype(np.float32)
    x = torch.from_numpy(pixels).unsqueeze(1)
    batches = [x[i:i + a.batch] for i in range(0, len(x), a.batch)]

    def eager():
        with torch.no_grad():
            for b in batches:
                model(b)

    def update_bn():
        torch.optim.swa_utils.update_bn(batches, model)
        model.eval()

    times = {"eager_s": [], "update_bn_s": []}
    for r in range(a.repeats + 1):
        for name, f in (("eager_s", eager), ("update_bn_s", update_bn)):
            start = time.perf_counter()
            f()
            if r > 0:
                times[name].append(time.perf_counter() - start)
    print(json.dumps({"torch": torch.__version__, "rows": len(x), "threads": a.threads, **times}))


if __name__ == "__main__":
    main()
