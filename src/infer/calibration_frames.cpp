#include "infer/calibration_frames.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "common/image_file.h"
#include "preprocess/letterbox.h"
#include "source/source.h"

namespace streaminfer {

namespace {

constexpr int kFileStride = 4;

class Letterboxed {
 public:
  explicit Letterboxed(int size) : size_(size) {}
  // `truth`: the picture's ground truth in its own pixels, or null when the source has none.
  Status add(const AVFrame& picture, const std::vector<GroundTruthBox>* truth = nullptr) {
    auto slot = at::empty({3, size_, size_}, at::kFloat);
    LetterboxTransform transform;
    SI_RETURN_IF_ERROR(
        preprocessor_.run(picture, size_, size_, slot.data_ptr<float>(), &transform));
    images_.push_back(std::move(slot));
    if (truth != nullptr) {
      std::vector<GroundTruthBox> in_input = *truth;
      for (auto& box : in_input) box.box = transform.to_model(box.box);
      truth_.push_back(std::move(in_input));
    }
    return Status::ok();
  }
  size_t size() const { return images_.size(); }

  // The first `calibration` images, and the rest held out.
  CalibrationFrames split(int count) const {
    const auto n = static_cast<int>(images_.size());
    int calibration = std::min(count, n);
    if (calibration == n) calibration = std::max(1, n - std::max(1, n / 5));
    CalibrationFrames frames;
    frames.images =
        at::stack(std::vector<at::Tensor>(images_.begin(), images_.begin() + calibration));
    if (calibration < n) {
      frames.held_out =
          at::stack(std::vector<at::Tensor>(images_.begin() + calibration, images_.end()));
      if (truth_.size() == images_.size()) {
        frames.held_out_truth.assign(truth_.begin() + calibration, truth_.end());
      }
    }
    return frames;
  }

 private:
  int size_;
  LetterboxPreprocessor preprocessor_;
  std::vector<at::Tensor> images_;
  std::vector<std::vector<GroundTruthBox>> truth_;  // per image, when every image has it
};

int held_out_count(int count) { return std::max(1, (count + 3) / 4); }

Result<CalibrationFrames> from_folder(const std::filesystem::path& folder, int count, int size) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (entry.is_regular_file() && is_image_file_name(entry.path().filename().string())) {
      files.push_back(entry.path());
    }
  }
  if (ec) {
    return Status::error(fmt::format("--calibration '{}': cannot list the folder ({})",
                                     folder.string(), ec.message()));
  }
  if (files.size() < 2) {
    return Status::error(fmt::format(
        "--calibration '{}': the folder holds {} image(s) (png, jpg or bmp); give at least 2",
        folder.string(), files.size()));
  }
  std::sort(files.begin(), files.end());
  const size_t wanted = static_cast<size_t>(count + held_out_count(count));
  const size_t take = std::min(wanted, files.size());
  Letterboxed images(size);
  for (size_t i = 0; i < take; ++i) {
    const auto& file = files[i * files.size() / take];
    auto picture = read_image(file.string());
    if (!picture) return Status::error("--calibration: " + picture.status().message());
    SI_RETURN_IF_ERROR(images.add(*picture.value()));
  }
  auto frames = images.split(count);
  frames.description =
      fmt::format("{} images of folder {}{}", frames.images.size(0), folder.string(),
                  files.size() > take ? fmt::format(" (of {})", files.size()) : "");
  return frames;
}

Result<CalibrationFrames> from_source(const std::string& uri, int count, int size) {
  SourceOptions options;
  auto opened = open_source(uri, options);
  if (!opened) return Status::error("--calibration: " + opened.status().message());
  Source& source = *opened.value();
  const SourceInfo& info = source.info();
  const int stride = info.live ? 1 : kFileStride;
  const int wanted = count + held_out_count(count);
  Letterboxed images(size);
  for (int64_t index = 0; static_cast<int>(images.size()) < wanted; ++index) {
    FramePtr frame;
    if (Status next = source.next(frame); !next) {
      return Status::error(fmt::format("--calibration '{}': {}", uri, next.message()));
    }
    if (!frame) break;
    if (index % stride == 0) {
      SI_RETURN_IF_ERROR(
          images.add(*frame->image, info.has_ground_truth ? &frame->ground_truth : nullptr));
    }
  }
  if (images.size() < 2) {
    return Status::error(fmt::format(
        "--calibration '{}': {} frame(s) to calibrate on; give a longer clip or a live source", uri,
        images.size()));
  }
  auto frames = images.split(count);
  frames.description =
      fmt::format("{} frames of {} ({}){}", frames.images.size(0), uri, info.description,
                  stride > 1 ? fmt::format(", one in {}", stride) : "");
  return frames;
}

}  // namespace

Result<CalibrationFrames> read_calibration_frames(const std::string& source, int count,
                                                  int input_size) {
  if (count < 1) {
    return Status::error(fmt::format("--calibration-frames must be 1 or more (got {})", count));
  }
  std::error_code ec;
  if (std::filesystem::is_directory(source, ec)) return from_folder(source, count, input_size);
  return from_source(source, count, input_size);
}

}  // namespace streaminfer
