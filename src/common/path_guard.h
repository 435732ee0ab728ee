#pragma once
// Before any work, every file a command will write is checked against every other file it writes
// and every file it reads (the same file under two names, through a link or a hard link
// included), and for being writable, without changing anything that exists. So a run never
// truncates its own video, overwrites its weights, or writes two outputs into one file, and an
// output that cannot be written fails before the first frame instead of after the work.
#include <string>
#include <vector>

#include "streaminfer/status.h"

namespace streaminfer {

class PathPlan {
 public:
  // `what` names the use in messages: "--source", "--weights", "the precision cache".
  void input(std::string what, std::string path);
  // A file the command creates or replaces. "-" (stdout) and empty paths are left out.
  void output(std::string what, std::string path);
  // A folder the command creates (if needed) and writes files into.
  void output_folder(std::string what, std::string path);

  // Ok, or one line naming both uses of the file that two of them share (an output with
  // anything else; inputs may share a file).
  Status check_clashes() const;
  // Creates each output's folder, then checks that each output can be written: an existing file
  // is opened for appending and closed unchanged, a new one is created and removed again; an
  // output folder must not be a file and must take a new file. The message names the output,
  // the path and the system's reason.
  Status check_writable() const;
  // Both, clashes first.
  Status check() const;

 private:
  enum class Kind { kInput, kOutput, kOutputFolder };
  struct Use {
    std::string what;
    std::string path;
    Kind kind;
  };
  std::vector<Use> uses_;
};

// Whether `uri` names a local file (not "synthetic:", "-", a URL with a scheme, a V4L2 device or
// "camera:N"), so that it takes part in PathPlan.
bool is_local_file_uri(const std::string& uri);

}  // namespace streaminfer
