#include "config/yaml_file.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "common/text.h"

namespace streaminfer {
namespace {

// Finds the first mapping with a key twice, from the parser's events: anchors and aliases stay
// references there, so a document that aliases one mapping many times is read once (walking the
// loaded Node tree would expand every alias).
class DuplicateKeyFinder : public YAML::EventHandler {
 public:
  struct Duplicate {
    std::string key;
    int first_line = 0;  // 1-based
    int second_line = 0;
  };
  const std::optional<Duplicate>& duplicate() const { return duplicate_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    remember(anchor, "null");  // what yaml-cpp's as<std::string>() gives a null key
    on_node(mark, "null");
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto found = anchors_.find(anchor);
    on_node(mark, found != anchors_.end() ? found->second : std::nullopt);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    remember(anchor, value);
    on_node(mark, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    start_collection(mark, anchor, /*is_map=*/false);
  }
  void OnSequenceEnd() override { end_collection(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    start_collection(mark, anchor, /*is_map=*/true);
  }
  void OnMapEnd() override { end_collection(); }

 private:
  struct Collection {
    bool is_map = false;
    bool next_is_key = true;          // maps: keys and values alternate
    std::map<std::string, int> keys;  // maps: each scalar key and its line
  };

  void remember(YAML::anchor_t anchor, std::optional<std::string> scalar) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = std::move(scalar);
  }

  // A node starts (a collection) or is complete (a scalar, a null, an alias); `key` is its text
  // when it is a scalar, for the check when it stands where a key does.
  void on_node(const YAML::Mark& mark, const std::optional<std::string>& key) {
    if (stack_.empty() || !stack_.back().is_map) return;
    Collection& map = stack_.back();
    if (map.next_is_key && key && !duplicate_) {
      const auto [it, inserted] = map.keys.emplace(*key, mark.line + 1);
      if (!inserted) duplicate_ = Duplicate{*key, it->second, mark.line + 1};
    }
    map.next_is_key = !map.next_is_key;
  }

  void start_collection(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
    remember(anchor, std::nullopt);
    on_node(mark, std::nullopt);
    stack_.push_back({is_map, true, {}});
  }
  void end_collection() {
    if (!stack_.empty()) stack_.pop_back();
  }

  std::vector<Collection> stack_;
  std::map<YAML::anchor_t, std::optional<std::string>> anchors_;  // scalar text, if scalar
  std::optional<Duplicate> duplicate_;
};

}  // namespace

Result<YAML::Node> parse_yaml_text(const std::string& text, const std::string& origin,
                                   const std::string& what) {
  YAML::Node root;
  DuplicateKeyFinder finder;
  try {
    root = YAML::Load(text);
    std::istringstream in(text);
    YAML::Parser parser(in);
    parser.HandleNextDocument(finder);
  } catch (const YAML::Exception& e) {
    return Status::error(fmt::format("{} '{}': invalid YAML at line {}, column {}: {}", what,
                                     origin, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (const auto& twice = finder.duplicate()) {
    const std::string where =
        twice->first_line == twice->second_line
            ? fmt::format("line {}", twice->first_line)
            : fmt::format("lines {} and {}", twice->first_line, twice->second_line);
    return Status::error(fmt::format("{} '{}': key '{}' appears twice ({}); keep one", what, origin,
                                     excerpt(twice->key), where));
  }
  return root;
}

Result<YAML::Node> load_yaml_file(const std::string& path, const std::string& what) {
  if (!std::filesystem::exists(path)) {
    return Status::error(fmt::format("{}: file '{}' not found", what, path));
  }
  std::ifstream in(path, std::ios::binary);
  // A directory opens as a file that reads as empty: it would pass for an empty document.
  if (!in || std::filesystem::is_directory(path)) {
    return Status::error(
        fmt::format("{}: cannot read '{}' (give a readable YAML file)", what, path));
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_yaml_text(text, path, what);
}

}  // namespace streaminfer
