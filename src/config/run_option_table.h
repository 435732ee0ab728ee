#pragma once
// One descriptor per `run` option: its name (the flag --NAME and the YAML key NAME or NAME with
// underscores), the RunOptions member it sets, its help and what values it accepts. The command
// line (apps/streaminfer/run_flags.cpp), the YAML loader and validate() all read this table, so an
// option cannot exist, default or be checked differently in one of them; `annotate` and `launch`
// take their run options from it too.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/run_options.h"

namespace streaminfer {

using RunOptionField =
    std::variant<int RunOptions::*, int64_t RunOptions::*, float RunOptions::*,
                 double RunOptions::*, bool RunOptions::*, std::string RunOptions::*,
                 std::vector<std::string> RunOptions::*>;

struct RunOptionSpec {
  std::string name;  // "batch-size"
  RunOptionField field;
  std::string help;
  // Numbers: the accepted range, both ends included.
  std::optional<double> min, max;
  // Text: the accepted values; empty: any text.
  std::vector<std::string> choices;
  // What else the value must satisfy (a URI's form, a multiple of 32); may read other options.
  std::function<Status(const RunOptions&)> check;
  // A boolean that is on by default: the flag is --no-NAME; YAML takes NAME: false or
  // no-NAME: true.
  bool negatable = false;
  // A list: the flag is repeatable (--source a --source b), YAML takes a string or a list.
  bool repeatable = false;
  bool show_default = true;
  // Picks or builds the model (--model, --precision, ...): a service's reload applies a change
  // of these to the running pipeline; the others wait for a restart.
  bool picks_model = false;
};

const std::vector<RunOptionSpec>& run_option_table();

// The spec named `key`, given as a flag or YAML key: "batch-size", "batch_size" or, for a
// negatable option, "no-progress" (then *negated is set). Null when there is none.
const RunOptionSpec* find_run_option(std::string_view key, bool* negated = nullptr);

// The option's value as text ("4", "fp32", "a.mp4,b.mp4"), for messages and tests.
std::string run_option_value(const RunOptionSpec& spec, const RunOptions& options);

// Sets the option in `to` to its value in `from`.
void copy_run_option(const RunOptionSpec& spec, const RunOptions& from, RunOptions& to);

// The spec's own checks (range, choices, check) on the value in `options`; the message names
// the flag and says what is accepted.
Status check_run_option(const RunOptionSpec& spec, const RunOptions& options);

}  // namespace streaminfer
