#!/usr/bin/env python3
"""Per-operator profiles of both runtimes on the same YOLOv8n forward, and where they differ.

ONNX Runtime's side: ort_time.mjs --profile (its per-node JSON), summarized as profile_table.py
does. streaminfer's side: `streaminfer bench model --steps STEP` with oneDNN's verbose mode
(DNNL_VERBOSE=1: one line per primitive executed, with its time), for each float32 step asked
for. LibTorch and the oneDNN plans run their convolutions, reorders, concats, pools and
resamplings as oneDNN primitives; what is not a primitive (ATen's own kernels under LibTorch:
SiLU, adds, cats it does itself; the detection head's decode after a oneDNN plan: DFL softmax,
anchors, sigmoid) is the forward's p50 minus the primitives' time, "outside oneDNN".

The comparison maps both onto the same parts of the network:
  convolutions  ORT Conv + QuickGelu (its SiLU) + Add   | oneDNN convolution (+ eltwise, binary, sum)
  layout        ORT ReorderInput + ReorderOutput        | oneDNN reorder
  concat/split  ORT Concat + Split + Slice              | oneDNN concat
  upsample      ORT Upsample / Resize                   | oneDNN resampling
  pooling       ORT MaxPool                             | oneDNN pooling
  rest          every other ORT op (the head's decode)  | outside oneDNN
and sorts the parts by how many more milliseconds streaminfer spends there.

A forward of the verbose log starts with the convolution whose input has 3 channels at the
timed batch size; only the last --reps forwards count (warm-ups and the load-time checks come
first). Verbose timing adds a little per primitive, so the forward's p50 is taken from the same
run's model_speed.csv (measured with verbose on: both sides profile with their overhead on).

  profile_compare.py [--bin build/streaminfer] [--onnx bench-out/peers/yolov8n_640.onnx]
      [--steps fused_bn,channels_last,onednn_nhwc,onednn_blocked] [--batches 1,4] [--threads 2]
      [--reps 10] [--warmup 3] [--imgsz 640] [--work bench-out/peers/profile] [--out FILE.md]
Standard library only; needs node (ort_time.mjs) and vendor.sh's onnxruntime-node.
"""
import argparse
import collections
import csv
import json
import os
import pathlib
import platform
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import profile_table  # noqa: E402  (the path above first)

PARTS = ["convolutions", "layout reorders", "concat/split", "upsample", "pooling",
         "rest (head decode, other ops)"]
ORT_PART = {"Conv": 0, "QuickGelu": 0, "Add": 0, "FusedConv": 0,
            "ReorderInput": 1, "ReorderOutput": 1,
            "Concat": 2, "Split": 2, "Slice": 2,
            "Upsample": 3, "Resize": 3,
            "MaxPool": 4}
ONEDNN_PART = {"convolution": 0, "eltwise": 0, "binary": 0, "sum": 0,
               "reorder": 1, "concat": 2, "resampling": 3, "pooling": 4, "pooling_v2": 4}
# "mb1_ic3oc16_ih640..." (or "mb1_g1ic3oc16_..."): the first convolution of a forward.
FIRST_CONV = re.compile(r"^mb(\d+)_(?:g1)?ic3oc")


def cpu_pinning(threads):
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    return ["taskset", "-c", ",".join(map(str, cpus))] if len(cpus) == threads else []


def parse_verbose(text, batch, reps):
    """The last `reps` forwards of a oneDNN verbose log: per primitive kind (convolutions split
    by implementation and fused post-ops), execs and ms per forward."""
    forwards = []
    for line in text.splitlines():
        if not (line.startswith("onednn_verbose,exec,") or line.startswith("dnnl_verbose,exec,")):
            continue
        fields = line.split(",")
        kind, impl, shape, ms = fields[3], fields[4], fields[-2], float(fields[-1])
        m = FIRST_CONV.match(shape)
        if kind == "convolution" and m and int(m.group(1)) == batch:
            forwards.append([])
        if not forwards:
            continue  # before the first forward at this batch (load-time checks)
        label = kind
        if kind == "convolution":
            post = ("+" + "+".join(re.findall(r"(eltwise_\w+|binary_\w+|sum)", line))
                    if "post-ops" in line or "post_ops" in line else "")
            label = f"convolution {impl}{(' ' + post) if post else ''}"
        forwards[-1].append((kind, label, ms))
    if len(forwards) < reps:
        raise SystemExit(f"profile_compare: {len(forwards)} forward(s) at batch {batch} in the "
                         f"verbose log, fewer than --reps {reps}")
    kept = forwards[-reps:]
    by_label = collections.defaultdict(lambda: [0, 0.0, ""])
    for forward in kept:
        for kind, label, ms in forward:
            entry = by_label[label]
            entry[0] += 1
            entry[1] += ms
            entry[2] = kind
    return {label: (n / reps, ms / reps, kind) for label, (n, ms, kind) in by_label.items()}


def run_ours(args, step, batch, pin):
    out_dir = pathlib.Path(args.work) / f"ours_{step}_b{batch}"
    env = dict(os.environ, DNNL_VERBOSE="1")
    cmd = pin + [args.bin, "bench", "model", "--model", args.model, "--imgsz", str(args.imgsz),
                 "--batch", str(batch), "--threads", str(args.threads), "--reps", str(args.reps),
                 "--warmup", str(args.warmup), "--steps", step, "--accuracy-scenes", "0",
                 "--output-dir", str(out_dir)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"profile_compare: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    rows = list(csv.DictReader(open(out_dir / "model_speed.csv")))
    if len(rows) != 1 or rows[0]["available"] != "1":
        raise SystemExit(f"profile_compare: step {step} did not run: {rows}")
    return float(rows[0]["p50_ms"]), parse_verbose(r.stdout + r.stderr, batch, args.reps)


def run_ort(args, batch, pin):
    cmd = pin + ["node", str(HERE / "ort_time.mjs"), args.onnx, "--batch", str(batch),
                 "--threads", str(args.threads), "--warmup", str(args.warmup), "--reps",
                 str(args.reps), "--profile", args.work]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"profile_compare: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    profile = json.loads(r.stdout.strip().splitlines()[-1])["profile"]
    with open(profile) as f:
        _, wall_ms, ops = profile_table.summarize(json.load(f), args.reps)
    return profile, wall_ms, ops


def ours_table(step, batch, p50, prims):
    lines = [f"streaminfer `{step}`, batch {batch}: forward p50 {p50:.2f} ms (verbose on)", "",
             "| oneDNN primitive | execs/forward | ms/forward | share of forward |",
             "|---|---:|---:|---:|"]
    total = 0.0
    for label, (n, ms, _) in sorted(prims.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"| {label} | {n:g} | {ms:.3f} | {100 * ms / p50:.1f}% |")
        total += ms
    lines.append(f"| outside oneDNN | | {max(0.0, p50 - total):.3f} | "
                 f"{100 * max(0.0, p50 - total) / p50:.1f}% |")
    lines.append(f"| forward | | {p50:.3f} | 100.0% |")
    return "\n".join(lines)


def parts_of_ours(p50, prims):
    parts = [0.0] * len(PARTS)
    for _, (_, ms, kind) in prims.items():
        parts[ONEDNN_PART.get(kind, len(PARTS) - 1)] += ms
    parts[-1] += max(0.0, p50 - sum(ms for _, ms, _ in prims.values()))
    return parts


def parts_of_ort(wall_ms, ops):
    parts = [0.0] * len(PARTS)
    for op, (_, ms) in ops.items():
        parts[ORT_PART.get(op, len(PARTS) - 1)] += ms
    parts[-1] += max(0.0, wall_ms - sum(ms for _, ms in ops.values()))  # between operators
    return parts


def comparison_table(step, batch, ours, ort):
    rows = sorted(zip(PARTS, ours, ort), key=lambda r: -(r[1] - r[2]))
    lines = [f"`{step}` against ONNX Runtime, batch {batch} (ms per forward; + means streaminfer "
             "spends more)", "",
             "| part of the network | streaminfer ms | ONNX Runtime ms | difference ms |",
             "|---|---:|---:|---:|"]
    for part, a, b in rows:
        lines.append(f"| {part} | {a:.2f} | {b:.2f} | {a - b:+.2f} |")
    lines.append(f"| forward | {sum(ours):.2f} | {sum(ort):.2f} | {sum(ours) - sum(ort):+.2f} |")
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default="build/streaminfer")
    parser.add_argument("--model", default="yolov8n")
    parser.add_argument("--onnx", default="bench-out/peers/yolov8n_640.onnx")
    parser.add_argument("--steps", default="fused_bn,channels_last,onednn_nhwc,onednn_blocked")
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--work", default="bench-out/peers/profile")
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    for path in (args.bin, args.onnx):
        if not os.path.exists(path):
            raise SystemExit(f"profile_compare: {path} not found (build streaminfer; compare.sh "
                             "exports the ONNX file)")
    os.makedirs(args.work, exist_ok=True)
    pin = cpu_pinning(args.threads)
    report = [f"# Per-operator profiles: ONNX Runtime against streaminfer, {args.model} "
              f"{args.imgsz}", "",
              f"cpu: {cpu_name()}; {args.threads} threads each, pinned to "
              f"{' '.join(pin) or 'no CPUs (taskset missing)'}; {args.warmup} warm-up + "
              f"{args.reps} profiled forwards per measurement",
              "command: " + " ".join([sys.argv[0]] + argv), ""]
    for batch in map(int, args.batches.split(",")):
        profile, wall_ms, ops = run_ort(args, batch, pin)
        report.append(f"## Batch {batch}")
        report.append("")
        report.append(f"ONNX Runtime profile {profile}: per forward {wall_ms:.2f} ms (model_run), "
                      f"of which operators {sum(ms for _, ms in ops.values()):.2f} ms")
        report.append("")
        ort_parts = parts_of_ort(wall_ms, ops)
        for step in args.steps.split(","):
            p50, prims = run_ours(args, step, batch, pin)
            report += [ours_table(step, batch, p50, prims), "",
                       comparison_table(step, batch, parts_of_ours(p50, prims), ort_parts), ""]
    text = "\n".join(report)
    print(text)
    if args.out:
        pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.out).write_text(text + "\n")
    return 0


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
