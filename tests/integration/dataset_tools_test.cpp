// The dataset tools end to end: `extract-frames` on a clip made by the ffmpeg CLI (count, names,
// frames.csv timestamps, both formats, a folder that already holds files) and `annotate` on a
// folder of extracted frames with a corrupt image and a text file in it (drawn images, the JSON
// and COCO files, the warning, the exit-2 cases).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

// 0.5 s is a whole number of frames at this rate, so --fps 2 keeps frames 0, 5, 10, ...
constexpr int kClipFps = 10;
constexpr double kClipSeconds = 4;
constexpr int kClipWidth = 160, kClipHeight = 120;

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

bool starts_with_bytes(const fs::path& path, const std::string& magic) {
  return read_file(path).compare(0, magic.size(), magic) == 0;
}

// Width and height from a PNG's IHDR chunk (big-endian, bytes 16..23).
std::pair<int, int> png_size(const fs::path& path) {
  const std::string data = read_file(path);
  if (data.size() < 24) return {-1, -1};
  const auto be32 = [&](size_t at) {
    int v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(data[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

std::vector<std::string> extract(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {streaminfer_bin(), "extract-frames"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// Fast on 2 cores: a 320 input, no micro-batch measurement at load.
std::vector<std::string> annotate(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {streaminfer_bin(), "annotate", "--input-size",  "320",
                                   "--threads",       "2",        "--micro-batch", "2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

class DatasetTools : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>("streaminfer_dataset");
    ClipSpec spec;
    spec.seconds = kClipSeconds;
    spec.fps = kClipFps;
    spec.width = kClipWidth;
    spec.height = kClipHeight;
    clip_error_ = make_test_clip(clip(), spec);
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override { ASSERT_EQ(clip_error_, ""); }

  static fs::path clip() { return *dir_ / "clip.mp4"; }
  static std::unique_ptr<TempDir> dir_;
  static std::string clip_error_;
};
std::unique_ptr<TempDir> DatasetTools::dir_;
std::string DatasetTools::clip_error_;

TEST_F(DatasetTools, ExtractAtTwoFpsWritesEightPngFramesWithTheirTimestamps) {
  TempDir out;
  const fs::path frames = out / "new" / "frames";  // created, parents included
  CommandResult r = run_command(
      extract({"-i", clip().string(), "-o", frames.string(), "--fps", "2", "--prefix", "shot_"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const int expected = static_cast<int>(kClipSeconds * 2);
  EXPECT_TRUE(has_line_with_all(r.out, {"wrote", std::to_string(expected), "png"})) << r.out;

  const CsvFile csv = read_csv(frames / "frames.csv");
  EXPECT_EQ(csv.header, "file,frame_index,pts_seconds");
  ASSERT_EQ(csv.rows.size(), static_cast<size_t>(expected));
  std::vector<std::string> listed;
  for (size_t k = 0; k < csv.rows.size(); ++k) {
    const auto& row = csv.rows[k];
    ASSERT_EQ(row.size(), 3u);
    const double pts = std::stod(row[2]);
    EXPECT_NEAR(pts, 0.5 * static_cast<double>(k), 0.5 / kClipFps) << "row " << k;
    const int64_t index = std::stoll(row[1]);
    EXPECT_NEAR(static_cast<double>(index), pts * kClipFps, 0.01) << "row " << k;
    EXPECT_EQ(row[0], fmt::format("shot_{:06d}_{:.3f}s.png", index, pts));
    EXPECT_TRUE(starts_with_bytes(frames / row[0], "\x89PNG")) << row[0];
    EXPECT_EQ(png_size(frames / row[0]), std::make_pair(kClipWidth, kClipHeight)) << row[0];
    listed.push_back(row[0]);
  }
  listed.push_back("frames.csv");
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(files_in(frames), listed) << "exactly the listed frames and frames.csv";
}

TEST_F(DatasetTools, ExtractJpgEveryNthStopsAtMaxFrames) {
  TempDir out;
  CommandResult r =
      run_command(extract({"-i", clip().string(), "-o", out.path().string(), "--every-nth", "10",
                           "--max-frames", "3", "--format", "jpg", "--quality", "80"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const CsvFile csv = read_csv(out / "frames.csv");
  ASSERT_EQ(csv.rows.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(csv.rows[k][1], std::to_string(10 * k));
    EXPECT_NEAR(std::stod(csv.rows[k][2]), static_cast<double>(10 * k) / kClipFps, 0.5 / kClipFps);
    EXPECT_EQ(csv.rows[k][0].substr(0, 13), fmt::format("frame_{:06d}_", 10 * k));
    EXPECT_TRUE(starts_with_bytes(out / csv.rows[k][0], "\xFF\xD8"))
        << "a JPEG: " << csv.rows[k][0];
  }
  EXPECT_EQ(files_in(out.path()).size(), 4u);
}

TEST_F(DatasetTools, ExtractIntoAFolderWithFilesNeedsOverwrite) {
  TempDir out;
  write_file(out / "keep.txt", "earlier work");
  CommandResult r =
      run_command(extract({"-i", clip().string(), "-o", out.path().string(), "--max-frames", "2"}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {out.path().string(), "--overwrite"}), "") << r.describe();
  EXPECT_EQ(files_in(out.path()), std::vector<std::string>{"keep.txt"}) << "nothing written";

  r = run_command(extract(
      {"-i", clip().string(), "-o", out.path().string(), "--max-frames", "2", "--overwrite"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(files_in(out.path()).size(), 4u) << "2 frames, frames.csv, keep.txt";
}

TEST_F(DatasetTools, ExtractFromAMissingFileExits2) {
  TempDir out;
  const std::string missing = (out / "missing.mp4").string();
  CommandResult r = run_command(extract({"-i", missing, "-o", (out / "f").string()}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {missing}), "") << r.describe();
  EXPECT_FALSE(fs::exists(out / "f")) << "no folder for a source that does not open";
}

// A folder of 3 frames of the clip (and their frames.csv), a corrupt .jpg and a text file.
class Annotate : public DatasetTools {
 protected:
  void SetUp() override {
    DatasetTools::SetUp();
    CommandResult r = run_command(extract(
        {"-i", clip().string(), "-o", input().string(), "--fps", "1", "--max-frames", "3"}));
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    write_file(input() / "broken.jpg", "not a picture at all");
    write_file(input() / "notes.txt", "not an image");
  }
  fs::path input() const { return work_ / "in"; }
  fs::path output() const { return work_ / "out"; }
  std::vector<std::string> frame_names() const {
    std::vector<std::string> names;
    for (const auto& name : files_in(input())) {
      if (name.starts_with("frame_")) names.push_back(name);
    }
    return names;
  }

  TempDir work_;
};

// Threshold 0: the test clip (ffmpeg's testsrc) shows none of the shapes the default detector
// (yolov8n-shapes) was trained on, so this is what makes boxes (NMS still keeps only some).
const std::vector<std::string> kEveryAnchor = {"--threshold", "0", "--batch-size", "2"};

TEST_F(Annotate, DrawsEveryReadableImageAndWritesTheirDetections) {
  std::vector<std::string> args = {"-i", input().string(), "-o", output().string()};
  args.insert(args.end(), kEveryAnchor.begin(), kEveryAnchor.end());
  CommandResult r = run_command(annotate(args));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  // One warning, naming the corrupt file; no error.
  const auto err = non_empty_lines(r.err);
  ASSERT_EQ(err.size(), 1u) << r.describe();
  EXPECT_TRUE(err[0].starts_with("streaminfer: warning: ")) << err[0];
  EXPECT_NE(err[0].find("broken.jpg"), std::string::npos) << err[0];
  EXPECT_TRUE(has_line_with_all(r.out, {"3 image(s) annotated", "1 unreadable", "2 non-image"}))
      << r.out;

  const auto frames = frame_names();
  ASSERT_EQ(frames.size(), 3u);
  std::vector<std::string> expected_out = frames;
  expected_out.push_back("detections.json");
  std::sort(expected_out.begin(), expected_out.end());
  EXPECT_EQ(files_in(output()), expected_out);
  for (const auto& name : frames) {
    EXPECT_EQ(png_size(output() / name), png_size(input() / name)) << name;
    EXPECT_NE(read_file(output() / name), read_file(input() / name)) << name << ": no box drawn";
  }

  const auto json = nlohmann::json::parse(read_file(output() / "detections.json"));
  EXPECT_EQ(json["model"], "yolov8n-shapes") << "annotate's default model is run's";
  ASSERT_EQ(json["images"].size(), 3u);
  size_t boxes = 0;
  for (size_t i = 0; i < 3; ++i) {
    const auto& image = json["images"][i];
    EXPECT_EQ(image["file"], frames[i]) << "sorted by name";
    EXPECT_EQ(image["width"], kClipWidth);
    EXPECT_EQ(image["height"], kClipHeight);
    for (const auto& d : image["detections"]) {
      ++boxes;
      ASSERT_EQ(d["box"].size(), 4u);
      const double x1 = d["box"][0], y1 = d["box"][1], x2 = d["box"][2], y2 = d["box"][3];
      EXPECT_TRUE(0 <= x1 && x1 <= x2 && x2 <= kClipWidth && 0 <= y1 && y1 <= y2 &&
                  y2 <= kClipHeight)
          << d.dump();
      EXPECT_GE(d["score"].get<double>(), 0.0);
      EXPECT_LE(d["score"].get<double>(), 1.0);
      EXPECT_TRUE(d["class_id"].is_number_integer()) << d.dump();
      EXPECT_TRUE(d["label"].is_string()) << d.dump();
    }
  }
  EXPECT_GT(boxes, 0u);
}

TEST_F(Annotate, CocoFormatLinksAnnotationsToImagesAndCategories) {
  std::vector<std::string> args = {"-i",  input().string(), "-o", output().string(), "--format",
                                   "coco"};
  args.insert(args.end(), kEveryAnchor.begin(), kEveryAnchor.end());
  CommandResult r = run_command(annotate(args));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto json = nlohmann::json::parse(read_file(output() / "detections.json"));
  ASSERT_EQ(json["images"].size(), 3u);
  std::set<int64_t> image_ids, category_ids;
  for (const auto& image : json["images"]) {
    image_ids.insert(image["id"].get<int64_t>());
    EXPECT_EQ(image["width"], kClipWidth);
    EXPECT_TRUE(image["file_name"].get<std::string>().starts_with("frame_"));
  }
  EXPECT_EQ(image_ids.size(), 3u);
  ASSERT_EQ(json["categories"].size(), 4u) << "yolov8n-shapes' 4 classes";
  EXPECT_EQ(json["categories"][0]["name"], "rectangle");
  for (const auto& c : json["categories"]) category_ids.insert(c["id"].get<int64_t>());
  ASSERT_GT(json["annotations"].size(), 0u);
  std::set<int64_t> annotation_ids;
  for (const auto& a : json["annotations"]) {
    annotation_ids.insert(a["id"].get<int64_t>());
    EXPECT_TRUE(image_ids.count(a["image_id"].get<int64_t>())) << a.dump();
    EXPECT_TRUE(category_ids.count(a["category_id"].get<int64_t>())) << a.dump();
    ASSERT_EQ(a["bbox"].size(), 4u);
    const double x = a["bbox"][0], y = a["bbox"][1], w = a["bbox"][2], h = a["bbox"][3];
    EXPECT_TRUE(x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= kClipWidth + 0.01 &&
                y + h <= kClipHeight + 0.01)
        << a.dump();
    EXPECT_TRUE(a["score"].is_number()) << a.dump();
  }
  EXPECT_EQ(annotation_ids.size(), json["annotations"].size()) << "annotation ids are unique";
}

// These are refused before the model loads: no frames needed.
TEST(AnnotateInput, MissingEmptyOrSameFolderExits2) {
  TempDir work;
  const std::string output = (work / "out").string();
  const std::string missing = (work / "missing").string();
  CommandResult r = run_command(annotate({"-i", missing, "-o", output}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {missing}), "") << r.describe();

  const fs::path folder = work / "in";
  fs::create_directories(folder);
  write_file(folder / "notes.txt", "no images here");
  r = run_command(annotate({"-i", folder.string(), "-o", output}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {folder.string(), ".jpg"}), "") << r.describe();

  write_file(folder / "a.png", "only the name of an image");
  r = run_command(annotate({"-i", folder.string(), "-o", folder.string()}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {folder.string(), "input folder"}), "") << r.describe();
  EXPECT_FALSE(fs::exists(output));
  EXPECT_EQ(read_file(folder / "a.png"), "only the name of an image");
}

}  // namespace
}  // namespace streaminfer::test
