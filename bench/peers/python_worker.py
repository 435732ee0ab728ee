#!/usr/bin/env python3
"""The straightforward Python worker that streaminfer is compared with (issue 6's reference point).

One video file, frame by frame, as such workers are usually written: OpenCV capture, letterbox
with cv2, a TorchScript detector, box decode with tensor ops and torchvision's NMS. It is a fair
peer, not a strawman: the postprocess is vectorized and inference runs under inference_mode with
every core. Needs python3-torch, python3-opencv and python3-torchvision (Debian packages); it is a
benchmark peer only, never part of the product.

Prints one line: "python worker: <frames> frames in <seconds> s = <fps> FPS (<detections> detections)".
"""
import argparse
import os
import sys
import time

import cv2
import numpy as np
import torch
import torchvision


def letterbox(frame, size):
    """Resize keeping the aspect ratio, pad to size x size with grey 114, as the engine does."""
    h, w = frame.shape[:2]
    scale = min(size / w, size / h)
    new_w, new_h = round(w * scale), round(h * scale)
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    left, top = (size - new_w) // 2, (size - new_h) // 2
    padded = cv2.copyMakeBorder(resized, top, size - new_h - top, left, size - new_w - left,
                                cv2.BORDER_CONSTANT, value=(114, 114, 114))
    rgb = cv2.cvtColor(padded, cv2.COLOR_BGR2RGB)
    tensor = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div_(255.0)
    return tensor.unsqueeze(0), scale, left, top


def postprocess(output, conf, iou, max_det):
    """[1, 4 + nc, A] (cx, cy, w, h, class scores) -> [n, 6] (x1, y1, x2, y2, score, class)."""
    pred = output[0].transpose(0, 1)  # [A, 4 + nc]
    scores, classes = pred[:, 4:].max(dim=1)
    keep = scores > conf
    pred, scores, classes = pred[keep], scores[keep], classes[keep]
    cx, cy, w, h = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1)
    kept = torchvision.ops.batched_nms(boxes, scores, classes, iou)[:max_det]
    return torch.cat([boxes[kept], scores[kept, None], classes[kept, None].float()], dim=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", required=True, help="video file")
    parser.add_argument("--model", required=True, help="TorchScript detector, [B, 4 + nc, A]")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--freeze", action="store_true",
                        help="torch.jit.freeze first (folds Conv-BN, as the engine does for "
                        "TorchScript files); optimize_for_inference was slower here at batch 1")
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--iou", type=float, default=0.45)
    parser.add_argument("--max-det", type=int, default=300)
    args = parser.parse_args()

    torch.set_num_threads(args.threads or os.cpu_count())
    if not os.path.isfile(args.source):
        sys.exit(f"python worker: {args.source}: no such file")
    model = torch.jit.load(args.model, map_location="cpu").eval()
    if args.freeze:
        model = torch.jit.freeze(model)
    with torch.inference_mode():
        for _ in range(args.warmup):
            model(torch.zeros(1, 3, args.imgsz, args.imgsz))

        capture = cv2.VideoCapture(args.source)
        if not capture.isOpened():
            sys.exit(f"python worker: OpenCV cannot open {args.source}")
        frames = detections = 0
        start = time.perf_counter()
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            tensor, scale, left, top = letterbox(frame, args.imgsz)
            boxes = postprocess(model(tensor), args.conf, args.iou, args.max_det)
            # Back to frame pixels, as a worker that publishes boxes must.
            boxes[:, [0, 2]] = (boxes[:, [0, 2]] - left) / scale
            boxes[:, [1, 3]] = (boxes[:, [1, 3]] - top) / scale
            detections += boxes.shape[0]
            frames += 1
        seconds = time.perf_counter() - start
    if frames == 0:
        sys.exit(f"python worker: no frame decoded from {args.source}")
    print(f"python worker: {frames} frames in {seconds:.2f} s = {frames / seconds:.2f} FPS "
          f"({detections} detections, torch {torch.__version__}, {torch.get_num_threads()} threads"
          f"{', frozen' if args.freeze else ''})")


if __name__ == "__main__":
    main()
