#pragma once
// The layout of a oneDNN plan's activations between the network's edges, and the algorithm of its
// 3x3 convolutions (onednn_plan.h).

namespace streaminfer {

enum class OneDnnLayout {
  kBlocked,       // oneDNN's blocked layout: channels in blocks of 16 (AVX-512) or 8 (AVX2)
  kChannelsLast,  // NHWC
};

// "onednn-blocked" or "onednn-nhwc": the names --fp32-kernels takes and the model line shows.
inline const char* onednn_layout_name(OneDnnLayout layout) {
  return layout == OneDnnLayout::kBlocked ? "onednn-blocked" : "onednn-nhwc";
}

// Which algorithm runs each 3x3 stride-1 convolution. oneDNN's Winograd kernels (F(2x2, 3x3) and
// F(4x4, 3x3): fewer multiplications, tile transforms in and out) read and write the blocked
// layout only. One thread, AMD EPYC, ResNet-50's shapes: 0.5 against 1.2 ms (64 channels, 56x56,
// batch 1) but 5.2 against 4.9 ms (512 channels, 7x7, batch 4): neither wins every shape, so
// each shape is timed once against the direct kernel, by the first plan of the model that has it.
enum class Winograd {
  kNever,
  kWhereFaster,
  kAlways,  // wherever oneDNN has it (the tests' way to check its numbers)
};

}  // namespace streaminfer
