// --split-point: a YOLOv8 run as two parts gives the output of one forward, whatever the layer it
// is split after, and the backend reports each part's time.
#include <gtest/gtest.h>
#include <torch/types.h>

#include "infer/backend.h"
#include "infer/yolov8.h"

namespace streaminfer {
namespace {

TEST(SplitPoint, EverySplitGivesTheOutputOfOneForward) {
  torch::manual_seed(5);
  YoloV8 model('n', 4);
  model->eval();
  c10::InferenceMode inference_mode;
  auto x = torch::rand({1, 3, 64, 96});
  auto whole = model->forward(x);
  for (int layer = 0; layer <= YoloV8Impl::kLastSplitLayer; ++layer) {
    auto kept = model->run_to(x, layer);
    EXPECT_TRUE(kept.count(layer)) << "the split layer's own output is handed over";
    auto split = model->run_from(std::move(kept), layer + 1);
    EXPECT_TRUE(torch::equal(split, whole)) << "split after layer " << layer;
  }
}

TEST(SplitPoint, OnlyTheOutputsLaterLayersReadAreHandedOver) {
  YoloV8 model('n', 4);
  model->eval();
  c10::InferenceMode inference_mode;
  // After the backbone (layer 9) the neck reads layers 4 and 6 (concats) and 9.
  auto kept = model->run_to(torch::rand({1, 3, 64, 64}), 9);
  std::vector<int> layers;
  for (const auto& [layer, tensor] : kept) layers.push_back(layer);
  EXPECT_EQ(layers, (std::vector<int>{4, 6, 9}));
}

TEST(SplitPoint, TheBackendTimesEachPartAndRejectsABadLayer) {
  BackendOptions options;
  options.model = "yolov8n";
  options.num_classes = 4;
  options.input_size = 64;
  options.micro_batch = 1;
  options.threads = 2;
  options.split_point = "model.9";
  auto backend = create_backend(options);
  ASSERT_TRUE(backend) << backend.status().message();
  (*backend)->reset_report();
  EXPECT_EQ((*backend)->end_of_run_report(), "");
  ASSERT_TRUE((*backend)->infer(torch::rand({1, 3, 64, 64})));
  const std::string report = (*backend)->end_of_run_report();
  for (const char* part : {"split at model.9", "1 forward(s)", "part 1 (layers 0-9", "hand-over",
                           "part 2 (layers 10-22"}) {
    EXPECT_NE(report.find(part), std::string::npos) << part << " in " << report;
  }

  options.split_point = "model.22";
  auto bad = create_backend(options);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("model.0 .. model.21"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace streaminfer
