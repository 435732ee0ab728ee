#!/usr/bin/python3
"""Writes the models that compare.sh gives ONNX Runtime and streaminfer, random weights:

  yolov8n_640.onnx         YOLOv8n, 640x640, nc=80, output [B, 84, 8400] (Ultralytics' layout)
  yolov8n_640.torchscript  the same module and weights, traced: "a user's TorchScript export"
  yolov8n_640.check.bin    one input and the module's output for it, so ort_time.mjs --check
                           can prove that ONNX Runtime computes the same function
  resnet50_224.onnx        torchvision's ResNet-50 at 224x224, when torchvision is installed

The YOLOv8n modules come from tests/scripts/make_yolov8_torchscript.py (imported, so both
benchmarks and tests time one architecture), with its weight recipe and seed order: the
TorchScript file equals what `make_yolov8_torchscript.py --seed S` writes. Its BatchNorm
statistics are measured on images, so activations keep a realistic scale (purely random weights
can drive activations to denormals, which slows a CPU and would skew the timing).

The ONNX files: opset 17, batch axis dynamic, BatchNorm in eval mode. Export as-is and let each
runtime optimize: ONNX Runtime's graph optimizer fuses Conv+BatchNorm (and the exporter's own eval
pass may already have), just as streaminfer's "+ fused BatchNorm" step does for itself.

Run with /usr/bin/python3 (Debian's python3-torch; torch.onnx.export needs no `onnx` package).
  export_onnx.py --out-dir bench-out/peers [--models yolov8n,resnet50] [--seed 0] [--force]
"""
import argparse
import os
import pathlib
import re
import struct
import sys

import torch

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "scripts"))
import make_yolov8_torchscript as yolo  # noqa: E402  (the path above is needed first)

OPSET = 17


def op_type_counts(path):
    """{op_type: count} of an .onnx file, without the `onnx` package. A NodeProto's op_type is its
    field 4 (tag byte 0x22) followed by a one-byte length: scanning for that pattern followed by a
    CamelCase name of exactly that length finds the nodes (names, inputs and outputs are fields 1
    to 3, other tags)."""
    data = pathlib.Path(path).read_bytes()
    counts = {}
    for m in re.finditer(rb"\x22([\x02-\x30])([A-Z][A-Za-z0-9]+)", data):
        if m.group(1)[0] == len(m.group(2)):
            name = m.group(2).decode()
            counts[name] = counts.get(name, 0) + 1
    return counts


def export(model, example, path, output_name):
    """torch.onnx.export with a dynamic batch axis; writes to a temporary name first, so an
    interrupted export never leaves a file that compare.sh would take as done."""
    tmp = f"{path}.partial"
    with torch.no_grad():
        torch.onnx.export(model, example, tmp, opset_version=OPSET, do_constant_folding=True,
                          input_names=["images"], output_names=[output_name],
                          dynamic_axes={"images": {0: "batch"}, output_name: {0: "batch"}})
    os.replace(tmp, path)
    counts = op_type_counts(path)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    print(f"wrote {path} (opset {OPSET}, {os.path.getsize(path) / 1e6:.1f} MB): {summary}")


def write_check(path, x, y):
    """Input and output of one forward, as ort_time.mjs --check reads them: a header of two
    little-endian uint32 (element counts of input and output), then both as float32."""
    with open(path, "wb") as f:
        f.write(struct.pack("<II", x.numel(), y.numel()))
        f.write(x.contiguous().float().numpy().tobytes())
        f.write(y.contiguous().float().numpy().tobytes())
    print(f"wrote {path} (input {tuple(x.shape)}, output {tuple(y.shape)})")


def yolov8n(out_dir, seed, force):
    imgsz, nc = 640, 80
    onnx_path = out_dir / f"yolov8n_{imgsz}.onnx"
    ts_path = out_dir / f"yolov8n_{imgsz}.torchscript"
    check_path = out_dir / f"yolov8n_{imgsz}.check.bin"
    if not force and onnx_path.exists() and ts_path.exists() and check_path.exists():
        print(f"present: {onnx_path}, {ts_path}")
        return
    # The same calls in the same order as make_yolov8_torchscript.main, so the same weights.
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    example = torch.rand(1, 3, imgsz, imgsz, generator=generator)
    model = yolo.DetectionModel("n", nc)
    yolo.randomize(model, imgsz, generator)  # leaves the model in eval mode
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    torch.jit.save(traced, str(ts_path))
    print(f"wrote {ts_path}")

    export(model, example, onnx_path, "output0")  # output0: Ultralytics' ONNX output name
    x = yolo.random_rectangles(1, imgsz, generator)
    with torch.no_grad():
        y = model(x)
    write_check(check_path, x, y)


def resnet50(out_dir, seed, force):
    path = out_dir / "resnet50_224.onnx"
    if not force and path.exists():
        print(f"present: {path}")
        return
    try:
        import torchvision
    except ImportError:
        print("skipped resnet50: /usr/bin/python3 has no torchvision "
              "(sudo apt-get install python3-torchvision)")
        return
    torch.manual_seed(seed)
    model = torchvision.models.resnet50(weights=None).eval()  # random weights, as streaminfer's
    export(model, torch.rand(1, 3, 224, 224), path, "logits")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default=str(REPO / "bench-out" / "peers"))
    parser.add_argument("--models", default="yolov8n,resnet50",
                        help="comma-separated: yolov8n, resnet50")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="export even when present")
    args = parser.parse_args(argv)
    exporters = {"yolov8n": yolov8n, "resnet50": resnet50}
    names = [m for m in args.models.split(",") if m]
    unknown = [m for m in names if m not in exporters]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}: choose from {', '.join(exporters)}")
    out_dir = pathlib.Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        exporters[name](out_dir, args.seed, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
