#include "run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace streaminfer::test {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string truncate_middle(const std::string& s, size_t limit) {
  if (s.size() <= limit) return s;
  return s.substr(0, limit / 2) + fmt::format("\n... [{} bytes left out] ...\n", s.size() - limit) +
         s.substr(s.size() - limit / 2);
}

std::string quote_arg(const std::string& arg) {
  if (!arg.empty() && arg.find_first_of(" \t\"'\\$&?*;|<>()") == std::string::npos) return arg;
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// Appends what is readable on `fd` to `sink`; false at end of file (or on an error).
bool drain(int fd, std::string& sink) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

}  // namespace

std::string CommandResult::describe() const {
  std::string status;
  if (exec_failed) {
    status = "could not start";
  } else if (timed_out) {
    status = "killed after timeout";
  } else if (term_signal != 0) {
    status = fmt::format("killed by signal {} ({})", term_signal, strsignal(term_signal));
  } else {
    status = fmt::format("exit code {}", exit_code);
  }
  return fmt::format("$ {}\n-> {} after {:.1f} s\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
                     command_line, status, seconds, truncate_middle(out, 6000),
                     truncate_middle(err, 6000));
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const fs::path& working_dir) {
  CommandResult result;
  for (const auto& a : argv) {
    if (!result.command_line.empty()) result.command_line += ' ';
    result.command_line += quote_arg(a);
  }
  if (argv.empty()) {
    result.exec_failed = true;
    result.err = "run_command: empty argv";
    return result;
  }

  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  const std::string dir = working_dir.string();

  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(exec_pipe, O_CLOEXEC) != 0) {
    result.exec_failed = true;
    result.err = fmt::format("run_command: pipe: {}", std::strerror(errno));
    return result;
  }

  const auto start = Clock::now();
  pid_t pid = fork();
  if (pid < 0) {
    result.exec_failed = true;
    result.err = fmt::format("run_command: fork: {}", std::strerror(errno));
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], exec_pipe[0], exec_pipe[1]})
      close(fd);
    return result;
  }
  if (pid == 0) {
    setpgid(0, 0);  // its own process group, so a timeout kills its children too
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    if (!dir.empty() && chdir(dir.c_str()) != 0) {
      int e = errno;
      [[maybe_unused]] ssize_t w = write(exec_pipe[1], &e, sizeof e);
      _exit(127);
    }
    execvp(c_argv[0], c_argv.data());
    int e = errno;
    [[maybe_unused]] ssize_t w = write(exec_pipe[1], &e, sizeof e);
    _exit(127);
  }
  result.pid = pid;
  setpgid(pid, pid);  // also here, so the group exists before any kill below
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);

  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  close(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    result.exec_failed = true;
    result.err = fmt::format("run_command: cannot run {}: {}", argv[0], std::strerror(exec_errno));
  }

  fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
  fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
  bool out_open = true, err_open = true;
  const auto deadline = start + timeout;
  while (out_open || err_open) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2];
    int n = 0;
    if (out_open) fds[n++] = {out_pipe[0], POLLIN, 0};
    if (err_open) fds[n++] = {err_pipe[0], POLLIN, 0};
    int ready = poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<long>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == out_pipe[0]) {
        out_open = drain(out_pipe[0], result.out);
      } else {
        err_open = drain(err_pipe[0], result.err);
      }
    }
  }

  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Whatever was still buffered in the pipes (after a timeout kill, for instance).
  drain(out_pipe[0], result.out);
  drain(err_pipe[0], result.err);
  close(out_pipe[0]);
  close(err_pipe[0]);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
    result.exit_code = -1;
  }
  return result;
}

// TempDir ------------------------------------------------------------------------------------

TempDir::TempDir(const std::string& prefix) {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(getpid()));
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate = fs::temp_directory_path() / fmt::format("{}_{:016x}", prefix, rng());
    std::error_code ec;
    if (fs::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("TempDir: cannot create a directory in " +
                           fs::temp_directory_path().string());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

// Files --------------------------------------------------------------------------------------

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<std::string> non_empty_lines(const std::string& text) {
  std::vector<std::string> lines;
  for (auto& line : split_lines(text)) {
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(std::move(line));
  }
  return lines;
}

fs::path only_file_with_prefix(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) found.push_back(entry.path());
  }
  EXPECT_EQ(found.size(), 1u) << "files starting with " << prefix << " in " << dir;
  return found.empty() ? fs::path() : found[0];
}

bool has_line_with_all(const std::string& text, const std::vector<std::string>& needles) {
  for (const auto& line : split_lines(text)) {
    if (std::all_of(needles.begin(), needles.end(),
                    [&](const std::string& n) { return line.find(n) != std::string::npos; }))
      return true;
  }
  return false;
}

// Clips --------------------------------------------------------------------------------------

fs::path ffmpeg_path() { return fs::path(STREAMINFER_TEST_FFMPEG); }

fs::path ffprobe_path() {
  fs::path next_to = ffmpeg_path().parent_path() / "ffprobe";
  if (fs::exists(next_to)) return next_to;
  return "ffprobe";
}

bool ffmpeg_has_encoder(const std::string& name) {
  static std::map<std::string, bool> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  CommandResult r = run_command({ffmpeg_path().string(), "-hide_banner", "-encoders"});
  bool found = false;
  for (const auto& line : split_lines(r.out)) {
    std::istringstream ss(line);
    std::string flags, encoder;
    ss >> flags >> encoder;
    if (encoder == name) found = true;
  }
  cache[name] = found;
  return found;
}

std::string make_test_clip(const fs::path& path, const ClipSpec& spec) {
  std::string encoder = "mpeg4";
  if (spec.codec == "h264" && ffmpeg_has_encoder("libx264")) encoder = "libx264";
  std::vector<std::string> argv = {
      ffmpeg_path().string(),
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      fmt::format("testsrc=size={}x{}:rate={}", spec.width, spec.height, spec.fps),
      "-t",
      fmt::format("{}", spec.seconds),
      "-c:v",
      encoder,
      "-pix_fmt",
      "yuv420p"};
  if (encoder == "libx264") {
    // Small, quick, and a keyframe every second so a damaged file still has decodable parts.
    for (const char* a : {"-preset", "veryfast", "-g", "25", "-bf", "0"}) argv.emplace_back(a);
  } else {
    for (const char* a : {"-q:v", "5", "-g", "25"}) argv.emplace_back(a);
  }
  if (spec.faststart && path.extension() == ".mp4") {
    argv.emplace_back("-movflags");
    argv.emplace_back("+faststart");
  }
  argv.push_back(path.string());
  CommandResult r = run_command(argv, std::chrono::seconds(60));
  if (r.exit_code != 0 || !fs::exists(path) || fs::file_size(path) == 0)
    return "ffmpeg could not make the test clip:\n" + r.describe();
  return {};
}

std::optional<int64_t> count_frames(const fs::path& path) {
  CommandResult r = run_command(
      {ffprobe_path().string(), "-v", "error", "-select_streams", "v:0", "-count_frames",
       "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path.string()},
      std::chrono::seconds(60));
  if (r.exit_code != 0) return std::nullopt;
  for (const auto& line : non_empty_lines(r.out)) {
    try {
      size_t used = 0;
      long long n = std::stoll(line, &used);
      if (used > 0) return n;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

CommandResult chromium(const TempDir& profile, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kChromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--user-data-dir=" + profile.path().string(),
                                   "--window-size=1400,2400",
                                   "--virtual-time-budget=5000"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::chrono::seconds(90));
}

ChartsReady charts_ready(const std::string& dom) {
  ChartsReady ready;
  const auto tag_at = dom.find("<div id=\"ready\"");
  if (tag_at == std::string::npos) return ready;
  const std::string tag = dom.substr(tag_at, dom.find('>', tag_at) - tag_at + 1);
  const auto attribute = [&](const std::string& name) {
    const std::string key = name + "=\"";
    const auto at = tag.find(key);
    if (at == std::string::npos) return -1;
    const auto begin = at + key.size();
    const std::string value = tag.substr(begin, tag.find('"', begin) - begin);
    return value.empty() ? -1 : std::stoi(value);
  };
  ready.found = true;
  ready.charts = attribute("data-charts");
  ready.inked = attribute("data-inked");
  return ready;
}

bool python_has_torch(const std::string& python) {
  CommandResult r = run_command({python, "-c", "import torch"}, std::chrono::seconds(120));
  return r.exit_code == 0;
}

// streaminfer --------------------------------------------------------------------------------

const char* streaminfer_bin() {
  static const char* const binary = [] {
    const char* given = std::getenv("STREAMINFER_TEST_BIN");
    return given != nullptr && *given != '\0' ? given : STREAMINFER_BIN;
  }();
  return binary;
}

ScopedEnv::ScopedEnv(const char* name, const std::string& value) : name_(name) {
  if (const char* old = std::getenv(name)) old_ = old;
  ::setenv(name, value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (old_) {
    ::setenv(name_, old_->c_str(), 1);
  } else {
    ::unsetenv(name_);
  }
}

std::vector<std::string> streaminfer_run(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {streaminfer_bin(), "run", "--imgsz",  "320",
                                   "--threads",       "2",   "--warmup", "1",
                                   "--no-progress"};
  // Measuring the micro-batch size costs 42 forwards at start-up in every run; it is tested by
  // the engine's Backend.MicroBatchIsMeasuredWhenNotSet and by the default job's test.
  // (1 when the test runs batches of 1: a forward never holds more frames than a batch.)
  if (std::find(extra.begin(), extra.end(), "--micro-batch") == extra.end()) {
    const auto batch = std::find(extra.begin(), extra.end(), "--batch-size");
    const bool batches_of_one = batch != extra.end() && batch + 1 != extra.end() && batch[1] == "1";
    argv.insert(argv.end(), {"--micro-batch", batches_of_one ? "1" : "2"});
  }
  // The built-in yolov8n with random weights unless a test names a model: these tests check the
  // pipeline, not the detector, and its file names (M_yolov8n_P_...) stay put. The bundled default
  // detector has tests of its own (AccuracyRun, the default job).
  if (std::find(extra.begin(), extra.end(), "--model") == extra.end()) {
    argv.insert(argv.end(), {"--model", "yolov8n"});
  }
  // fp32 unless a test names a precision: --precision auto calibrates int8 and times both
  // precisions at every start with random weights (nothing to cache); it has tests of its own
  // (PrecisionAuto.*, the default job).
  if (std::find(extra.begin(), extra.end(), "--precision") == extra.end()) {
    argv.insert(argv.end(), {"--precision", "fp32"});
  }
  // LibTorch's float32 kernels unless a test names others: --fp32-kernels auto builds the oneDNN
  // plans and times three kernels at every start, and the plans cover the built-in YOLOv8 only
  // (other models, --split-point). The plans have tests of their own (Fp32KernelsRun.*, the
  // engine's YoloV8OneDnn* and Fp32Kernels.*), and the default job's test runs auto.
  if (std::find(extra.begin(), extra.end(), "--fp32-kernels") == extra.end()) {
    argv.insert(argv.end(), {"--fp32-kernels", "libtorch"});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string synthetic_uri(int width, int height, int frames, int seed, int fps, int objects) {
  return fmt::format("synthetic:?width={}&height={}&fps={}&objects={}&seed={}&frames={}", width,
                     height, fps, objects, seed, frames);
}

std::vector<std::string> error_lines(const CommandResult& result) {
  std::vector<std::string> lines;
  for (auto& line : split_lines(result.err))
    if (line.rfind("streaminfer: error: ", 0) == 0) lines.push_back(std::move(line));
  return lines;
}

std::string check_error_line(const CommandResult& result, const std::vector<std::string>& names,
                             bool only_line) {
  auto errors = error_lines(result);
  if (errors.size() != 1)
    return fmt::format(
        "expected exactly one stderr line starting with \"streaminfer: error: \", "
        "found {}",
        errors.size());
  for (const auto& name : names) {
    if (errors[0].find(name) == std::string::npos)
      return fmt::format("the error line does not name \"{}\": {}", name, errors[0]);
  }
  for (const auto& line : non_empty_lines(result.err)) {
    if (only_line && line != errors[0])
      return fmt::format("stderr has more than the one error line, e.g.: {}", line);
    if (!only_line && line.rfind("streaminfer: ", 0) != 0)
      return fmt::format("stderr has a line that is not streaminfer's own: {}", line);
  }
  return {};
}

// streaminfer's outputs ----------------------------------------------------------------------

namespace {

bool is_int(const nlohmann::json& j) { return j.is_number_integer(); }

// Empty when `d` is a valid detection, else what is wrong with it.
std::string parse_detection(const nlohmann::json& d, Detection& out) {
  if (!d.is_object()) return "a detection is not an object";
  for (const char* key : {"box", "score", "class", "label"})
    if (!d.contains(key)) return fmt::format("a detection has no \"{}\"", key);
  const auto& box = d["box"];
  if (!box.is_array() || box.size() != 4) return "\"box\" is not an array of 4";
  for (size_t i = 0; i < 4; ++i) {
    if (!box[i].is_number()) return "\"box\" has a value that is not a number";
    out.box[i] = box[i].get<double>();
  }
  if (!(out.box[0] <= out.box[2] && out.box[1] <= out.box[3]))
    return fmt::format("\"box\" [{}, {}, {}, {}] has x1 > x2 or y1 > y2", out.box[0], out.box[1],
                       out.box[2], out.box[3]);
  if (!d["score"].is_number()) return "\"score\" is not a number";
  out.score = d["score"].get<double>();
  if (!(out.score >= 0 && out.score <= 1))
    return fmt::format("\"score\" {} outside [0, 1]", out.score);
  if (!is_int(d["class"]) || d["class"].get<int64_t>() < 0)
    return "\"class\" is not an integer >= 0";
  out.cls = d["class"].get<int64_t>();
  if (!d["label"].is_string()) return "\"label\" is not a string";
  out.label = d["label"].get<std::string>();
  return {};
}

std::string parse_frame(const std::string& line, FrameResult& out) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const std::exception& e) {
    return std::string("not JSON: ") + e.what();
  }
  if (!j.is_object()) return "not a JSON object";
  for (const char* key : {"stream", "frame", "pts", "detections"})
    if (!j.contains(key)) return fmt::format("no \"{}\"", key);
  if (!is_int(j["stream"]) || j["stream"].get<int64_t>() < 0)
    return "\"stream\" is not an integer >= 0";
  if (!is_int(j["frame"]) || j["frame"].get<int64_t>() < 0)
    return "\"frame\" is not an integer >= 0";
  if (!j["pts"].is_number()) return "\"pts\" is not a number";
  if (!j["detections"].is_array()) return "\"detections\" is not an array";
  out.stream = j["stream"].get<int64_t>();
  out.frame = j["frame"].get<int64_t>();
  out.pts = j["pts"].get<double>();
  for (const auto& d : j["detections"]) {
    Detection det;
    if (std::string e = parse_detection(d, det); !e.empty()) return e;
    out.detections.push_back(std::move(det));
  }
  return {};
}

}  // namespace

JsonlFile parse_jsonl(const fs::path& path) {
  JsonlFile file;
  if (!fs::exists(path)) {
    file.errors.push_back(path.string() + " does not exist");
    return file;
  }
  const std::string text = read_file(path);
  if (!text.empty() && text.back() != '\n')
    file.errors.push_back("the file does not end with a newline (last line cut short?)");
  auto lines = split_lines(text);
  file.lines = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    FrameResult frame;
    if (std::string e = parse_frame(lines[i], frame); !e.empty()) {
      file.errors.push_back(fmt::format("line {}: {}: {}", i + 1, e, lines[i].substr(0, 200)));
    } else {
      file.frames.push_back(std::move(frame));
    }
  }
  return file;
}

std::vector<const FrameResult*> frames_of(const JsonlFile& file, int64_t stream) {
  std::vector<const FrameResult*> frames;
  for (const auto& f : file.frames)
    if (f.stream == stream) frames.push_back(&f);
  return frames;
}

std::string check_frame_indices(const JsonlFile& file, int64_t stream, int64_t expected) {
  std::map<int64_t, int> seen;
  for (const auto* f : frames_of(file, stream)) ++seen[f->frame];
  const int64_t n = expected >= 0 ? expected : static_cast<int64_t>(seen.size());
  std::vector<std::string> problems;
  int64_t missing = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (seen.count(i) == 0) {
      if (++missing <= 10) problems.push_back(fmt::format("frame {} missing", i));
    }
  }
  if (missing > 10) problems.push_back(fmt::format("... {} frames missing in all", missing));
  for (const auto& [index, count] : seen) {
    if (count > 1) problems.push_back(fmt::format("frame {} appears {} times", index, count));
    if (index >= n)
      problems.push_back(fmt::format("frame {} is beyond the expected 0..{}", index, n - 1));
    if (problems.size() > 20) break;
  }
  if (problems.empty()) return {};
  std::string text = fmt::format("stream {} ({} lines): ", stream, frames_of(file, stream).size());
  for (size_t i = 0; i < problems.size(); ++i) text += (i ? "; " : "") + problems[i];
  return text;
}

CsvFile read_csv(const fs::path& path) {
  CsvFile csv;
  auto lines = read_lines(path);
  if (lines.empty()) return csv;
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    size_t begin = 0;
    for (;;) {
      size_t comma = line.find(',', begin);
      cells.push_back(
          line.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
    return cells;
  };
  csv.header = lines[0];
  csv.columns = split(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    csv.rows.push_back(split(lines[i]));
  }
  return csv;
}

}  // namespace streaminfer::test
