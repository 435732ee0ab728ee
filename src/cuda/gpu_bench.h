#pragma once
// `streaminfer bench gpu` (handed out by the backend registry where the build has the cuda
// backend): preprocessing and decode + NMS on the CPU against the fused kernels, and the model's
// forward on the GPU in fp32 and fp16 with CUDA graphs off and on, at batch 1, 8 and 32, for
// yolov8n at 640 and yolov8n-shapes at 320. Device times come from CUDA events.
#include <string>

#include "infer/backend.h"

namespace streaminfer {

// Runs every row, writes DIR/gpu_bench.csv and returns the table.
Result<std::string> run_gpu_bench(const GpuBenchOptions& options);

}  // namespace streaminfer
