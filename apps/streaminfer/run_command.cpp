#include <unistd.h>

#include <cstdio>

#include "commands.h"
#include "common/console.h"
#include "common/stop_request.h"
#include "engine_setup.h"

namespace streaminfer::app {

void print_error(const std::string& message) {
  std::fprintf(stderr, "streaminfer: error: %s\n", message.c_str());
}

int run_command(RunOptions options) {
  // First of all: a stop during start-up (model loading takes seconds) is seen and honoured.
  // The binary sends the stop signals to process_stop_request() from before main() to the exit:
  // a signal that comes while the process ends is counted, not a death.
  StopRequest& stop = process_stop_request();
  install_stop_signals(stop);
  set_stdout_carries_data(options.output == "-");
  auto loaded = Engine::load(std::move(options), stop, /*service=*/false);
  if (const int* code = std::get_if<int>(&loaded)) return *code;
  Engine& engine = *std::get<std::unique_ptr<Engine>>(loaded);
  const auto& sources = engine.options().sources;
  if (auto failed = engine.open({sources.begin(), sources.end()}, {}); failed) return *failed;
  auto stats = engine.pipeline().run();
  if (const int code = engine.finish(stats); code != 0 || !stats) return code;
  return engine.exit_code(stats.value());
}

}  // namespace streaminfer::app
