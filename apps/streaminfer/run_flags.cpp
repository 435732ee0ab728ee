// The command-line side of the option table (config/run_option_table.h): each spec becomes one
// CLI11 option bound to its RunOptions member. Values are checked by validate(), not by CLI11,
// so a flag and its YAML key give the same message.
#include <fmt/format.h>

#include <map>

#include "commands.h"
#include "config/run_option_table.h"

namespace streaminfer::app {

namespace {

CLI::Option* add_spec(CLI::App& cmd, RunOptions& o, const RunOptionSpec& spec,
                      const std::string& alias) {
  std::string names = "--" + spec.name;
  if (!alias.empty()) names += ",--" + alias;
  return std::visit(
      [&](auto member) -> CLI::Option* {
        auto& value = o.*member;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, bool>) {
          // On by default: --no-NAME turns it off; off by default: --NAME turns it on.
          return spec.negatable ? cmd.add_flag("!--no-" + spec.name, value, spec.help)
                                : cmd.add_flag(names, value, spec.help);
        } else {
          CLI::Option* option = cmd.add_option(names, value, spec.help);
          if constexpr (std::is_same_v<T, std::vector<std::string>>) option->take_all();
          if (spec.show_default) option->capture_default_str();
          return option;
        }
      },
      spec.field);
}

}  // namespace

void add_run_option_flags(CLI::App& cmd, RunOptions& options, const std::vector<std::string>& names,
                          const std::map<std::string, std::string>& aliases) {
  for (const auto& spec : run_option_table()) {
    if (!names.empty() && std::find(names.begin(), names.end(), spec.name) == names.end()) {
      continue;
    }
    const auto alias = aliases.find(spec.name);
    add_spec(cmd, options, spec, alias == aliases.end() ? std::string() : alias->second);
  }
}

std::string describe_parse_error(const CLI::ParseError& error) {
  const std::string what = error.what();
  // "--threads: At Most 1 required but received 2": a single-valued flag given twice.
  const std::string marker = ": At Most 1 required but received ";
  if (const size_t at = what.find(marker); at != std::string::npos) {
    return fmt::format("{} is given {} times; give it once", what.substr(0, at),
                       what.substr(at + marker.size()));
  }
  return what;
}

void add_run_flags(CLI::App& cmd, RunOptions& o, std::string& config_path) {
  cmd.add_option("--config", config_path,
                 "YAML file with any of these flags (keys without dashes); flags override it");
  add_run_option_flags(cmd, o);
}

}  // namespace streaminfer::app
