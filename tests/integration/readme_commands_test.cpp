// Every command line of the README's code blocks runs here, in the README's order, in one
// folder (so `report out/` reads what `run --metrics-dir out/` wrote, and `annotate -i frames/`
// what `extract-frames` wrote), and must exit 0. A README command that this test does not know
// fails it: whoever adds an example says here how it runs on a test machine.
// Each is run as written, but for (a) the inputs the README assumes (a.mp4, the cameras at
// 10.0.0.x, a broker on 1883, job.yaml), which become local ones, and (b) sizes that make it
// long (the default job's 300 frames a camera, 24 training epochs), which are cut: both listed
// per command below as text replacements and extra flags.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "etcd_server.h"
#include "mosquitto_broker.h"
#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The command lines of README.md's code blocks that start with `streaminfer` or
// `build/streaminfer` (continuation lines joined, comments dropped).
std::vector<std::string> readme_commands() {
  const auto lines = read_lines(fs::path(STREAMINFER_TEST_SCRIPTS) / ".." / ".." / "README.md");
  std::vector<std::string> commands;
  bool in_block = false;
  std::string pending;
  for (std::string line : lines) {
    if (line.rfind("```", 0) == 0) {
      in_block = !in_block;
      continue;
    }
    if (!in_block) continue;
    if (pending.empty()) {
      const size_t start = line.find_first_not_of(' ');
      if (start == std::string::npos) continue;
      line = line.substr(start);
      if (line.rfind("build/streaminfer ", 0) != 0 && line.rfind("streaminfer ", 0) != 0) continue;
    }
    if (const size_t comment = line.find("  #"); comment != std::string::npos) {
      line = line.substr(0, comment);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    const bool continues = !line.empty() && line.back() == '\\';
    if (continues) line.pop_back();
    const size_t start = line.find_first_not_of(' ');
    if (!pending.empty()) pending += ' ';
    if (start != std::string::npos) pending.append(line, start, std::string::npos);
    while (!pending.empty() && pending.back() == ' ') pending.pop_back();
    if (!continues) {
      commands.push_back(pending);
      pending.clear();
    }
  }
  return commands;
}

// Splits a command line at spaces, with '...' quoting as a shell would.
std::vector<std::string> split_words(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false, any = false;
  for (char c : command) {
    if (c == '\'') {
      quoted = !quoted;
      any = true;
    } else if (c == ' ' && !quoted) {
      if (any) words.push_back(word);
      word.clear();
      any = false;
    } else {
      word += c;
      any = true;
    }
  }
  if (any) words.push_back(word);
  return words;
}

struct HowToRun {
  std::vector<std::pair<std::string, std::string>> replace;  // in the command line, in order
  std::vector<std::string> extra;                            // flags appended
};

const std::string kSmallCamera = "synthetic:?width=320&height=240&frames=8";

// How each README command runs here. {rtsp} and {mqtt_port} are filled in at run time.
std::map<std::string, HowToRun> how_to_run() {
  const std::vector<std::string> quick = {"--imgsz",  "320", "--micro-batch", "1",
                                          "--warmup", "0",   "--no-progress"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  return {
      {"build/streaminfer run", {{}, {"--max-frames", "8", "--micro-batch", "2", "--no-progress"}}},
      {"build/streaminfer run --source a.mp4 --source b.mkv --model yolov8n --batch-size 4 "
       "--max-wait-ms 10 --threads 2 --output det.jsonl --metrics-dir out/",
       {{}, with(quick, {})}},
      {"build/streaminfer run --model yolov8n.torchscript --source "
       "'synthetic:?width=640&height=480&frames=300'",
       {{{"frames=300", "frames=4"}}, with(quick, {"--threads", "2"})}},
      {"build/streaminfer run --config job.yaml --batch-size 8", {{}, with(quick, {})}},
      {"build/streaminfer run --metrics-dir out/ --trace out/run.json --core-bind 0-1",
       {{}, {"--max-frames", "8", "--micro-batch", "2", "--no-progress"}}},
      {"build/streaminfer run --sink mqtt://127.0.0.1:1883/cams/det",
       {{{"1883", "{mqtt_port}"}}, {"--max-frames", "8", "--micro-batch", "2", "--no-progress"}}},
      {"build/streaminfer run --source rtsp://10.0.0.5:554/stream1 --source "
       "rtsp://10.0.0.6:554/stream1 --stall-timeout 5 --sample-fps 5",
       {{{"rtsp://10.0.0.5:554/stream1", "{rtsp}"}, {"rtsp://10.0.0.6:554/stream1", "{rtsp}"}},
        with(quick, {"--max-frames", "20"})}},
      {"build/streaminfer launch workers.yaml -o launch-out/", {{}, {}}},
      {"build/streaminfer run --config cameras.yaml --shard 2/4", {{}, with(quick, {})}},
      {"build/streaminfer report out/ -o report.html", {{}, {}}},
      // A service runs until stopped: here until its third batch (the API has tests of its own).
      {"streaminfer serve --config cameras.yaml --listen 127.0.0.1:8080 --output det.jsonl "
       "--metrics-dir m",
       {{{"127.0.0.1:8080", "127.0.0.1:0"}}, with(quick, {"--max-steps", "3"})}},
      // Fleet workers run until stopped too: here each in turn, until its third batch of the
      // camera the test put in etcd (the fleet has tests of its own: Fleet, FleetMemberTest).
      {"streaminfer serve --fleet etcd://127.0.0.1:2379/site1 --listen 127.0.0.1:8081 &",
       {{{"127.0.0.1:2379", "{etcd}"}, {"127.0.0.1:8081 &", "127.0.0.1:0"}},
        with(quick, {"--max-steps", "3", "--fleet-ttl", "2"})}},
      {"streaminfer serve --fleet etcd://127.0.0.1:2379/site1 --listen 127.0.0.1:8082 &",
       {{{"127.0.0.1:2379", "{etcd}"}, {"127.0.0.1:8082 &", "127.0.0.1:0"}},
        with(quick, {"--max-steps", "3", "--fleet-ttl", "2"})}},
      {"build/streaminfer info", {{}, {}}},
      {"build/streaminfer bench postprocess --model yolov8n",
       {{}, {"--reps", "3", "--naive-reps", "1", "--imgsz", "320", "--forward-reps", "1"}}},
      {"build/streaminfer bench batching",
       {{},
        {"--streams", "1,2", "--batch-sizes", "2", "--frames", "3", "--imgsz", "320", "--warmup",
         "0", "--width", "320", "--height", "240"}}},
      {"build/streaminfer bench model --batch 4",
       {{{"--batch 4", "--batch 2"}},
        {"--imgsz", "64", "--reps", "1", "--warmup", "0", "--accuracy-scenes", "0"}}},
      {"build/streaminfer extract-frames -i video.mp4 -o frames/ --fps 0.5 --prefix shot_ "
       "--format jpg",
       {{{"--fps 0.5", "--fps 5"}}, {}}},
      {"build/streaminfer annotate -i frames/ -o annotated/ --threshold 0.5 --format coco",
       {{}, {"--micro-batch", "1", "--threads", "2"}}},
      {"build/streaminfer train -o my-detector.pt --epochs 24",
       {{{"--epochs 24", "--epochs 1"}},
        {"--steps-per-epoch", "1", "--batch-size", "2", "--val-images", "2", "--input-size", "64",
         "--no-progress"}}},
      {"streaminfer run --mode retrain --metrics-dir out --trace out/trace.json --retrain-save "
       "tuned.pt",
       {{}, {"--max-frames", "4", "--no-progress"}}},
  };
}

TEST(Readme, EveryCommandLineRunsAndExitsZero) {
  TempDir dir("streaminfer_readme");
  const fs::path& here = dir.path();
  // The inputs the README's examples assume, made here.
  ClipSpec clip;
  clip.seconds = 1;
  clip.fps = 10;
  ASSERT_EQ(make_test_clip(here / "a.mp4", clip), "");
  ASSERT_EQ(make_test_clip(here / "b.mkv", clip), "");
  ASSERT_EQ(make_test_clip(here / "video.mp4", clip), "");
  ClipSpec camera_clip;
  camera_clip.seconds = 4;
  ASSERT_EQ(make_test_clip(here / "camera.mp4", camera_clip), "");
  write_file(here / "job.yaml", fmt::format("source: ['{}', '{}']\nmodel: yolov8n\nthreads: 2\n",
                                            kSmallCamera, kSmallCamera + "&seed=2"));
  std::string cameras = "source:\n";
  for (int seed = 1; seed <= 4; ++seed)
    cameras += fmt::format("  - '{}&seed={}'\n", kSmallCamera, seed);
  write_file(here / "cameras.yaml", cameras + "model: yolov8n\nthreads: 2\n");
  write_file(here / "workers.yaml",
             fmt::format("workers:\n  - name: lobby\n    source: ['{}']\n    core-bind: 0\n"
                         "    threads: 1\n    imgsz: 320\n    micro-batch: 1\n    warmup: 0\n"
                         "  - name: parking\n    source: '{}&seed=2'\n    core-bind: 1\n"
                         "    threads: 1\n    imgsz: 320\n    micro-batch: 1\n    warmup: 0\n",
                         kSmallCamera, kSmallCamera));
  const bool have_torch = python_has_torch(STREAMINFER_TEST_PYTHON);
  if (have_torch) {
    const CommandResult made = run_command(
        {STREAMINFER_TEST_PYTHON,
         std::string(STREAMINFER_TEST_SCRIPTS) + "/make_yolov8_torchscript.py", "--scale", "n",
         "--nc", "80", "--imgsz", "320", "--out", (here / "yolov8n.torchscript").string()},
        300s);
    ASSERT_EQ(made.exit_code, 0) << made.describe();
  }
  RtspTestServer camera(here / "camera.mp4", here);
  camera.start();
  MosquittoBroker broker;
  ASSERT_EQ(broker.start(), "");
  EtcdServer etcd;
  ASSERT_EQ(etcd.start(), "");
  const auto put =
      run_command({"/usr/bin/etcdctl", "--endpoints", etcd.endpoint(), "put",
                   "site1/streams/door-1", "synthetic:?width=320&height=240&frames=40"});
  ASSERT_EQ(put.exit_code, 0) << put.describe();

  const auto how = how_to_run();
  const auto commands = readme_commands();
  std::set<std::string> unused;
  for (const auto& [command, ignored] : how) unused.insert(command);
  for (const std::string& command : commands) unused.erase(command);
  EXPECT_TRUE(unused.empty()) << "no longer in the README: " << *unused.begin();
  for (const std::string& command : commands) {
    SCOPED_TRACE(command);
    const auto found = how.find(command);
    ASSERT_NE(found, how.end()) << "a README command this test does not run: add it to "
                                   "how_to_run() with what makes it run here";
    if (command.find(".torchscript") != std::string::npos && !have_torch) continue;
    std::string line = command;
    for (auto [from, to] : found->second.replace) {
      if (to == "{rtsp}") to = camera.url();
      if (to == "{mqtt_port}") to = std::to_string(broker.port());
      if (to == "{etcd}") to = etcd.endpoint().substr(std::string("http://").size());
      const size_t at = line.find(from);
      ASSERT_NE(at, std::string::npos) << from;
      line.replace(at, from.size(), to);
    }
    std::vector<std::string> argv = split_words(line);
    argv[0] = streaminfer_bin();
    argv.insert(argv.end(), found->second.extra.begin(), found->second.extra.end());
    const CommandResult r = run_command(argv, 300s, here);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
  }
}

}  // namespace
}  // namespace streaminfer::test
