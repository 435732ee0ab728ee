#include "common/output_path.h"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

namespace streaminfer {

Status create_parent_directories(const std::string& file_path, std::string_view what) {
  const auto parent = std::filesystem::path(file_path).parent_path();
  if (parent.empty()) return Status::ok();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) {
    return Status::error(fmt::format("cannot create the directory '{}' for {} '{}': {}",
                                     parent.string(), what, file_path, ec.message()));
  }
  return Status::ok();
}

}  // namespace streaminfer
