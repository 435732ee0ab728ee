// Weights files: what save_weights writes, load_weights reads back into the same architecture
// with identical output; files that do not fit the model are refused before anything changes.
#include "infer/weights_file.h"

#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "infer/yolov8.h"
#include "python_command.h"

namespace streaminfer {
namespace {
namespace fs = std::filesystem;

// A file name of this test process's own, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_(fs::temp_directory_path() /
              ("streaminfer_weights_" + std::to_string(::getpid()) + "_" + name)) {}
  ~TempFile() { fs::remove(path_); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

// Fresh BatchNorm statistics are 0 and 1 in every model: give them values of this seed's own,
// so that a round trip that dropped the buffers would show in the output.
YoloV8 random_model(int seed, int num_classes = 4) {
  at::manual_seed(seed);
  YoloV8 model('n', num_classes);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_buffers(true)) {
    auto& t = item.value();
    if (item.key().ends_with("running_mean")) t.copy_(torch::rand(t.sizes()) - 0.5);
    if (item.key().ends_with("running_var")) t.copy_(torch::rand(t.sizes()) + 0.5);
  }
  model->eval();
  return model;
}

torch::Tensor output_of(YoloV8& model) {
  c10::InferenceMode inference_mode;
  at::manual_seed(99);
  return model->forward(torch::rand({1, 3, 64, 64}));
}

// Writes `model`'s tensors as save_weights does, after `edit` changed the dict.
template <typename Edit>
void save_edited(YoloV8& model, const std::string& path, Edit edit) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& p : model->named_parameters(true)) dict.insert(p.key(), p.value().detach());
  for (const auto& b : model->named_buffers(true)) dict.insert(b.key(), b.value().detach());
  edit(dict);
  const auto bytes = torch::pickle_save(dict);
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(WeightsFile, RoundTripGivesIdenticalOutput) {
  TempFile file("round_trip.pt");
  auto saved = random_model(1);
  auto loaded = random_model(2);
  ASSERT_FALSE(torch::equal(output_of(saved), output_of(loaded))) << "the seeds give one model";

  ASSERT_TRUE(save_weights(*saved, file.str()).is_ok());
  const Status status = load_weights(*loaded, file.str());
  ASSERT_TRUE(status.is_ok()) << status.message();
  EXPECT_TRUE(torch::equal(output_of(saved), output_of(loaded)));
  const auto buffers = loaded->named_buffers(true);
  EXPECT_TRUE(torch::equal(*buffers.find("model.21.cv2.bn.running_var"),
                           *saved->named_buffers(true).find("model.21.cv2.bn.running_var")));
}

TEST(WeightsFile, Float16FileLoadsIntoFloat32Model) {
  TempFile file("half.pt");
  auto saved = random_model(3);
  saved->to(torch::kHalf);
  ASSERT_TRUE(save_weights(*saved, file.str()).is_ok());
  auto loaded = random_model(4);
  const Status status = load_weights(*loaded, file.str());
  ASSERT_TRUE(status.is_ok()) << status.message();
  const auto half = saved->named_parameters(true);
  for (const auto& p : loaded->named_parameters(true)) {
    ASSERT_EQ(p.value().scalar_type(), torch::kFloat32) << p.key();
    ASSERT_TRUE(torch::equal(p.value(), half.find(p.key())->to(torch::kFloat32))) << p.key();
  }
}

TEST(WeightsFile, WrongShapeIsRefusedAndNamed) {
  TempFile file("four_classes.pt");
  auto four = random_model(5, 4);
  ASSERT_TRUE(save_weights(*four, file.str()).is_ok());
  auto three = random_model(6, 3);
  const auto before = output_of(three);
  const Status status = load_weights(*three, file.str());
  ASSERT_FALSE(status.is_ok());
  const std::string& message = status.message();
  EXPECT_NE(message.find(file.str()), std::string::npos) << message;
  // The class branch's last convolution: 4 output channels in the file, 3 in the model.
  const int64_t hidden = three->named_parameters(true).find("model.22.cv3.0.2.weight")->size(1);
  EXPECT_NE(message.find(fmt::format("'model.22.cv3.0.2.weight' (4x{0}x1x1 in the file, "
                                     "3x{0}x1x1 in the model)",
                                     hidden)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("and 3 more"), std::string::npos) << "3 names at most: " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
  EXPECT_TRUE(torch::equal(output_of(three), before)) << "a refused file changed the model";
}

TEST(WeightsFile, MissingAndUnexpectedNamesAreRefused) {
  TempFile file("edited.pt");
  auto model = random_model(7);
  save_edited(model, file.str(), [](auto& dict) {
    ASSERT_EQ(dict.erase("model.0.conv.weight"), 1u);
    dict.insert("model.99.weight", torch::zeros({2}));
  });
  const Status status = load_weights(*model, file.str());
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("missing 'model.0.conv.weight'"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("unexpected 'model.99.weight'"), std::string::npos)
      << status.message();
}

TEST(WeightsFile, BatchCountersMayBeMissing) {
  TempFile file("no_counters.pt");
  auto saved = random_model(8);
  save_edited(saved, file.str(), [](auto& dict) {
    std::vector<std::string> counters;
    for (const auto& entry : dict) {
      if (entry.key().ends_with("num_batches_tracked")) counters.push_back(entry.key());
    }
    ASSERT_FALSE(counters.empty());
    for (const auto& name : counters) ASSERT_EQ(dict.erase(name), 1u);
  });
  auto loaded = random_model(9);
  const Status status = load_weights(*loaded, file.str());
  ASSERT_TRUE(status.is_ok()) << status.message();
  EXPECT_TRUE(torch::equal(output_of(saved), output_of(loaded)));
}

TEST(WeightsFile, MissingOrUnreadableFileIsNamed) {
  auto model = random_model(10);
  const Status missing = load_weights(*model, "/nonexistent/weights.pt");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("'/nonexistent/weights.pt' not found"), std::string::npos)
      << missing.message();

  TempFile garbage("garbage.pt");
  std::ofstream(garbage.str()) << "not weights";
  const Status unreadable = load_weights(*model, garbage.str());
  ASSERT_FALSE(unreadable.is_ok());
  EXPECT_NE(unreadable.message().find("cannot read weights file '" + garbage.str() + "'"),
            std::string::npos)
      << unreadable.message();

  // (A folder that does not exist is created; one under /proc cannot be.)
  const Status unwritable = save_weights(*model, "/proc/nonexistent/weights.pt");
  ASSERT_FALSE(unwritable.is_ok());
  EXPECT_NE(unwritable.message().find("/proc/nonexistent/weights.pt"), std::string::npos);
}

TEST(WeightsFile, PyTorchReadsTheFileAsAStateDict) {
  if (test::python_with_torch().empty()) GTEST_SKIP() << "no python3 with torch";
  TempFile file("for_python.pt");
  auto model = random_model(11);
  ASSERT_TRUE(save_weights(*model, file.str()).is_ok());
  const auto listing =
      test::command_output(test::python_script("read_weights_file.py") + file.str());
  ASSERT_TRUE(listing) << "torch.load could not read " << file.str();

  // name -> (shape, dtype, sum) as PyTorch sees them.
  std::map<std::string, std::tuple<std::string, std::string, double>> seen;
  std::istringstream lines(*listing);
  for (std::string line; std::getline(lines, line);) {
    // Tab-separated: a scalar's shape is the empty field.
    std::istringstream fields(line);
    std::string name, shape, dtype, sum;
    std::getline(fields, name, '\t');
    std::getline(fields, shape, '\t');
    std::getline(fields, dtype, '\t');
    std::getline(fields, sum, '\t');
    seen[name] = {shape, dtype, std::stod(sum)};
  }
  size_t expected = 0;
  auto check = [&](const std::string& name, const torch::Tensor& t) {
    ++expected;
    auto it = seen.find(name);
    ASSERT_NE(it, seen.end()) << name << " is not in the file PyTorch read";
    const auto& [shape, dtype, sum] = it->second;
    EXPECT_EQ(shape, fmt::format("{}", fmt::join(t.sizes(), "x"))) << name;
    EXPECT_EQ(dtype, t.scalar_type() == torch::kLong ? "int64" : "float32") << name;
    const double own = t.to(torch::kFloat64).sum().item<double>();
    EXPECT_NEAR(sum, own, 1e-9 * (1 + std::abs(own))) << name;
  };
  for (const auto& p : model->named_parameters(true)) check(p.key(), p.value());
  for (const auto& b : model->named_buffers(true)) check(b.key(), b.value());
  EXPECT_EQ(seen.size(), expected);
}

}  // namespace
}  // namespace streaminfer
