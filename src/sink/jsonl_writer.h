#pragma once
// Detections as JSON Lines, one line per frame, in source-pixel coordinates:
// {"stream":0,"frame":17,"pts":0.566,"detections":[{"box":[x1,y1,x2,y2],"score":0.91,
//  "class":2,"label":"car"}]}
// A classifier's frame has its top classes instead of detections:
// {"stream":0,"frame":17,"pts":0.566,"classes":[{"class_id":3,"label":"class_3","score":0.41},...]}
// A named stream's lines carry its name after its id ("name":"door-1"), and a fleet worker's
// lines its worker id ("worker":"host:8080"): ids are a process's own, names and workers are
// what a reader of many workers' lines joins on.
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "streaminfer/frame.h"
#include "streaminfer/status.h"

namespace streaminfer {

// What a line says besides the frame; empty fields are left out.
struct JsonlTags {
  std::string_view name;
  std::string_view worker;
};

class JsonlWriter {
 public:
  // "-" writes to stdout.
  static Result<std::unique_ptr<JsonlWriter>> open(const std::string& path);
  // Boxes with 2 decimals, scores with 4; label = labels[class] or "class_N" when out of range.
  void write(const Frame& frame, const std::vector<std::string>& labels,
             const JsonlTags& tags = {});
  // A line already made by format_jsonl_line (without its '\n').
  void write_line(std::string_view line);
  // Hands the lines written so far to the file or pipe (whole lines: a program reading them as
  // they come, `tail -f`, a stop by SIGKILL, all see only complete lines) and says whether the
  // writing still works (false once a pipe's reader closed it, or the disk is full).
  bool flush();
  bool to_stdout() const { return path_ == "-"; }
  Status close();

 private:
  std::string path_;
  std::ofstream file_;
  std::ostream* out_ = nullptr;
};

std::string format_jsonl_line(const Frame& frame, const std::vector<std::string>& labels,
                              const JsonlTags& tags = {});

}  // namespace streaminfer
