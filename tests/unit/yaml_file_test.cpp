// The YAML loader every command's file goes through (src/config/yaml_file): its messages, and a
// key written twice in one mapping, which yaml-cpp alone would keep silently.
#include "config/yaml_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "config/run_options.h"
#include "launch/worker_config.h"

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

// A file in a fresh temporary directory, both removed on destruction.
struct YamlTempFile {
  fs::path dir;
  fs::path path;
  explicit YamlTempFile(const std::string& text) {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("yaml_file_test_" + std::to_string(rd()));
    fs::create_directories(dir);
    path = dir / "job.yaml";
    std::ofstream(path, std::ios::binary) << text;
  }
  ~YamlTempFile() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string yaml_error(const std::string& text) {
  auto node = parse_yaml_text(text, "job.yaml", "--config");
  return node ? "" : node.status().message();
}

TEST(YamlFile, ParsesTextLikeAFile) {
  auto node = parse_yaml_text("batch-size: 4\nsource: [a, b]\n", "job.yaml", "--config");
  ASSERT_TRUE(node) << node.status().message();
  EXPECT_EQ(node.value()["batch-size"].as<int>(), 4);
  EXPECT_EQ(node.value()["source"].size(), 2u);
}

TEST(YamlFile, DuplicateTopLevelKeyNamesFileKeyAndBothLines) {
  EXPECT_EQ(yaml_error("batch-size: 4\nmodel: yolov8n\n\n# again\nbatch-size: 8\n"),
            "--config 'job.yaml': key 'batch-size' appears twice (lines 1 and 5); keep one");
  EXPECT_EQ(yaml_error("{conf: 0.5, conf: 0.6}"),
            "--config 'job.yaml': key 'conf' appears twice (line 1); keep one");
  // Quoting does not make it another key: every reader takes keys as strings.
  EXPECT_NE(yaml_error("threads: 2\n'threads': 3\n").find("key 'threads' appears twice"),
            std::string::npos);
}

TEST(YamlFile, DuplicateKeyInsideAListOfMaps) {
  const std::string workers =
      "workers:\n"
      "  - name: lobby\n"
      "    core-bind: 0\n"
      "  - name: parking\n"
      "    source: rtsp://cam/1\n"
      "    batch-size: 2\n"
      "    batch-size: 4\n";
  EXPECT_EQ(yaml_error(workers),
            "--config 'job.yaml': key 'batch-size' appears twice (lines 6 and 7); keep one");
  EXPECT_NE(yaml_error("a:\n  b:\n    - {x: 1, y: 2, x: 3}\n").find("key 'x' appears twice"),
            std::string::npos);
}

TEST(YamlFile, SameKeyInDifferentMapsIsFine) {
  EXPECT_EQ(yaml_error("workers:\n"
                       "  - name: lobby\n"
                       "    batch-size: 2\n"
                       "  - name: parking\n"
                       "    batch-size: 4\n"
                       "name: top\n"
                       "nested: {name: inner, list: [{name: a}, {name: b}]}\n"),
            "");
  // A mapping used through aliases many times is still one mapping.
  EXPECT_EQ(yaml_error("base: &b {model: yolov8n, conf: 0.3}\none: *b\ntwo: *b\n"), "");
}

// Found by fuzz_run_config and fuzz_launch_file: Node::as<std::string>() on such a key threw out
// of load_run_options_yaml and load_workers (an uncaught exception: the command crashed).
TEST(YamlFile, KeyThatIsAListOrAMappingIsAnError) {
  EXPECT_EQ(yaml_error("threads: 2\n? [a, b]\n: 1\n"),
            "--config 'job.yaml': the key at line 2 is a list or a mapping; use a plain name");
  EXPECT_NE(yaml_error("{threads: 2, {c: 1}: 4}").find("the key at line 1 is a list or a mapping"),
            std::string::npos);
  EXPECT_NE(yaml_error("list: &l [1]\nw:\n  - *l : 2\n").find("the key at line 3"),
            std::string::npos);
  EXPECT_EQ(yaml_error("key: [a, {b: [c]}]\n"), "");  // lists and mappings as values are fine

  YamlTempFile config("{threads: 2, [warmup]: 10}: 4\n");
  RunOptions options;
  const Status loaded = load_run_options_yaml(config.path.string(), options);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.message().find("is a list or a mapping"), std::string::npos);

  YamlTempFile launch("- name: a\n  ? model\n  : x\n  ? {mode: 1}\n  : 2\n");
  auto workers = load_workers(launch.path.string(), launch.dir / "out");
  ASSERT_FALSE(workers);
  EXPECT_EQ(workers.status().message(), "launch '" + launch.path.string() +
                                            "': the key at line 4 is a list or a mapping; use a "
                                            "plain name");
}

TEST(YamlFile, AliasOfAKeySeenBeforeIsADuplicate) {
  EXPECT_NE(yaml_error("&k model: a\n*k : b\n").find("key 'model' appears twice"),
            std::string::npos);
}

TEST(YamlFile, EmptyOrCommentOnlyTextIsNull) {
  for (const char* text : {"", "\n\n", "# nothing here\n  \n# still nothing\n"}) {
    auto node = parse_yaml_text(text, "job.yaml", "--config");
    ASSERT_TRUE(node) << node.status().message();
    EXPECT_TRUE(node.value().IsNull()) << text;
  }
}

TEST(YamlFile, FileMessagesNameTheFile) {
  auto missing = load_yaml_file("no/such/job.yaml", "--config");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().message(), "--config: file 'no/such/job.yaml' not found");

  YamlTempFile invalid("a: [1, 2\nb: 3\n");
  auto parsed = load_yaml_file(invalid.path.string(), "launch");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.status().message().rfind(
                "launch '" + invalid.path.string() + "': invalid YAML at line ", 0),
            0u)
      << parsed.status().message();

  YamlTempFile twice("warmup: 1\nwarmup: 2\n");
  auto duplicate = load_yaml_file(twice.path.string(), "--config");
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.status().message(), "--config '" + twice.path.string() +
                                              "': key 'warmup' appears twice (lines 1 and 2); "
                                              "keep one");

  auto directory = load_yaml_file(twice.dir.string(), "--config");
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.status().message().find("cannot read"), std::string::npos);

  YamlTempFile empty("# only a comment\n");
  auto null = load_yaml_file(empty.path.string(), "--config");
  ASSERT_TRUE(null) << null.status().message();
  EXPECT_TRUE(null.value().IsNull());
}

// The two readers of user YAML reject a repeated key through the loader.
TEST(YamlFile, RunConfigAndLaunchFileRejectRepeatedKeys) {
  YamlTempFile config("batch-size: 4\nmodel: yolov8n\nbatch-size: 8\n");
  RunOptions options;
  const Status loaded = load_run_options_yaml(config.path.string(), options);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.message().find("key 'batch-size' appears twice (lines 1 and 3)"),
            std::string::npos)
      << loaded.message();

  YamlTempFile launch("workers:\n  - name: a\n    warmup: 1\n    warmup: 2\n");
  auto workers = load_workers(launch.path.string(), launch.dir / "out");
  ASSERT_FALSE(workers);
  EXPECT_EQ(workers.status().message(), "launch '" + launch.path.string() +
                                            "': key 'warmup' appears twice (lines 3 and 4); "
                                            "keep one");
}

}  // namespace
}  // namespace streaminfer
