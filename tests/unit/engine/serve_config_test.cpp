#include "service/serve_config.h"
#include "config/run_option_table.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace streaminfer {
namespace {

std::string write_config(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(ServeConfig, RunKeysSourcesAndStreamsAreRead) {
  const auto path = write_config("streaminfer_serve_config.yaml", R"(
batch-size: 2
source: "synthetic:?seed=1"
streams:
  - "synthetic:?seed=2"
  - uri: "synthetic:?seed=3"
    name: yard
    every_nth: 2
    sample_fps: 5
)");
  auto config = load_serve_config(path);
  ASSERT_TRUE(config) << config.status().message();
  EXPECT_EQ(config.value().run.batch_size, 2);
  EXPECT_EQ(config.value().run.config, path);
  ASSERT_EQ(config.value().streams.size(), 3u);
  EXPECT_EQ(config.value().streams[0].uri, "synthetic:?seed=1");
  EXPECT_EQ(config.value().streams[1].uri, "synthetic:?seed=2");
  EXPECT_EQ(config.value().streams[2].name, "yard");
  EXPECT_EQ(config.value().streams[2].every_nth, 2);
  EXPECT_DOUBLE_EQ(config.value().streams[2].sample_fps, 5);
  // Nothing but streams: a service may start with none.
  EXPECT_TRUE(load_serve_config(write_config("streaminfer_serve_empty.yaml", "streams: []\n")));
}

TEST(ServeConfig, MistakesNameTheFileAndTheEntry) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"streams: 5\n", "must be a list"},
      {"streams:\n  - uri: \"synthetic:\"\n    colour: red\n", "unknown key 'colour'"},
      {"streams:\n  - name: a\n", "'uri' is missing"},
      {"streams:\n  - uri: \"synthetic:\"\n    every_nth: x\n", "wrong type"},
      {"streams:\n  - /no/such.mp4\n", "no such file"},
      {"streams:\n  - uri: \"synthetic:\"\n    name: a\n  - uri: \"synthetic:?seed=2\"\n    name: "
       "a\n",
       "listed twice"},
      {"batch-size: 0\nstreams: []\n", ""},
      {"unknown-key: 1\n", "unknown key 'unknown-key'"},
  };
  for (const auto& [text, expected] : cases) {
    auto config = load_serve_config(write_config("streaminfer_serve_bad.yaml", text));
    if (expected.empty()) continue;  // a value out of range is validate()'s, later
    ASSERT_FALSE(config) << text;
    EXPECT_NE(config.status().message().find("streaminfer_serve_bad.yaml"), std::string::npos);
    EXPECT_NE(config.status().message().find(expected), std::string::npos)
        << config.status().message();
  }
}

TEST(ServeConfig, AReloadPlansWhatChangedByStreamKey) {
  ServeConfig before, after;
  StreamSpec kept = "synthetic:?seed=1";
  StreamSpec renamed;
  renamed.uri = "synthetic:?seed=2";
  renamed.name = "door";
  StreamSpec gone;
  gone.uri = "synthetic:?seed=3";
  gone.name = "yard";
  before.streams = {kept, renamed, gone};
  StreamSpec door_moved = renamed;
  door_moved.uri = "synthetic:?seed=9";
  StreamSpec fresh;
  fresh.uri = "synthetic:?seed=4";
  fresh.name = "gate";
  after.streams = {kept, door_moved, fresh};
  after.run.batch_size = before.run.batch_size + 1;
  const ReloadPlan plan = plan_reload(before, after);
  ASSERT_EQ(plan.added.size(), 1u);
  EXPECT_EQ(plan.added[0].name, "gate");
  ASSERT_EQ(plan.changed.size(), 1u);
  EXPECT_EQ(plan.changed[0].uri, "synthetic:?seed=9");
  EXPECT_EQ(plan.removed, std::vector<std::string>{"yard"});
  EXPECT_EQ(plan.needs_restart, std::vector<std::string>{"batch-size"});
  EXPECT_TRUE(plan.model_changed.empty());
  EXPECT_TRUE(plan_reload(before, before).empty());
}

TEST(ServeConfig, TheKeysThatPickTheModelAreAppliedAndTheOthersWaitForARestart) {
  ServeConfig before, after;
  after.run.model = "resnet18";
  after.run.precision = "int8";
  after.run.imgsz = 256;
  after.run.threads = 1;
  after.run.device = "cuda";
  const ReloadPlan plan = plan_reload(before, after);
  EXPECT_EQ(plan.model_changed, (std::vector<std::string>{"model", "imgsz", "precision"}));
  // The pipeline's threads and queues are planned for these.
  EXPECT_EQ(plan.needs_restart, (std::vector<std::string>{"threads", "device"}));
  EXPECT_FALSE(plan.empty());
  // copy_run_option moves one key's value, whatever its type.
  RunOptions running;
  copy_run_option(*find_run_option("imgsz"), after.run, running);
  copy_run_option(*find_run_option("model"), after.run, running);
  EXPECT_EQ(running.imgsz, 256);
  EXPECT_EQ(running.model, "resnet18");
  EXPECT_EQ(running.precision, before.run.precision);
}

}  // namespace
}  // namespace streaminfer
