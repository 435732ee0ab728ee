#pragma once
// The layout of a oneDNN plan's activations between the network's edges (onednn_plan.h).

namespace streaminfer {

enum class OneDnnLayout {
  kBlocked,       // oneDNN's blocked layout: channels in blocks of 16 (AVX-512) or 8 (AVX2)
  kChannelsLast,  // NHWC
};

// "onednn-blocked" or "onednn-nhwc": the names --fp32-kernels takes and the model line shows.
inline const char* onednn_layout_name(OneDnnLayout layout) {
  return layout == OneDnnLayout::kBlocked ? "onednn-blocked" : "onednn-nhwc";
}

}  // namespace streaminfer
