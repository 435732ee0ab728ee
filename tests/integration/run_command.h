#pragma once
// Helpers of the end-to-end tests: run a program (no shell) with a timeout and capture what it
// prints, temporary directories, test clips made with the ffmpeg CLI, and readers of the files
// that streaminfer writes (detections JSONL, metrics CSV).
#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "child_process.h"  // read_file, read_lines, split_lines

namespace streaminfer::test {

struct CommandResult {
  int exit_code = -1;   // the program's exit status; -1 when it was killed by a signal
  int term_signal = 0;  // the signal that ended it, 0 when it exited
  bool timed_out = false;
  bool exec_failed = false;  // the program could not be started (stderr says why)
  pid_t pid = -1;
  std::string out;
  std::string err;
  double seconds = 0;

  // For failure messages: the command line, exit status, stdout and stderr (both truncated).
  std::string describe() const;
  std::string command_line;
};

// Runs argv[0] (a path, or a name looked up in PATH) with argv[1..] as its arguments: no shell,
// so '?' and '&' in arguments need no quoting. stdin is /dev/null. On timeout the child's whole
// process group gets SIGKILL and timed_out is set.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120),
                          const std::filesystem::path& working_dir = {});

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "streaminfer_it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& content);
std::vector<std::string> non_empty_lines(const std::string& text);

// Sets an environment variable for the children a test starts; restored on destruction.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Test clips -------------------------------------------------------------------------------

struct ClipSpec {
  double seconds = 2;
  int fps = 25;
  int width = 320;
  int height = 240;
  std::string codec = "h264";  // "h264" (libx264, mpeg4 when ffmpeg lacks it) or "mpeg4"
  bool faststart = true;       // mp4: index at the front, so a truncated file still opens
};

std::filesystem::path ffmpeg_path();
std::filesystem::path ffprobe_path();  // next to ffmpeg
bool ffmpeg_has_encoder(const std::string& name);

// Encodes testsrc into `path` (the container follows the extension: .mp4, .mkv, ...). Returns an
// empty string on success, else what went wrong (with ffmpeg's stderr).
std::string make_test_clip(const std::filesystem::path& path, const ClipSpec& spec = {});

// Decoded video frames of the first video stream (ffprobe -count_frames); nullopt on failure.
std::optional<int64_t> count_frames(const std::filesystem::path& path);

// Headless Chromium -----------------------------------------------------------------------

inline constexpr const char* kChromium = "/usr/bin/chromium";

// Chromium with a fresh profile and nothing that reaches the network; virtual time lets the
// page's timers (the ready marker) run before the DOM is dumped or a screenshot taken.
CommandResult chromium(const TempDir& profile, const std::vector<std::string>& args);

// The marker the report and the bench plots add once their charts are drawn:
// <div id="ready" data-charts="N" data-inked="M">.
struct ChartsReady {
  bool found = false;
  int charts = -1;
  int inked = -1;  // charts whose canvas has pixels drawn
};
ChartsReady charts_ready(const std::string& dom);

// Whether `python` can import torch (the TorchScript test needs it).
bool python_has_torch(const std::string& python);

// streaminfer's outputs ---------------------------------------------------------------------

struct Detection {
  std::array<double, 4> box{};  // x1, y1, x2, y2 in source pixels
  double score = 0;
  int64_t cls = 0;
  std::string label;
};

struct FrameResult {
  int64_t stream = 0;
  int64_t frame = 0;
  double pts = 0;
  std::vector<Detection> detections;
};

// Every line of a detections JSONL file, checked against the contract: a JSON object with
// "stream" and "frame" (integers >= 0), "pts" (number), "detections" (array of objects with
// "box" (4 numbers, x1 <= x2, y1 <= y2), "score" (number in [0, 1]), "class" (integer >= 0),
// "label" (string)). Lines that break it are listed in `errors` ("line N: ..."), not in `frames`.
struct JsonlFile {
  std::vector<FrameResult> frames;
  std::vector<std::string> errors;
  size_t lines = 0;
};
JsonlFile parse_jsonl(const std::filesystem::path& path);

// Frames of `stream`, in file order.
std::vector<const FrameResult*> frames_of(const JsonlFile& file, int64_t stream);

// Empty when the frames of `stream` have indices 0..expected-1, each exactly once (expected < 0:
// any count, still 0..n-1); else a description of what is missing, repeated or extra.
std::string check_frame_indices(const JsonlFile& file, int64_t stream, int64_t expected);

// A CSV file split at commas (no quoting: streaminfer's metrics CSV has none).
struct CsvFile {
  std::string header;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};
CsvFile read_csv(const std::filesystem::path& path);

// The one file in `dir` whose name starts with `prefix` (a failure is added when there are none
// or several; then the path is empty or the first one).
std::filesystem::path only_file_with_prefix(const std::filesystem::path& dir,
                                            const std::string& prefix);

// Whether `text` has a line that contains every one of `needles`.
bool has_line_with_all(const std::string& text, const std::vector<std::string>& needles);

// streaminfer ------------------------------------------------------------------------------

// The binary under test: $STREAMINFER_TEST_BIN when set (the CI runs these tests a second time
// against the ThreadSanitizer build's binary, without building them again), else this build's.
const char* streaminfer_bin();

// {streaminfer_bin(), "run", <flags that keep a test fast on 2 cores>, extra...}: --imgsz 320
// --threads 2 --warmup 1 --no-progress, and --micro-batch 2, --model yolov8n (random weights)
// and --precision fp32 unless `extra` sets them.
std::vector<std::string> streaminfer_run(const std::vector<std::string>& extra);

// "synthetic:?width=W&height=H&fps=F&objects=O&seed=S&frames=N"
std::string synthetic_uri(int width, int height, int frames, int seed = 1, int fps = 30,
                          int objects = 6);

// Checks how streaminfer reported an error on stderr. Empty when: exactly one line starts with
// "streaminfer: error: ", it contains every string of `names`, and (only_line) it is the only
// non-empty line of stderr, or (!only_line) every non-empty line starts with "streaminfer: ".
// Otherwise says what is wrong.
std::string check_error_line(const CommandResult& result, const std::vector<std::string>& names,
                             bool only_line = true);
// The "streaminfer: error: " lines of stderr.
std::vector<std::string> error_lines(const CommandResult& result);

}  // namespace streaminfer::test
