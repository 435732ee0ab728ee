#pragma once
// `streaminfer report DIR -o FILE.html`: one self-contained HTML page (charts and tables, no
// network references) from a metrics directory written by `streaminfer run --metrics-dir DIR`.
#include <cstdint>
#include <string>

namespace streaminfer::app {

// output: the HTML file to write (empty: DIR/report.html). pid: the run to show when DIR holds
// several (0: the newest). Returns 0 when the report was written, 2 when DIR or a file in it is
// missing or malformed (one "streaminfer: error:" line on stderr), 1 when it cannot be written.
int report_command(const std::string& dir, const std::string& output, int64_t pid = 0);

}  // namespace streaminfer::app
