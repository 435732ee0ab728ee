#include "source/file_source.h"
#include "source/reconnecting_source.h"
#include "source/source.h"
#include "source/synthetic_source.h"

namespace streaminfer {

Result<std::unique_ptr<Source>> open_source(const std::string& uri, const SourceOptions& options) {
  if (uri.empty()) return Status::error("empty source uri (give a file path, URL or synthetic:)");
  if (uri.rfind("synthetic:", 0) == 0) return open_synthetic_source(uri);
  auto first = FileSource::open(uri, options);
  // A live source that never opened is more likely a wrong URL than a drop: that fails now.
  if (!first || !first.value()->info().live) return first;
  return std::unique_ptr<Source>(std::make_unique<ReconnectingSource>(
      std::move(first.value()), [uri, options] { return FileSource::open(uri, options); },
      options));
}

}  // namespace streaminfer
