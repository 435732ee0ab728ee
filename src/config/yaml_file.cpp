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

// Checks the keys of every mapping, from the parser's events: anchors and aliases stay
// references there, so a document that aliases one mapping many times is read once (walking the
// loaded Node tree would expand every alias). Finds the first key written twice in one mapping,
// and the first key that is a list or a mapping: every reader of streaminfer's files takes keys
// as names (Node::as<std::string>() throws on any other).
class KeyChecker : public YAML::EventHandler {
 public:
  // What is wrong with the first bad key, e.g. "key 'x' appears twice (lines 2 and 5); keep one".
  const std::optional<std::string>& problem() const { return problem_; }

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
    const int line = mark.line + 1;
    if (map.next_is_key && !problem_) {
      if (!key) {
        problem_ = fmt::format("the key at line {} is a list or a mapping; use a plain name", line);
      } else if (const auto [it, inserted] = map.keys.emplace(*key, line); !inserted) {
        const std::string where = it->second == line
                                      ? fmt::format("line {}", line)
                                      : fmt::format("lines {} and {}", it->second, line);
        problem_ = fmt::format("key '{}' appears twice ({}); keep one", excerpt(*key), where);
      }
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
  std::optional<std::string> problem_;
};

}  // namespace

Result<YAML::Node> parse_yaml_text(const std::string& text, const std::string& origin,
                                   const std::string& what) {
  YAML::Node root;
  KeyChecker keys;
  try {
    root = YAML::Load(text);
    std::istringstream in(text);
    YAML::Parser parser(in);
    parser.HandleNextDocument(keys);
  } catch (const YAML::Exception& e) {
    return Status::error(fmt::format("{} '{}': invalid YAML at line {}, column {}: {}", what,
                                     origin, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (keys.problem()) {
    return Status::error(fmt::format("{} '{}': {}", what, origin, *keys.problem()));
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
