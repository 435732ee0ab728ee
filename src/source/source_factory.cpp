#include "source/file_source.h"
#include "source/source.h"
#include "source/synthetic_source.h"

namespace streaminfer {

Result<std::unique_ptr<Source>> open_source(const std::string& uri, const SourceOptions& options) {
  if (uri.empty()) return Status::error("empty source uri (give a file path, URL or synthetic:)");
  if (uri.rfind("synthetic:", 0) == 0) return open_synthetic_source(uri);
  // rtsp/http(s) URLs and /dev/video* go to FFmpeg as well until they get sources of their own.
  return FileSource::open(uri, options);
}

}  // namespace streaminfer
