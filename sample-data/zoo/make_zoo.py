"""Builds normstats' model zoo: small versions of real architectures, trained briefly, exported by
PyTorch's two ONNX exporters as users call them, with the BatchNorm statistics an independent
bottom-up oracle computes for the first ROWS images of sample-data/fashion-mnist.

Needs torch, torchvision, onnx and onnxscript (only to regenerate; the tests read what this
writes):

    python sample-data/zoo/make_zoo.py

For each architecture NAME it writes
  NAME/legacy.onnx         torch.onnx.export(..., dynamo=False,
                           training=TrainingMode.PRESERVE, do_constant_folding=False): the
                           TorchScript exporter, which deduplicates equal initializers through
                           Identity nodes
  NAME/dynamo.onnx(.data)  torch.onnx.export(..., dynamo=True, optimize=False): the default
                           exporter, weights in an external data file
  resnet/legacy_opset9.onnx     the legacy exporter at opset_version=9, the oldest normstats reads
  resnet/dynamo_folded.onnx     torch.onnx.export(..., dynamo=True, external_data=False): the
                                default optimization folds every BatchNorm into its Conv
  resnet/legacy_fp16.onnx       the trained ResNet as model.half(), legacy exporter (float16 input,
                                weights and statistics), with resnet/expected_fp16.json from the
                                oracle run in float16 (float64 sums of the float16 activations)
  resnet_untrained/             the ResNet as initialized, untrained: the legacy exporter shares
                                every running_mean (zeros) and running_var (ones) of a width, and
                                the running_var with the weights (ones)
  NAME/expected.json       per BatchNorm (state-dict prefix): count, mean, var_pop, var_samp as
                           float64, in execution order, from the oracle below

The oracle: BatchNorm layers one at a time in the order the network runs them; for each, the
network runs in eval mode on the ROWS images (the layers before it already recalibrated), a hook
takes the layer's float32 input, and its per-channel mean and population variance are computed
in float64 (two passes: the sum, then the sum of squared deviations); the layer then keeps the
float32 nearest to them. A layer's input depends only on layers that run before it, so this is
the bottom-up order normstats' levels follow.
"""

import copy
import gzip
import json
import os
import sys
import struct
import warnings

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision.models.efficientnet import MBConv, MBConvConfig
from torchvision.models.resnet import BasicBlock

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "..", "fashion-mnist", "t10k-images-idx3-ubyte.gz")
LABELS = os.path.join(HERE, "..", "fashion-mnist", "t10k-labels-idx1-ubyte.gz")
ROWS = 512  # the recalibration rows: images 0 .. ROWS-1
TRAIN = range(1000, 10000)  # the training rows


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


class Scaled(nn.Module):
    """The network on raw pixels (0..255) of [N, 1, 28, 28] images: divides by 255 first."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        return self.net(image / 255.0)


def resnet():
    """A narrow torchvision ResNet of BasicBlocks: widths 8, 16, 32, two blocks each."""
    def layer(cin, cout, stride):
        down = None
        if stride != 1 or cin != cout:
            down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        return nn.Sequential(BasicBlock(cin, cout, stride, down), BasicBlock(cout, cout))

    return nn.Sequential(
        nn.Conv2d(1, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
        layer(8, 8, 1), layer(8, 16, 2), layer(16, 32, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def mobilenet_v2():
    """torchvision's MobileNetV2 at width_mult 0.25 with fewer inverted-residual stages."""
    m = torchvision.models.MobileNetV2(
        num_classes=10, width_mult=0.25,
        inverted_residual_setting=[[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2], [6, 64, 1, 2]])
    old = m.features[0][0]
    m.features[0][0] = nn.Conv2d(1, old.out_channels, 3, 1, 1, bias=False)
    return m


def efficientnet_blocks():
    """A stem and torchvision's EfficientNet MBConv blocks (SiLU, squeeze-excitation)."""
    bn = nn.BatchNorm2d
    blocks = [MBConv(MBConvConfig(e, 3, s, i, o, 1), 0.0, bn)
              for e, s, i, o in [(1, 1, 16, 16), (4, 2, 16, 24), (4, 1, 24, 24), (4, 2, 24, 40)]]
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, 1, 1, bias=False), bn(16), nn.SiLU(inplace=True), *blocks,
        nn.Conv2d(40, 64, 1, bias=False), bn(64), nn.SiLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def densenet():
    """torchvision's DenseNet (concatenations), small: growth 8, blocks of 2 and 3 layers."""
    m = torchvision.models.DenseNet(growth_rate=8, block_config=(2, 3), num_init_features=16,
                                    bn_size=2, num_classes=10)
    m.features.conv0 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
    m.features.pool0 = nn.Identity()
    return m


class Volumetric(nn.Module):
    """BatchNorm3d on 5-D, BatchNorm1d on 3-D (after Conv1d) and on 2-D (after Linear)."""

    def __init__(self):
        super().__init__()
        self.conv3d = nn.Conv3d(1, 4, (3, 3, 3), padding=1, bias=False)
        self.bn3d = nn.BatchNorm3d(4)
        self.conv1d = nn.Conv1d(4 * 4, 8, 3, padding=1)
        self.bn1d_seq = nn.BatchNorm1d(8)
        self.fc = nn.Linear(8 * 49, 32)
        self.bn1d = nn.BatchNorm1d(32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        n = x.shape[0]
        v = x.reshape(n, 1, 4, 7, 28)  # a 4 x 7 x 28 volume
        v = torch.relu(self.bn3d(self.conv3d(v)))  # [N, 4, 4, 7, 28]
        v = nn.functional.max_pool3d(v, (1, 1, 4))  # [N, 4, 4, 7, 7]
        s = v.reshape(n, 16, 49)
        s = torch.relu(self.bn1d_seq(self.conv1d(s)))  # [N, 8, 49]
        h = torch.relu(self.bn1d(self.fc(s.reshape(n, 8 * 49))))
        return self.head(h)


class Decoder(nn.Module):
    """BatchNorm2d after ConvTranspose2d (an upsampling decoder), and BatchNorm1d on 3-D after a
    Linear on tokens, which the exporters write as MatMul (and Add)."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(1, 8, 4, stride=4, bias=False)  # [N, 8, 7, 7]
        self.bn_down = nn.BatchNorm2d(8)
        self.up = nn.ConvTranspose2d(8, 6, 2, stride=2)  # [N, 6, 14, 14]
        self.bn_up = nn.BatchNorm2d(6)
        self.embed = nn.Linear(6 * 14, 16)  # per token: 14 tokens of 6 x 14 values
        self.bn_tokens = nn.BatchNorm1d(16)
        self.head = nn.Linear(16 * 14, 10)

    def forward(self, x):
        n = x.shape[0]
        h = torch.relu(self.bn_down(self.down(x)))
        h = torch.relu(self.bn_up(self.up(h)))  # [N, 6, 14, 14]
        t = h.permute(0, 2, 1, 3).reshape(n, 14, 6 * 14)  # [N, L=14, 84]
        t = self.embed(t).transpose(1, 2)  # [N, 16, 14]: MatMul, then channels first
        t = torch.relu(self.bn_tokens(t))
        return self.head(t.reshape(n, 16 * 14))


ZOO = {
    "resnet": resnet,
    "resnet_untrained": resnet,
    "mobilenet_v2": mobilenet_v2,
    "efficientnet_blocks": efficientnet_blocks,
    "densenet": densenet,
    "volumetric": Volumetric,
    "decoder": Decoder,
}


def train(model, images, labels, steps=60, batch=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    idx = torch.tensor(list(TRAIN))
    for _ in range(steps):
        b = idx[torch.randint(len(idx), (batch,), generator=g)]
        x = torch.from_numpy(images[b.numpy()].astype(np.float32)).unsqueeze(1)
        y = torch.from_numpy(labels[b.numpy()].astype(np.int64))
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()


def oracle(model, x):
    """The bottom-up exact statistics of every BatchNorm (see the module comment)."""
    bns = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    order = []
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: order.append(name))
             for name, m in bns]
    with torch.no_grad():
        model(x[:2])
    for h in hooks:
        h.remove()
    modules = dict(bns)
    expected = {}
    for name in order:
        if name in expected:
            raise SystemExit(f"{name} runs twice")
        m = modules[name]
        seen = []
        h = m.register_forward_hook(lambda m, i, o: seen.append(i[0].detach().clone()))
        with torch.no_grad():
            model(x)
        h.remove()
        a = seen[0].double().transpose(0, 1).reshape(m.num_features, -1)
        n = a.shape[1]
        mean = a.sum(1) / n
        ss = ((a - mean[:, None]) ** 2).sum(1)
        expected[name] = {"count": n, "mean": mean.tolist(), "var_pop": (ss / n).tolist(),
                          "var_samp": (ss / (n - 1)).tolist()}
        m.running_mean.copy_(mean.to(m.running_mean.dtype))
        m.running_var.copy_((ss / n).to(m.running_var.dtype))
    return order, expected


def export(model, x, directory, extra=False):
    legacy = os.path.join(directory, "legacy.onnx")
    torch.onnx.export(model, (x,), legacy, dynamo=False,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
    dynamo = os.path.join(directory, "dynamo.onnx")
    torch.onnx.export(model, (x,), dynamo, dynamo=True, optimize=False,
                      input_names=["image"], output_names=["logits"],
                      dynamic_shapes=({0: torch.export.Dim("N", min=2)},))
    if extra:
        torch.onnx.export(model, (x,), os.path.join(directory, "legacy_opset9.onnx"),
                          dynamo=False, opset_version=9,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
        torch.onnx.export(model, (x,), os.path.join(directory, "dynamo_folded.onnx"),
                          dynamo=True, external_data=False)


def export_fp16(model, rows, directory):
    """The model as model.half(), exported by the legacy exporter, and its float16 oracle."""
    half = copy.deepcopy(model).half().eval()
    torch.onnx.export(half, (rows[:4].half(),), os.path.join(directory, "legacy_fp16.onnx"),
                      dynamo=False, training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
    order, expected = oracle(half, rows.half())
    with open(os.path.join(directory, "expected_fp16.json"), "w") as f:
        json.dump({"rows": ROWS, "images": "fashion-mnist t10k 0.." + str(ROWS - 1),
                   "torch": torch.__version__, "dtype": "float16", "order": order,
                   "layers": expected}, f)


def main():
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    torch.set_num_threads(2)
    images = read_idx(IMAGES)
    labels = read_idx(LABELS)
    rows = torch.from_numpy(images[:ROWS].astype(np.float32)).unsqueeze(1)
    only = sys.argv[1:]  # make_zoo.py [NAME ...]: only these (default: every one)
    for name, build in ZOO.items():
        if only and name not in only:
            continue
        torch.manual_seed(1)
        model = Scaled(build())
        if name != "resnet_untrained":
            train(model, images, labels)
        model.eval()
        directory = os.path.join(HERE, name)
        os.makedirs(directory, exist_ok=True)
        export(model, rows[:4], directory, extra=name == "resnet")
        if name == "resnet":
            export_fp16(model, rows, directory)
        order, expected = oracle(model, rows)
        with open(os.path.join(directory, "expected.json"), "w") as f:
            json.dump({"rows": ROWS, "images": "fashion-mnist t10k 0.." + str(ROWS - 1),
                       "torch": torch.__version__, "order": order, "layers": expected}, f)
        print(name, len(order), "BatchNorms")


if __name__ == "__main__":
    main()
