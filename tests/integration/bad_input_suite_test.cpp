// The bad-input suite: one row per bad input or fault a user can give any command, each run as
// its own test. A row is a command line, the exit code it must give, and what its one error
// line (or a warning) must say. Every row is also checked for what no input may cause:
//   - death by a signal (a crash) or a hang;
//   - a changed input: every file given to the command, and every shared fixture, has the same
//     bytes before and after (checksums);
//   - an invalid output: whatever the command wrote is valid for its kind (JSON Lines without
//     null, CSVs with their header and whole rows, JSON that parses; output_checks.h).
// Principles (issue "No crash, no hang, no destroyed file"): a model's output is checked against
// its batch; non-finite values and impossible scores are said, never written; no output may be
// another output or an input; outputs are checked for writability before any work; an explicit
// empty camera list is an error; one option table for flags and YAML.
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "output_checks.h"
#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

// Shared inputs, made once for every process of the suite (each row runs in its own process):
// a short clip, a weights file, two images, a finished run's metrics folder and, with PyTorch,
// broken TorchScript detectors (tests/scripts/make_bad_models.py).
struct Fixtures {
  fs::path dir;  // everything below is inside: checksummed before and after each row
  fs::path clip, weights, images, metrics;
  bool bad_models = false;
};

std::string fixture_problem;  // why the fixtures could not be made (the rows then fail)

void make_fixtures(const Fixtures& f) {
  fs::create_directories(f.images);
  ClipSpec spec;
  spec.seconds = 1;
  spec.fps = 10;
  spec.width = 160;
  spec.height = 120;
  if (std::string e = make_test_clip(f.clip, spec); !e.empty()) {
    fixture_problem = "clip: " + e;
    return;
  }
  fs::copy_file(fs::path(STREAMINFER_TEST_MODELS) / "yolov8n-shapes-320.pt", f.weights,
                fs::copy_options::overwrite_existing);
  const CommandResult images = run_command(
      {ffmpeg_path().string(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
       "testsrc=size=160x120:rate=1", "-frames:v", "2", (f.images / "image_%d.png").string()});
  if (images.exit_code != 0) {
    fixture_problem = "images: " + images.describe();
    return;
  }
  const CommandResult run =
      run_command({streaminfer_bin(), "run", "--source", f.clip.string(), "--model", "yolov8n",
                   "--imgsz", "320", "--threads", "2", "--micro-batch", "1", "--warmup", "0",
                   "--no-progress", "--metrics-dir", f.metrics.string()});
  if (run.exit_code != 0) {
    fixture_problem = "metrics: " + run.describe();
    return;
  }
  if (python_has_torch(STREAMINFER_TEST_PYTHON)) {
    const CommandResult made =
        run_command({STREAMINFER_TEST_PYTHON,
                     std::string(STREAMINFER_TEST_SCRIPTS) + "/make_bad_models.py", f.dir.string()},
                    std::chrono::seconds(300));
    if (made.exit_code != 0) fixture_problem = "bad models: " + made.describe();
  }
}

const Fixtures& fixtures() {
  static const Fixtures f = [] {
    Fixtures made;
    made.dir = STREAMINFER_TEST_FIXTURES;
    made.clip = made.dir / "clip.mp4";
    made.weights = made.dir / "weights.pt";
    made.images = made.dir / "images";
    made.metrics = made.dir / "metrics";
    fs::create_directories(made.dir);
    // Processes of the suite run side by side: the first makes the fixtures, the others wait.
    const std::string lock_path = (made.dir.parent_path() / "fixtures.lock").string();
    const int lock = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    ::flock(lock, LOCK_EX);
    // Made again when streaminfer was rebuilt: the metrics folder is its output.
    const fs::path ready = made.dir.parent_path() / "fixtures.ready";
    std::error_code ec;
    if (!fs::exists(ready) ||
        fs::last_write_time(ready, ec) < fs::last_write_time(streaminfer_bin(), ec)) {
      fs::remove_all(made.dir);
      fs::create_directories(made.dir);
      make_fixtures(made);
      if (fixture_problem.empty()) write_file(ready, "");
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
    made.bad_models = fs::exists(made.dir / "fixed_batch.pt");
    return made;
  }();
  return f;
}

const std::string kSource = "synthetic:?width=160&height=120&frames=4";

struct RowDirs {
  fs::path in;   // inputs this row writes for itself (configs, copies), checksummed too
  fs::path out;  // where the row's outputs go, checked for validity
};

struct Row {
  Row(std::string row_name, std::vector<std::string> command, int code, std::string error_text = {})
      : name(std::move(row_name)),
        argv(std::move(command)),
        exit_code(code),
        error(std::move(error_text)) {}
  // A substring stderr must hold (a warning).
  Row& warns(std::string text) {
    stderr_has = std::move(text);
    return *this;
  }
  // Writes the row's own inputs before it runs.
  Row& given(std::function<void(const RowDirs&)> make) {
    setup = std::move(make);
    return *this;
  }
  Row& with_bad_models() {
    needs_bad_models = true;
    return *this;
  }
  Row& stdout_jsonl() {
    stdout_is_jsonl = true;
    return *this;
  }

  std::string name;
  // {bin}: streaminfer, {fx}: the shared fixtures, {in} / {out}: the row's own folders.
  std::vector<std::string> argv;
  int exit_code = 0;
  std::string error;  // substring of the one "streaminfer: error:" line; empty: none
  std::string stderr_has;
  std::function<void(const RowDirs&)> setup;
  bool needs_bad_models = false;
  bool stdout_is_jsonl = false;  // `--output -`: stdout carries JSON Lines only
};

// A run that ends in seconds: four frames of a small synthetic camera (unless `extra` gives
// sources), the built-in yolov8n (random weights) at 320, no measuring at load.
std::vector<std::string> quick_run(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"{bin}", "run", "--warmup", "0", "--no-progress"};
  const std::pair<const char*, std::string> defaults[] = {{"--source", kSource},
                                                          {"--model", "yolov8n"},
                                                          {"--imgsz", "320"},
                                                          {"--threads", "2"},
                                                          {"--micro-batch", "1"}};
  for (const auto& [flag, value] : defaults) {
    if (std::find(extra.begin(), extra.end(), flag) == extra.end()) {
      argv.insert(argv.end(), {flag, value});
    }
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// The same for a TorchScript detector of the fixtures, in batches of 2 over two cameras.
std::vector<std::string> model_run(const std::string& model) {
  return {"{bin}",          "run",
          "--source",       "synthetic:?width=160&height=120&frames=4&seed=1",
          "--source",       "synthetic:?width=160&height=120&frames=4&seed=2",
          "--model",        "{fx}/" + model,
          "--imgsz",        "320",
          "--threads",      "2",
          "--batch-size",   "2",
          "--micro-batch",  "2",
          "--warmup",       "0",
          "--pace",         "max",
          "--no-progress",  "--output",
          "{out}/det.jsonl"};
}

std::function<void(const RowDirs&)> writes(const std::string& name, const std::string& text) {
  return [name, text](const RowDirs& d) { write_file(d.in / name, text); };
}

std::vector<Row> rows() {
  const auto config = [](const std::string& text) { return writes("job.yaml", text); };
  const std::vector<std::string> run_config = {"{bin}", "run", "--config", "{in}/job.yaml"};
  const std::string sources = "source: ['" + kSource + "']\n";
  std::vector<Row> r;
  // Models that break the output contract.
  r.push_back(Row("ModelIgnoringItsBatchIsRefusedAtLoad", model_run("fixed_batch.pt"), 2,
                  "[1, 8, 2100] for a batch of 2")
                  .with_bad_models());
  r.push_back(Row("AnnotateWithAModelIgnoringItsBatch",
                  {"{bin}", "annotate", "-i", "{fx}/images", "-o", "{out}/drawn", "--model",
                   "{fx}/fixed_batch.pt", "--input-size", "320", "--batch-size", "2", "--threads",
                   "2", "--micro-batch", "2"},
                  2, "does not follow the input's batch size")
                  .with_bad_models());
  r.push_back(Row("NanOutputIsSaidAndNeverWritten", model_run("nan.pt"), 0)
                  .warns("NaN or infinite value(s)")
                  .with_bad_models());
  r.push_back(Row("InfiniteBoxesAreSaidAndNeverWritten", model_run("inf_box.pt"), 0)
                  .warns("NaN or infinite value(s)")
                  .with_bad_models());
  r.push_back(Row("ScoresOutsideZeroOneNameTheMissingSigmoid", model_run("no_sigmoid.pt"), 0)
                  .warns("without the sigmoid")
                  .with_bad_models());
  r.push_back(Row("TorchScriptErrorKeepsTheModelsOwnReason", model_run("raises.pt"), 2,
                  "RuntimeError: shape '[7, 13]' is invalid")
                  .with_bad_models());
  r.push_back(Row("ModelFileThatIsAVideo", quick_run({"--model", "{fx}/clip.mp4"}), 2, "clip.mp4"));
  r.push_back(
      Row("WeightsFileThatIsAVideo", quick_run({"--weights", "{fx}/clip.mp4"}), 2, "clip.mp4"));
  // Outputs that are inputs or other outputs.
  r.push_back(Row("OutputNamingTheSourceIsRefused",
                  quick_run({"--source", "{fx}/clip.mp4", "--output", "{fx}/clip.mp4"}), 2,
                  "same file"));
  r.push_back(Row("TraceNamingTheSourceIsRefused",
                  quick_run({"--source", "{fx}/clip.mp4", "--trace", "{fx}/clip.mp4"}), 2,
                  "--trace"));
  r.push_back(Row("OutputNamingTheWeightsIsRefused",
                  quick_run({"--model", "yolov8n-shapes", "--weights", "{fx}/weights.pt",
                             "--output", "{fx}/weights.pt"}),
                  2, "--weights"));
  r.push_back(Row("OutputEqualToTraceIsRefused",
                  quick_run({"--output", "{out}/same.json", "--trace", "{out}/same.json"}), 2,
                  "each would overwrite the other"));
  r.push_back(Row("OutputThroughASymlinkToTheSourceIsRefused",
                  quick_run({"--source", "{fx}/clip.mp4", "--output", "{in}/link.jsonl"}), 2,
                  "same file")
                  .given([](const RowDirs& d) {
                    fs::create_symlink(fixtures().clip, d.in / "link.jsonl");
                  }));
  r.push_back(Row("OutputNamingTheConfigIsRefused",
                  {"{bin}", "run", "--config", "{in}/job.yaml", "--output", "{in}/job.yaml"}, 2,
                  "--config")
                  .given(config(sources)));
  r.push_back(Row("MetricsDirThatIsAFile", quick_run({"--metrics-dir", "{fx}/clip.mp4"}), 2,
                  "not a folder"));
  r.push_back(Row("OutputUnderAFileFailsBeforeTheModelLoads",
                  quick_run({"--output", "{fx}/clip.mp4/det.jsonl"}), 2, "det.jsonl"));
  r.push_back(Row("RetrainSaveThatCannotBeWrittenFailsBeforeTraining",
                  quick_run({"--mode", "retrain", "--retrain-save", "/proc/streaminfer/tuned.pt"}),
                  2, "--retrain-save"));
  r.push_back(Row("RetrainSaveOverTheWeightsIsRefused",
                  quick_run({"--model", "yolov8n-shapes", "--weights", "{fx}/weights.pt", "--mode",
                             "retrain", "--retrain-save", "{fx}/weights.pt"}),
                  2, "--retrain-save"));
  r.push_back(Row("AnnotateIntoItsInputFolderIsRefused",
                  {"{bin}", "annotate", "-i", "{fx}/images", "-o", "{fx}/images"}, 2,
                  "input folder"));
  r.push_back(Row("ReportOverItsOwnMetricsCsvIsRefused",
                  {"{bin}", "report", "{in}/metrics", "-o", "{in}/metrics/M.csv"}, 2, "report -o")
                  .given([](const RowDirs& d) {
                    fs::copy(fixtures().metrics, d.in / "metrics");
                    for (const auto& e : fs::directory_iterator(d.in / "metrics")) {
                      if (e.path().filename().string().rfind("M_", 0) == 0) {
                        fs::create_hard_link(e.path(), d.in / "metrics" / "M.csv");
                      }
                    }
                  }));
  r.push_back(Row("ReportReadsAMetricsFolderWithACutOffLastLine",
                  {"{bin}", "report", "{in}/metrics", "-o", "{out}/report.html"}, 0)
                  .warns("skipped 1")
                  .given([](const RowDirs& d) {
                    fs::copy(fixtures().metrics, d.in / "metrics");
                    for (const auto& e : fs::directory_iterator(d.in / "metrics")) {
                      if (e.path().filename().string().rfind("F_", 0) != 0) continue;
                      const std::string text = read_file(e.path());
                      write_file(e.path(), text.substr(0, text.size() - 7));  // a killed writer
                    }
                  }));
  r.push_back(Row("ExtractFramesIntoAFile",
                  {"{bin}", "extract-frames", "-i", "{fx}/clip.mp4", "-o", "{fx}/clip.mp4"}, 2,
                  "same file"));
  r.push_back(Row("BenchOutputDirThatIsAFile",
                  {"{bin}", "bench", "postprocess", "--output-dir", "{fx}/clip.mp4", "--reps", "1",
                   "--naive-reps", "1"},
                  2, "not a folder"));
  r.push_back(Row("TrainOutputOverItsInitWeights",
                  {"{bin}", "train", "-o", "{fx}/weights.pt", "--init-weights", "{fx}/weights.pt",
                   "--epochs", "1"},
                  2, "--init-weights"));
  const std::string worker = "    source: '" + kSource + "'\n    output: shared.jsonl\n";
  r.push_back(Row("LaunchWorkersWritingOneOutput",
                  {"{bin}", "launch", "{in}/workers.yaml", "-o", "{out}/launch"}, 2, "same file")
                  .given(writes("workers.yaml",
                                "workers:\n  - name: a\n" + worker + "  - name: b\n" + worker)));
  r.push_back(Row("LaunchWorkerOutputOverTheWorkersFile",
                  {"{bin}", "launch", "{in}/workers.yaml", "-o", "{out}/launch"}, 2, "workers file")
                  .given([](const RowDirs& d) {
                    write_file(
                        d.in / "workers.yaml",
                        fmt::format("workers:\n  - name: a\n    source: '{}'\n    output: {}\n",
                                    kSource, (d.in / "workers.yaml").string()));
                  }));
  // Configuration: one option table for flags and YAML; only a run given nothing is the demo.
  r.push_back(Row("EmptyConfigIsAnErrorNotTheDemo", run_config, 2, "empty")
                  .given(config("# nothing yet\n")));
  r.push_back(Row("EmptySourceListIsAnErrorNotTheDemo", run_config, 2, "empty list")
                  .given(config("source: []\nbatch-size: 2\n")));
  r.push_back(Row("ConfigWithoutSourcesIsAnErrorNotTheDemo", run_config, 2, "lists no source")
                  .given(config("batch-size: 2\n")));
  r.push_back(Row("DuplicateYamlKey", run_config, 2, "appears twice")
                  .given(config(sources + "batch-size: 2\nbatch-size: 4\n")));
  r.push_back(Row("SameOptionUnderTwoSpellings", run_config, 2, "set twice")
                  .given(config(sources + "batch_size: 2\nbatch-size: 4\n")));
  r.push_back(
      Row("UnknownYamlKey", run_config, 2, "batchsiz").given(config(sources + "batchsiz: 2\n")));
  r.push_back(Row("YamlValueOfTheWrongType", run_config, 2, "wrong type")
                  .given(config(sources + "batch-size: [1, 2]\n")));
  r.push_back(Row("DocumentedFlagWorksAsYamlKey",
                  {"{bin}", "run", "--config", "{in}/job.yaml", "--output", "{out}/det.jsonl"}, 0)
                  .given(config(sources + "model: yolov8n\nimgsz: 320\nthreads: 2\nmicro-batch: 1\n"
                                          "warmup: 0\nno-progress: true\n")));
  r.push_back(Row("MicroBatchLargerThanTheBatch",
                  quick_run({"--micro-batch", "16", "--batch-size", "2"}), 2, "--micro-batch 16"));
  r.push_back(Row("ThreadsNoMachineHas", quick_run({"--threads", "100000"}), 2, "--threads"));
  r.push_back(Row("ThreadsAboveTheCoresAreWarnedAbout",
                  quick_run({"--threads", std::to_string(std::thread::hardware_concurrency() + 1)}),
                  0)
                  .warns("threads beyond that"));
  r.push_back(Row("ImgszNotAMultipleOf32", quick_run({"--imgsz", "33"}), 2, "--imgsz 33"));
  r.push_back(Row("AFlagGivenTwice", quick_run({"--batch-size", "2", "--batch-size", "4"}), 2,
                  "--batch-size is given 2 times"));
  r.push_back(Row("EmptySourceString", quick_run({"--source", ""}), 2, "--source"));
  r.push_back(Row("AnnotateRunsWithItsDefaults",
                  {"{bin}", "annotate", "-i", "{fx}/images", "-o", "{out}/drawn", "--threads", "2",
                   "--micro-batch", "1"},
                  0));
  r.push_back(Row("AnnotateRefusesAClassifier",
                  {"{bin}", "annotate", "-i", "{fx}/images", "-o", "{out}/drawn", "--model",
                   "resnet18", "--imgsz", "64", "--threads", "2", "--micro-batch", "1"},
                  2, "classifier"));
  // Outputs on stdout: only data.
  r.push_back(Row("StdoutCarriesOnlyDetections", quick_run({"--output", "-"}), 0).stdout_jsonl());
  // Sources.
  r.push_back(
      Row("MissingSourceFile", quick_run({"--source", "{in}/absent.mp4"}), 1, "absent.mp4"));
  r.push_back(Row("DeadCameraBesideAGoodStream",
                  quick_run({"--source", "rtsp://127.0.0.1:1/cam", "--source", kSource, "--output",
                             "{out}/det.jsonl"}),
                  0, "rtsp://127.0.0.1:1/cam"));
  return r;
}

// Test names and failure messages show the row's name, not its bytes.
void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

std::string substitute(const std::string& arg, const RowDirs& d) {
  std::string out = arg;
  const std::pair<std::string, std::string> keys[] = {{"{bin}", streaminfer_bin()},
                                                      {"{fx}", fixtures().dir.string()},
                                                      {"{in}", d.in.string()},
                                                      {"{out}", d.out.string()}};
  for (const auto& [key, value] : keys) {
    for (size_t at = out.find(key); at != std::string::npos; at = out.find(key, at)) {
      out.replace(at, key.size(), value);
      at += value.size();
    }
  }
  return out;
}

class BadInputSuite : public ::testing::TestWithParam<Row> {};

TEST_P(BadInputSuite, ExitsAsDocumentedChangesNoInputAndLeavesValidOutputs) {
  const Row& row = GetParam();
  const Fixtures& fx = fixtures();
  ASSERT_EQ(fixture_problem, "") << "the suite's fixtures could not be made";
  if (row.needs_bad_models && !fx.bad_models) {
    GTEST_SKIP() << STREAMINFER_TEST_PYTHON << " cannot import torch: no TorchScript fixtures";
  }
  TempDir dir("streaminfer_bad_input");
  const RowDirs d{dir / "in", dir / "out"};
  fs::create_directories(d.in);
  fs::create_directories(d.out);
  if (row.setup) row.setup(d);
  const auto fixtures_before = checksum_tree(fx.dir);
  const auto inputs_before = checksum_tree(d.in);

  std::vector<std::string> argv;
  for (const auto& arg : row.argv) argv.push_back(substitute(arg, d));
  const CommandResult r = run_command(argv, std::chrono::seconds(300));

  EXPECT_FALSE(r.timed_out) << r.describe();
  EXPECT_EQ(r.term_signal, 0) << "died by a signal\n" << r.describe();
  EXPECT_EQ(r.exit_code, row.exit_code) << r.describe();
  if (row.error.empty()) {
    EXPECT_TRUE(error_lines(r).empty()) << r.describe();
  } else {
    EXPECT_EQ(check_error_line(r, {row.error}, /*only_line=*/false), "") << r.describe();
  }
  if (!row.stderr_has.empty()) {
    EXPECT_NE(r.err.find(row.stderr_has), std::string::npos) << r.describe();
  }
  EXPECT_EQ(compare_checksums(fixtures_before, checksum_tree(fx.dir)), "") << r.describe();
  EXPECT_EQ(compare_checksums(inputs_before, checksum_tree(d.in)), "") << r.describe();
  EXPECT_EQ(check_outputs_valid(d.out), "") << r.describe();
  if (row.stdout_is_jsonl) {
    EXPECT_EQ(check_jsonl_text(r.out), "") << r.describe();
    EXPECT_GT(r.out.size(), 0u) << r.describe();
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, BadInputSuite, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

}  // namespace
}  // namespace streaminfer::test
