#include "common/path_guard.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "common/output_path.h"

namespace streaminfer {

namespace fs = std::filesystem;

namespace {

// What makes two paths one file: the inode when it exists (links and hard links included), else
// the normalized absolute path it would be created at.
struct Identity {
  std::optional<std::pair<dev_t, ino_t>> inode;
  std::string normalized;

  bool same(const Identity& other) const {
    if (inode && other.inode) return *inode == *other.inode;
    return !inode && !other.inode && normalized == other.normalized;
  }
};

Identity identity_of(const std::string& path) {
  Identity id;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) id.inode = std::make_pair(st.st_dev, st.st_ino);
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  const fs::path canonical = fs::weakly_canonical(ec ? fs::path(path) : absolute, ec);
  id.normalized = (ec ? absolute : canonical).lexically_normal().string();
  return id;
}

std::string system_error_text(int error) { return std::strerror(error); }

Status check_file_writable(const std::string& what, const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return Status::error(
        fmt::format("{} '{}' is a folder; give the path of a file to write", what, path));
  }
  SI_RETURN_IF_ERROR(create_parent_directories(path, what));
  if (fs::exists(path, ec)) {
    // O_APPEND without O_TRUNC: the file stays exactly as it is until the command writes it.
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
      return Status::error(
          fmt::format("{} '{}' cannot be written: {}", what, path, system_error_text(errno)));
    }
    ::close(fd);
    return Status::ok();
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::error(
        fmt::format("{} '{}' cannot be created: {}", what, path, system_error_text(errno)));
  }
  ::close(fd);
  ::unlink(path.c_str());
  return Status::ok();
}

Status check_folder_writable(const std::string& what, const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_directory(path, ec)) {
    return Status::error(
        fmt::format("{} '{}' is a file, not a folder; give a folder to write into", what, path));
  }
  fs::create_directories(path, ec);
  if (ec) {
    return Status::error(
        fmt::format("{} '{}': cannot create the folder: {}", what, path, ec.message()));
  }
  std::string probe = (fs::path(path) / ".streaminfer-write-check-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) {
    return Status::error(fmt::format("{} '{}': cannot write files into the folder: {}", what, path,
                                     system_error_text(errno)));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::ok();
}

}  // namespace

void PathPlan::input(std::string what, std::string path) {
  if (!path.empty()) uses_.push_back({std::move(what), std::move(path), Kind::kInput});
}

void PathPlan::output(std::string what, std::string path) {
  if (!path.empty() && path != "-") {
    uses_.push_back({std::move(what), std::move(path), Kind::kOutput});
  }
}

void PathPlan::output_folder(std::string what, std::string path) {
  if (!path.empty()) uses_.push_back({std::move(what), std::move(path), Kind::kOutputFolder});
}

Status PathPlan::check_clashes() const {
  std::vector<Identity> ids;
  ids.reserve(uses_.size());
  for (const Use& use : uses_) ids.push_back(identity_of(use.path));
  for (size_t i = 0; i < uses_.size(); ++i) {
    for (size_t j = i + 1; j < uses_.size(); ++j) {
      const Use &a = uses_[i], &b = uses_[j];
      if (a.kind == Kind::kInput && b.kind == Kind::kInput) continue;
      // A folder written into clashes with a file only by being that file.
      if (!ids[i].same(ids[j])) continue;
      const Use& written = a.kind != Kind::kInput ? a : b;
      const Use& other = &written == &a ? b : a;
      if (other.kind == Kind::kInput) {
        return Status::error(fmt::format(
            "{} '{}' is the same file as {} '{}': writing it would destroy what the command "
            "reads; give {} another path",
            written.what, written.path, other.what, other.path, written.what));
      }
      if (a.kind == Kind::kOutputFolder && b.kind == Kind::kOutputFolder) continue;
      return Status::error(fmt::format(
          "{} '{}' and {} '{}' are the same file: each would overwrite the other; give them "
          "different paths",
          a.what, a.path, b.what, b.path));
    }
  }
  return Status::ok();
}

Status PathPlan::check_writable() const {
  for (const Use& use : uses_) {
    if (use.kind == Kind::kOutput) SI_RETURN_IF_ERROR(check_file_writable(use.what, use.path));
    if (use.kind == Kind::kOutputFolder) {
      SI_RETURN_IF_ERROR(check_folder_writable(use.what, use.path));
    }
  }
  return Status::ok();
}

Status PathPlan::check() const {
  SI_RETURN_IF_ERROR(check_clashes());
  return check_writable();
}

bool is_local_file_uri(const std::string& uri) {
  if (uri.empty() || uri == "-") return false;
  if (uri.rfind("synthetic:", 0) == 0 || uri.rfind("camera:", 0) == 0) return false;
  if (uri.rfind("/dev/", 0) == 0) return false;
  // rtsp://, http(s)://, file:, ...: FFmpeg's protocols, not paths.
  const size_t scheme_end = uri.find("://");
  return scheme_end == std::string::npos || scheme_end == 0;
}

}  // namespace streaminfer
