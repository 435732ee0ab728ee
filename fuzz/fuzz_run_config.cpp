// `streaminfer run --config FILE`: the YAML loader (duplicate keys, parse errors) and the run
// options' key handling and validation, on the input as a file. Goes through
// load_run_options_yaml rather than a copy of its key table, so a rewrite of src/config is fuzzed
// as it is.
#include <cstdint>

#include "config/run_options.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static streaminfer::fuzz::InputFile file;
  const std::string& path = file.write(data, size);
  streaminfer::RunOptions options;
  if (streaminfer::load_run_options_yaml(path, options)) {
    (void)streaminfer::validate(options);
  }
  return 0;
}
