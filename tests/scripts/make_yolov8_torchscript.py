#!/usr/bin/env python3
"""Writes a YOLOv8 (n or s scale) TorchScript file with random weights, without Ultralytics.

The modules are laid out as Ultralytics lays them out (a top-level `model` Sequential of the 23
layers of yolov8.yaml, Upsample and Concat included), so the parameter and buffer names are
Ultralytics' own: model.0.conv.weight, model.0.bn.running_mean, model.2.m.0.cv1.conv.weight,
model.22.cv2.0.2.weight, model.22.dfl.conv.weight, ...

At inference the traced module returns [B, 4 + nc, A]: boxes as (cx, cy, w, h) in input pixels,
then the class scores after a sigmoid, as an Ultralytics TorchScript export does.

The weights are random but chosen so that the model produces detections above a 0.25 threshold:
the BatchNorm running statistics are measured on random images of rectangles (then perturbed), so
activations keep a healthy scale through the 23 layers; the box branch's final biases favour the
low DFL bins (boxes one to a few strides wide); and each class's final bias puts the 0.25 threshold
at a high quantile (a different one per class) of that class's logits on calibration images, so
scores are spread, input-dependent, and only a few anchors per image pass.

Usage:
  make_yolov8_torchscript.py --scale n --nc 80 --imgsz 640 --seed 0 --out model.torchscript
  make_yolov8_torchscript.py --wrong-shape --out bad.torchscript   # output [B, 10]
"""
import argparse
import math
import sys

import torch
import torch.nn as nn

# yolov8n with nc=80, as Ultralytics reports it ("225 layers, 3157200 parameters").
YOLOV8N_COCO_PARAMETERS = 3157200

# depth multiple, width multiple, max channels (yolov8.yaml `scales`).
SCALES = {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024)}


def autopad(k):
    return k // 2


class Conv(nn.Module):
    """Conv2d (no bias) + BatchNorm2d + SiLU."""

    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k), bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 3, 1)
        self.cv2 = Conv(c_, c2, 3, 1)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """CSP bottleneck with 2 convolutions (YOLOv8)."""

    def __init__(self, c1, c2, n=1, shortcut=False, e=0.5):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut, e=1.0) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Concat(nn.Module):
    def __init__(self, dimension=1):
        super().__init__()
        self.d = dimension

    def forward(self, xs):
        return torch.cat(xs, self.d)


class DFL(nn.Module):
    """Distribution focal loss integral: expected value of a softmax over reg_max bins."""

    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(feats, strides, grid_cell_offset=0.5):
    anchor_points, stride_tensor = [], []
    dtype, device = feats[0].dtype, feats[0].device
    for i, stride in enumerate(strides):
        _, _, h, w = feats[i].shape
        sx = torch.arange(end=w, device=device, dtype=dtype) + grid_cell_offset
        sy = torch.arange(end=h, device=device, dtype=dtype) + grid_cell_offset
        sy, sx = torch.meshgrid(sy, sx, indexing="ij")
        anchor_points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_tensor.append(torch.full((h * w, 1), float(stride), dtype=dtype, device=device))
    return torch.cat(anchor_points), torch.cat(stride_tensor)


def dist2bbox(distance, anchor_points, dim=1):
    """(left, top, right, bottom) distances -> (cx, cy, w, h)."""
    lt, rb = distance.chunk(2, dim)
    x1y1 = anchor_points - lt
    x2y2 = anchor_points + rb
    return torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), dim)


class Detect(nn.Module):
    def __init__(self, nc, ch):
        super().__init__()
        self.nc = nc
        self.nl = len(ch)
        self.reg_max = 16
        self.no = nc + self.reg_max * 4
        self.stride = [8.0, 16.0, 32.0]
        c2 = max(16, ch[0] // 4, self.reg_max * 4)
        c3 = max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * self.reg_max, 1))
            for x in ch)
        self.cv3 = nn.ModuleList(
            nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL(self.reg_max)

    def forward(self, xs):
        xs = [torch.cat((self.cv2[i](xs[i]), self.cv3[i](xs[i])), 1) for i in range(self.nl)]
        b = xs[0].shape[0]
        x_cat = torch.cat([xi.view(b, self.no, -1) for xi in xs], 2)
        anchors, strides = make_anchors(xs, self.stride, 0.5)
        anchors, strides = anchors.transpose(0, 1), strides.transpose(0, 1)
        box, cls = x_cat.split((self.reg_max * 4, self.nc), 1)
        dbox = dist2bbox(self.dfl(box), anchors.unsqueeze(0), dim=1) * strides
        return torch.cat((dbox, cls.sigmoid()), 1)


def make_divisible(x, divisor=8):
    return int(math.ceil(x / divisor) * divisor)


class DetectionModel(nn.Module):
    """yolov8.yaml: `model` holds the 23 layers; `f` says where each layer takes its input."""

    def __init__(self, scale="n", nc=80):
        super().__init__()
        depth, width, max_channels = SCALES[scale]

        def ch(c):
            return make_divisible(min(c, max_channels) * width, 8)

        def rep(n):
            return max(round(n * depth), 1)

        c = [ch(64), ch(128), ch(256), ch(512), ch(1024)]  # n: 16 32 64 128 256
        layers = [
            Conv(3, c[0], 3, 2),  # 0  P1/2
            Conv(c[0], c[1], 3, 2),  # 1  P2/4
            C2f(c[1], c[1], rep(3), True),  # 2
            Conv(c[1], c[2], 3, 2),  # 3  P3/8
            C2f(c[2], c[2], rep(6), True),  # 4
            Conv(c[2], c[3], 3, 2),  # 5  P4/16
            C2f(c[3], c[3], rep(6), True),  # 6
            Conv(c[3], c[4], 3, 2),  # 7  P5/32
            C2f(c[4], c[4], rep(3), True),  # 8
            SPPF(c[4], c[4], 5),  # 9
            nn.Upsample(scale_factor=2.0, mode="nearest"),  # 10
            Concat(1),  # 11: 10, 6
            C2f(c[4] + c[3], c[3], rep(3)),  # 12
            nn.Upsample(scale_factor=2.0, mode="nearest"),  # 13
            Concat(1),  # 14: 13, 4
            C2f(c[3] + c[2], c[2], rep(3)),  # 15 (P3/8 out)
            Conv(c[2], c[2], 3, 2),  # 16
            Concat(1),  # 17: 16, 12
            C2f(c[2] + c[3], c[3], rep(3)),  # 18 (P4/16 out)
            Conv(c[3], c[3], 3, 2),  # 19
            Concat(1),  # 20: 19, 9
            C2f(c[3] + c[4], c[4], rep(3)),  # 21 (P5/32 out)
            Detect(nc, [c[2], c[3], c[4]]),  # 22
        ]
        self.froms = [-1] * 23
        self.froms[11], self.froms[14], self.froms[17], self.froms[20] = [-1, 6], [-1, 4], \
            [-1, 12], [-1, 9]
        self.froms[22] = [15, 18, 21]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        outputs = []
        for i, m in enumerate(self.model):
            f = self.froms[i]
            if isinstance(f, list):
                x = m([x if j == -1 else outputs[j] for j in f])
            else:
                x = m(x)
            outputs.append(x)
        return x


class WrongShape(nn.Module):
    """A model that loads fine but whose output is [B, 10], not a detection head's."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3, 10)

    def forward(self, x):
        return self.fc(self.pool(x).flatten(1))


def random_rectangles(batch, imgsz, generator):
    """Images like a synthetic camera's: a flat background with a few coloured rectangles, some
    of them letterboxed (grey 114 bands above and below, as a 16:9 frame gets)."""
    x = torch.empty(batch, 3, imgsz, imgsz)
    for b in range(batch):
        x[b] = torch.rand(3, 1, 1, generator=generator)
        for _ in range(6):
            w, h = (torch.randint(imgsz // 16, imgsz // 3, (2,), generator=generator)).tolist()
            x0 = int(torch.randint(0, imgsz - w, (1,), generator=generator))
            y0 = int(torch.randint(0, imgsz - h, (1,), generator=generator))
            x[b, :, y0:y0 + h, x0:x0 + w] = torch.rand(3, 1, 1, generator=generator)
        if float(torch.rand(1, generator=generator)) < 0.5:
            band = imgsz // 8
            x[b, :, :band] = 114 / 255
            x[b, :, imgsz - band:] = 114 / 255
    return x


def calibration_images(imgsz, generator):
    """Rectangles, plus flat images (grey 114 and mid-range colours)."""
    colours = torch.empty(3, 3, 1, 1).uniform_(0.2, 0.8, generator=generator)
    flat = torch.cat([torch.full((1, 3, imgsz, imgsz), 114 / 255),
                      colours.expand(3, 3, imgsz, imgsz)])
    return torch.cat([random_rectangles(16, imgsz, generator), flat])


def run_backbone(model, x):
    """Outputs of layers 15, 18 and 21 (the P3, P4 and P5 inputs of Detect)."""
    outputs = []
    for i, m in enumerate(model.model[:22]):
        f = model.froms[i]
        x = m([x if j == -1 else outputs[j] for j in f]) if isinstance(f, list) else m(x)
        outputs.append(x)
    return [outputs[15], outputs[18], outputs[21]]


def randomize(model, imgsz, generator):
    """Random weights that still give a usable, input-dependent signal at the head."""
    head = model.model[22]
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m is not head.dfl.conv:
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            with torch.no_grad():
                m.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
    # BatchNorm statistics measured on rectangle images (cumulative average), then the running
    # statistics and the affine parameters perturbed a little.
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(random_rectangles(4, imgsz, generator))
    model.eval()
    with torch.no_grad():
        for bn in bns:
            bn.momentum = 0.03
            n = bn.num_features
            bn.running_mean.add_(0.05 * torch.randn(n, generator=generator) *
                                 bn.running_var.sqrt())
            bn.running_var.mul_(torch.empty(n).uniform_(0.8, 1.25, generator=generator))
            bn.weight.copy_(torch.empty(n).uniform_(0.7, 1.3, generator=generator))
            bn.bias.copy_(0.1 * torch.randn(n, generator=generator))

        # Box branch: each side's 16-bin distribution leans to the low bins, so boxes are one to
        # a few strides wide instead of the 15 strides of a flat distribution.
        bins = torch.arange(head.reg_max, dtype=torch.float)
        for seq in head.cv2:
            seq[2].weight.mul_(0.3)
            slopes = torch.empty(4).uniform_(0.3, 0.9, generator=generator)
            bias = -(slopes.view(4, 1) * bins.view(1, -1)).flatten()
            seq[2].bias.copy_(bias + 0.2 * torch.randn(bias.shape, generator=generator))

        # Class branch: per class, the bias puts the 0.25 threshold (logit log(1/3)) at a high
        # quantile of that class's logits over the calibration images (a different quantile for
        # each class): a class fires at a few anchors where the image has structure, and the
        # scores are spread.
        for seq in head.cv3:
            seq[2].bias.zero_()
        feats = run_backbone(model, calibration_images(imgsz, generator))
        logits = torch.cat([seq(f).flatten(2) for seq, f in zip(head.cv3, feats)], 2)
        per_class = logits.transpose(0, 1).reshape(head.nc, -1)
        q = torch.empty(head.nc).uniform_(0.99, 0.9995, generator=generator)
        cut = torch.stack([torch.quantile(per_class[k], float(q[k])) for k in range(head.nc)])
        for seq in head.cv3:
            seq[2].bias.copy_(-1.0986 - cut)
    return model


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="n")
    parser.add_argument("--nc", type=int, default=80)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--wrong-shape", action="store_true",
                        help="save a small model whose output is [B, 10]")
    args = parser.parse_args(argv)
    if args.imgsz <= 0 or args.imgsz % 32 != 0:
        parser.error(f"--imgsz must be a positive multiple of 32, not {args.imgsz}")
    if args.nc <= 0:
        parser.error(f"--nc must be positive, not {args.nc}")

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    example = torch.rand(1, 3, args.imgsz, args.imgsz, generator=generator)

    if args.wrong_shape:
        model = WrongShape().eval()
        with torch.no_grad():
            traced = torch.jit.trace(model, example)
        print(f"wrong-shape model: output {tuple(traced(example).shape)}")
        torch.jit.save(traced, args.out)
        print(f"wrote {args.out}")
        return 0

    model = DetectionModel(args.scale, args.nc)
    n_params = count_parameters(model)
    print(f"yolov8{args.scale}: {len(model.model)} layers, {n_params} parameters (nc={args.nc})")
    if args.scale == "n" and args.nc == 80:
        assert n_params == YOLOV8N_COCO_PARAMETERS, \
            f"yolov8n has {n_params} parameters, expected {YOLOV8N_COCO_PARAMETERS}"

    randomize(model, args.imgsz, generator)
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
        y = traced(random_rectangles(1, args.imgsz, generator))
    anchors = sum((args.imgsz // s) ** 2 for s in (8, 16, 32))
    assert tuple(y.shape) == (1, 4 + args.nc, anchors), tuple(y.shape)
    scores = y[0, 4:]
    best = scores.amax(0)
    print(f"output {tuple(y.shape)}; anchors with a score > 0.25: {int((best > 0.25).sum())}, "
          f"(anchor, class) pairs > 0.25: {int((scores > 0.25).sum())}, "
          f"max score {float(best.max()):.3f}")
    torch.jit.save(traced, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
