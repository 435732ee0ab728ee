#include "train/detection_loss.h"

#include <torch/nn/functional.h>
#include <torch/types.h>

#include <cmath>

namespace streaminfer {

namespace {

constexpr double kEps = 1e-9;
constexpr int kRegMax = yolo::DetectImpl::kRegMax;

using torch::indexing::Slice;

// Plain IoU of every box pair along the last dimension (broadcast).
torch::Tensor plain_iou(const torch::Tensor& a, const torch::Tensor& b) {
  auto ix1 = torch::maximum(a.select(-1, 0), b.select(-1, 0));
  auto iy1 = torch::maximum(a.select(-1, 1), b.select(-1, 1));
  auto ix2 = torch::minimum(a.select(-1, 2), b.select(-1, 2));
  auto iy2 = torch::minimum(a.select(-1, 3), b.select(-1, 3));
  auto inter = (ix2 - ix1).clamp_min(0) * (iy2 - iy1).clamp_min(0);
  auto area_a = (a.select(-1, 2) - a.select(-1, 0)) * (a.select(-1, 3) - a.select(-1, 1));
  auto area_b = (b.select(-1, 2) - b.select(-1, 0)) * (b.select(-1, 3) - b.select(-1, 1));
  return inter / (area_a + area_b - inter + kEps);
}

struct Assignment {
  torch::Tensor target_boxes;   // [B, A, 4] input pixels
  torch::Tensor target_scores;  // [B, A, nc]
  torch::Tensor foreground;     // [B, A] bool
};

// Ultralytics' TaskAlignedAssigner. scores: [B, A, nc] probabilities; boxes: [B, A, 4] pixels;
// points: [A, 2] anchor centres in pixels; gt_labels [B, M]; gt_boxes [B, M, 4]; gt_mask [B, M].
Assignment assign(const torch::Tensor& scores, const torch::Tensor& boxes,
                  const torch::Tensor& points, const torch::Tensor& gt_labels,
                  const torch::Tensor& gt_boxes, const torch::Tensor& gt_mask, int num_classes,
                  const DetectionLossOptions& options) {
  const int64_t batch = scores.size(0), anchors = scores.size(1), max_boxes = gt_boxes.size(1);
  // Anchor centres strictly inside each ground-truth box: [B, M, A].
  auto px = points.select(1, 0).view({1, 1, anchors});
  auto py = points.select(1, 1).view({1, 1, anchors});
  auto gx1 = gt_boxes.select(2, 0).unsqueeze(-1), gy1 = gt_boxes.select(2, 1).unsqueeze(-1);
  auto gx2 = gt_boxes.select(2, 2).unsqueeze(-1), gy2 = gt_boxes.select(2, 3).unsqueeze(-1);
  auto inside =
      torch::minimum(torch::minimum(px - gx1, py - gy1), torch::minimum(gx2 - px, gy2 - py))
          .gt(kEps);
  auto candidate = inside.logical_and(gt_mask.unsqueeze(-1));  // [B, M, A]

  // Alignment metric score^alpha * IoU^beta over the candidates.
  auto labels = gt_labels.clamp_min(0).to(torch::kLong);  // [B, M]
  auto class_scores = scores.gather(2, labels.unsqueeze(1).expand({batch, anchors, max_boxes}))
                          .transpose(1, 2);                                           // [B, M, A]
  auto overlaps = plain_iou(gt_boxes.unsqueeze(2), boxes.unsqueeze(1)).clamp_min(0);  // [B, M, A]
  overlaps = overlaps * candidate;
  auto metric = class_scores.pow(options.alpha) * overlaps.pow(options.beta) * candidate;

  // Top-k anchors by metric for each ground-truth box.
  const int64_t k = std::min<int64_t>(options.top_k, anchors);
  auto top = std::get<1>(metric.topk(k, -1));  // [B, M, k]
  auto chosen = torch::zeros_like(metric).scatter_(-1, top, 1.0).to(torch::kBool);
  auto positive = chosen.logical_and(candidate);  // [B, M, A]

  // An anchor claimed by several boxes goes to the one it overlaps most.
  auto claims = positive.sum(1);  // [B, A]
  if (claims.max().item<int64_t>() > 1) {
    auto best = overlaps.argmax(1);  // [B, A]
    auto best_one_hot =
        torch::nn::functional::one_hot(best, max_boxes).permute({0, 2, 1}).to(torch::kBool);
    auto contested = claims.gt(1).unsqueeze(1).expand({batch, max_boxes, anchors});
    positive = torch::where(contested, best_one_hot, positive);
  }
  auto foreground = positive.any(1);                  // [B, A]
  auto owner = positive.to(torch::kFloat).argmax(1);  // [B, A]

  auto target_labels = labels.gather(1, owner);  // [B, A]
  auto target_boxes =
      gt_boxes.gather(1, owner.unsqueeze(-1).expand({batch, anchors, 4}));  // [B,A,4]
  auto target_scores = torch::nn::functional::one_hot(target_labels, num_classes).to(torch::kFloat);
  target_scores = target_scores * foreground.unsqueeze(-1);

  // Soft targets: each box's metrics scaled so that its best anchor's target equals its best IoU.
  auto positive_metric = metric * positive;
  auto max_metric = positive_metric.amax(-1, true);                                 // [B, M, 1]
  auto max_overlap = (overlaps * positive).amax(-1, true);                          // [B, M, 1]
  auto normalized = (positive_metric * max_overlap / (max_metric + kEps)).amax(1);  // [B, A]
  target_scores = target_scores * normalized.unsqueeze(-1);
  return {target_boxes, target_scores, foreground};
}

}  // namespace

torch::Tensor complete_iou(const torch::Tensor& a, const torch::Tensor& b) {
  constexpr double eps = 1e-7;
  auto ax1 = a.select(-1, 0), ay1 = a.select(-1, 1), ax2 = a.select(-1, 2), ay2 = a.select(-1, 3);
  auto bx1 = b.select(-1, 0), by1 = b.select(-1, 1), bx2 = b.select(-1, 2), by2 = b.select(-1, 3);
  auto w1 = ax2 - ax1, h1 = ay2 - ay1 + eps;
  auto w2 = bx2 - bx1, h2 = by2 - by1 + eps;
  auto inter = (torch::minimum(ax2, bx2) - torch::maximum(ax1, bx1)).clamp_min(0) *
               (torch::minimum(ay2, by2) - torch::maximum(ay1, by1)).clamp_min(0);
  auto iou = inter / (w1 * h1 + w2 * h2 - inter + eps);
  auto cw = torch::maximum(ax2, bx2) - torch::minimum(ax1, bx1);
  auto ch = torch::maximum(ay2, by2) - torch::minimum(ay1, by1);
  auto diagonal2 = cw.pow(2) + ch.pow(2) + eps;
  auto centre2 = ((bx1 + bx2 - ax1 - ax2).pow(2) + (by1 + by2 - ay1 - ay2).pow(2)) / 4;
  auto v = (4 / (M_PI * M_PI)) * (torch::atan(w2 / h2) - torch::atan(w1 / h1)).pow(2);
  torch::Tensor alpha;
  {
    torch::NoGradGuard no_grad;
    alpha = v / (v - iou + (1 + eps));
  }
  return iou - (centre2 / diagonal2 + v * alpha);
}

DetectionLoss detection_loss(const yolo::DetectRaw& raw, const torch::Tensor& targets,
                             int num_classes, const DetectionLossOptions& options) {
  const int64_t batch = raw.outputs.size(0);
  auto pred = raw.outputs.permute({0, 2, 1});  // [B, A, 64 + nc]
  auto pred_bins = pred.index({Slice(), Slice(), Slice(0, 4 * kRegMax)});
  auto pred_logits = pred.index({Slice(), Slice(), Slice(4 * kRegMax, torch::indexing::None)});
  const int64_t anchors = pred.size(1);
  auto points = raw.anchors.t();   // [A, 2] cells
  auto strides = raw.strides.t();  // [A, 1]

  // Expected distance per side from the bin distribution, in cells; boxes xyxy in cells.
  auto bins = pred_bins.reshape({batch, anchors, 4, kRegMax});
  auto projection = torch::arange(kRegMax, pred.options());
  auto distances = bins.softmax(-1).matmul(projection);  // [B, A, 4]
  auto pred_boxes = torch::cat({points - distances.index({Slice(), Slice(), Slice(0, 2)}),
                                points + distances.index({Slice(), Slice(), Slice(2, 4)})},
                               -1);

  auto gt_labels = targets.select(2, 0);
  auto gt_boxes = targets.index({Slice(), Slice(), Slice(1, 5)});
  auto gt_mask = gt_labels.ge(0);

  Assignment a;
  {
    torch::NoGradGuard no_grad;
    a = assign(pred_logits.detach().sigmoid(), pred_boxes.detach() * strides, points * strides,
               gt_labels, gt_boxes, gt_mask, num_classes, options);
  }
  auto score_sum = a.target_scores.sum().clamp_min(1.0);
  auto class_loss =
      torch::nn::functional::binary_cross_entropy_with_logits(
          pred_logits, a.target_scores,
          torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)) /
      score_sum;

  auto box_loss = torch::zeros({}, pred.options());
  auto dfl_loss = torch::zeros({}, pred.options());
  const int64_t assigned = a.foreground.sum().item<int64_t>();
  if (assigned > 0) {
    auto fg = a.foreground;
    auto weight = a.target_scores.sum(-1).index({fg}).unsqueeze(-1);  // [F, 1]
    auto target_cells = a.target_boxes / strides;                     // [B, A, 4]
    auto iou = complete_iou(pred_boxes.index({fg}), target_cells.index({fg}));
    box_loss = ((1.0 - iou).unsqueeze(-1) * weight).sum() / score_sum;

    // Distribution focal loss: the two bins around each true distance, weighted by nearness.
    auto fg_points = points.unsqueeze(0).expand({batch, anchors, 2}).index({fg});
    auto fg_targets = target_cells.index({fg});
    auto target_distances = torch::cat({fg_points - fg_targets.index({Slice(), Slice(0, 2)}),
                                        fg_targets.index({Slice(), Slice(2, 4)}) - fg_points},
                                       -1)
                                .clamp(0, kRegMax - 1 - 0.01);  // [F, 4]
    auto fg_bins = bins.index({fg}).reshape({-1, kRegMax});     // [F * 4, 16]
    auto flat_targets = target_distances.reshape({-1});
    auto left = flat_targets.to(torch::kLong);
    auto right = left + 1;
    auto weight_left = right.to(torch::kFloat) - flat_targets;
    auto weight_right = 1 - weight_left;
    auto log_probs = fg_bins.log_softmax(-1);
    auto nll_left = -log_probs.gather(1, left.unsqueeze(1)).squeeze(1);
    auto nll_right = -log_probs.gather(1, right.unsqueeze(1)).squeeze(1);
    auto per_side = nll_left * weight_left + nll_right * weight_right;  // [F * 4]
    auto per_anchor = per_side.view({-1, 4}).mean(-1, true);            // [F, 1]
    dfl_loss = (per_anchor * weight).sum() / score_sum;
  }

  box_loss = box_loss * options.box_gain;
  class_loss = class_loss * options.class_gain;
  dfl_loss = dfl_loss * options.dfl_gain;
  DetectionLoss out;
  out.total = (box_loss + class_loss + dfl_loss) * static_cast<double>(batch);
  out.box = box_loss.item<double>();
  out.cls = class_loss.item<double>();
  out.dfl = dfl_loss.item<double>();
  out.assigned_anchors = assigned;
  return out;
}

}  // namespace streaminfer
