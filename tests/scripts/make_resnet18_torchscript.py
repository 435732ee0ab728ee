#!/usr/bin/env python3
"""Writes a ResNet-18 with random weights as a TorchScript file, plus its output on a fixed input.

torchvision is not needed: the model is defined here with torchvision's module tree, so its
parameter and buffer names are torchvision's (conv1.weight, bn1.running_mean,
layer1.0.conv1.weight, layer2.0.downsample.0.weight, fc.bias, ...). BatchNorm statistics are
random too, so a loader that dropped the buffers would change the output.

The input is a formula both sides compute, not a file: x[b, c, h, w] = sin(0.01 * i + b) with i
the element's flat index within its frame, then scaled into roughly [-2, 2] (an ImageNet-normalized
image's range). The expected output goes to --expected as text: the shape, then one value a line.

Usage:
  make_resnet18_torchscript.py --nc 10 --size 64 --batch 2 --seed 0 \
      --out model.torchscript --expected expected.txt [--state-dict weights.pt]
"""
import argparse
import math
import sys

import torch
import torch.nn as nn

# torchvision.models.resnet18() with 1000 classes.
RESNET18_IMAGENET_PARAMETERS = 11689512


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        for i, planes in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            layer = nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes))
            setattr(self, f"layer{i + 1}", layer)
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def fixed_input(batch, size):
    per_frame = 3 * size * size
    i = torch.arange(per_frame, dtype=torch.float64)
    frames = [torch.sin(0.01 * i + b) * 2.0 for b in range(batch)]
    return torch.stack(frames).view(batch, 3, size, size).to(torch.float32)


def randomize_batch_norms(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.0)
                m.bias.uniform_(-0.2, 0.2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nc", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--state-dict", help="also torch.save the state dict (a plain dict) here")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    count = sum(p.numel() for p in ResNet18(1000).parameters())
    if count != RESNET18_IMAGENET_PARAMETERS:
        print(f"resnet18 has {count} parameters, torchvision's has "
              f"{RESNET18_IMAGENET_PARAMETERS}", file=sys.stderr)
        return 1
    model = ResNet18(args.nc)
    randomize_batch_norms(model)
    model.eval()
    scripted = torch.jit.script(model)
    torch.jit.save(scripted, args.out)
    if args.state_dict:
        torch.save(dict(model.state_dict()), args.state_dict)
    with torch.no_grad():
        out = scripted(fixed_input(args.batch, args.size))
    with open(args.expected, "w") as f:
        f.write(" ".join(str(d) for d in out.shape) + "\n")
        for v in out.flatten().tolist():
            f.write(repr(v) + "\n")
    print(f"resnet18: {count} parameters with 1000 classes; wrote {args.out}, output "
          f"{list(out.shape)}, max |logit| {out.abs().max().item():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
