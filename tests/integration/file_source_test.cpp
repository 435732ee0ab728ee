// Video files end to end: a clip encoded by the test runs next to a synthetic stream, and every
// decoded frame of the clip gets exactly one JSONL line.
#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>

#include <fmt/format.h>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

struct ClipCase {
  std::string file_name;
  std::string codec;
};

void PrintTo(const ClipCase& c, std::ostream* os) { *os << c.file_name << " (" << c.codec << ")"; }

class FileSource : public ::testing::TestWithParam<ClipCase> {};

TEST_P(FileSource, EveryDecodedFrameOfTheClipHasOneLine) {
  TempDir dir;
  const fs::path clip = dir / GetParam().file_name;
  ClipSpec spec;  // 2 s, 25 fps, 320x240
  spec.codec = GetParam().codec;
  ASSERT_EQ(make_test_clip(clip, spec), "");
  const auto probed = count_frames(clip);
  ASSERT_TRUE(probed.has_value()) << "ffprobe cannot count the frames of " << clip;
  ASSERT_EQ(*probed, 50) << "a 2 s clip at 25 fps";

  const fs::path jsonl_path = dir / "detections.jsonl";
  CommandResult r = run_command(
      streaminfer_run({"--source", clip.string(), "--source", synthetic_uri(160, 120, 15, 4),
                       "--pace", "max", "--batch-size", "4", "--output", jsonl_path.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("FPS"), std::string::npos) << r.describe();

  JsonlFile jsonl = parse_jsonl(jsonl_path);
  EXPECT_TRUE(jsonl.errors.empty()) << fmt::format("{}", fmt::join(jsonl.errors, "\n"));
  EXPECT_EQ(frames_of(jsonl, 0).size(), static_cast<size_t>(*probed));
  EXPECT_EQ(check_frame_indices(jsonl, 0, *probed), "");
  EXPECT_EQ(check_frame_indices(jsonl, 1, 15), "");
  EXPECT_EQ(jsonl.lines, static_cast<size_t>(*probed + 15));

  // The clip's pts: frame / 25 s (testsrc starts at 0); boxes inside the 320x240 frame.
  for (const auto* f : frames_of(jsonl, 0)) {
    EXPECT_NEAR(f->pts, f->frame / 25.0, 0.002) << "frame " << f->frame;
    for (const auto& d : f->detections) {
      EXPECT_TRUE(d.box[0] >= -0.005 && d.box[1] >= -0.005 && d.box[2] <= 320.005 &&
                  d.box[3] <= 240.005)
          << fmt::format("frame {}: box [{}, {}, {}, {}] outside 320x240", f->frame, d.box[0],
                         d.box[1], d.box[2], d.box[3]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Containers, FileSource,
                         ::testing::Values(ClipCase{"clip.mp4", "h264"},
                                           ClipCase{"clip.mkv", "h264"},
                                           ClipCase{"clip_mpeg4.mkv", "mpeg4"}),
                         [](const ::testing::TestParamInfo<ClipCase>& info) {
                           std::string name = info.param.file_name;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace streaminfer::test
