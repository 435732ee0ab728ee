#pragma once
// The YOLOv8 detection loss (Ultralytics' v8DetectionLoss), for `streaminfer train` and the
// retrain mode: a task-aligned assigner picks, for every ground-truth box, the anchors whose
// predicted class score and box overlap it best; those anchors learn the box (CIoU + distribution
// focal loss on the 16 distance bins) and every anchor learns its class scores (binary
// cross-entropy against the alignment-weighted targets).
#include <ATen/core/Tensor.h>

#include "infer/yolov8_blocks.h"

namespace streaminfer {

struct DetectionLossOptions {
  // Ultralytics' default gains.
  double box_gain = 7.5;
  double class_gain = 0.5;
  double dfl_gain = 1.5;
  // Task-aligned assigner: candidates per ground-truth box, and the weights of class score and
  // IoU in the alignment metric score^alpha * iou^beta.
  int top_k = 10;
  double alpha = 0.5;
  double beta = 6.0;
};

struct DetectionLoss {
  at::Tensor total;  // scalar to back-propagate: (box + class + dfl, each with its gain) * batch
  // Detached parts, each already multiplied by its gain (per image).
  double box = 0, cls = 0, dfl = 0;
  int64_t assigned_anchors = 0;
};

// targets: [B, M, 5] float rows (class, x1, y1, x2, y2) in input pixels; rows with class < 0 are
// padding. raw: the head's outputs for the same batch.
DetectionLoss detection_loss(const yolo::DetectRaw& raw, const at::Tensor& targets, int num_classes,
                             const DetectionLossOptions& options = {});

// Complete IoU of box pairs (xyxy, [..., 4] each), as in the CIoU paper: IoU minus the centre
// distance over the enclosing box's diagonal, minus the aspect-ratio term.
at::Tensor complete_iou(const at::Tensor& a, const at::Tensor& b);

}  // namespace streaminfer
