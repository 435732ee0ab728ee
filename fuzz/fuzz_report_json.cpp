// The summary JSON loader of `streaminfer report`, on the input as a file: an object or a
// one-line error.
#include <cstdint>

#include "fuzz_support.h"
#include "report/report_data.h"

using streaminfer::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static streaminfer::fuzz::InputFile file;
  auto summary = streaminfer::load_summary_json(file.write(data, size));
  if (summary) {
    check(summary->is_object(), "a summary is an object");
    (void)summary->dump();  // the page embeds it as text
  } else {
    check(summary.status().message().find('\n') == std::string::npos, "messages are one line",
          summary.status().message());
  }
  return 0;
}
