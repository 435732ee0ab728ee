#include "common/atomic_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace streaminfer {

std::string partial_path_of(const std::string& path) {
  return fmt::format("{}.partial.{}", path, getpid());
}

Status write_file_atomically(const std::string& path, std::string_view content,
                             std::string_view what) {
  std::error_code ec;
  if (const auto parent = std::filesystem::path(path).parent_path(); !parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Status::error(fmt::format("cannot write {} '{}': cannot create its folder '{}' ({})",
                                       what, path, parent.string(), ec.message()));
    }
  }
  const std::string partial = partial_path_of(path);
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (out) out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      const int err = errno;
      std::filesystem::remove(partial, ec);
      return Status::error(fmt::format("cannot write {} '{}': {}", what, path,
                                       err != 0 ? std::strerror(err) : "write failed"));
    }
  }
  std::filesystem::rename(partial, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    return Status::error(fmt::format("cannot write {} '{}': {}", what, path, ec.message()));
  }
  return Status::ok();
}

}  // namespace streaminfer
