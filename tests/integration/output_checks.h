#pragma once
// What every file streaminfer leaves behind must be, however the command ended (an error, a
// signal, a closed pipe): valid. And what it was given must be as it was. Used by the bad-input
// suite and the signal tests.
#include <filesystem>
#include <map>
#include <string>

namespace streaminfer::test {

// Empty when every file under `dir` (recursively) is valid for its kind, else one line per
// problem:
//   .jsonl  every line a JSON object, no null anywhere (NaN written as null is a lie about a
//           number), the file ends with a newline;
//   .csv    a header, and every row with the header's number of fields; ends with a newline;
//   .json   parses as JSON (a trace, a summary, detections.json);
// other files are not checked. A ".partial." file (a write that never finished) is a problem.
std::string check_outputs_valid(const std::filesystem::path& dir);
// The same checks for one JSON Lines text (stdout of `run --output -`).
std::string check_jsonl_text(const std::string& text);

// Size and FNV-1a hash of every regular file under `dir`, by path.
std::map<std::string, std::string> checksum_tree(const std::filesystem::path& dir);
// Empty when `after` has every file of `before` unchanged, else which changed or went missing.
std::string compare_checksums(const std::map<std::string, std::string>& before,
                              const std::map<std::string, std::string>& after);

}  // namespace streaminfer::test
