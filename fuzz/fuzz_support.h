#pragma once
// What the fuzz targets share: the input as a file for loaders that take a path, a scratch
// directory for the ones that write, and checks that stop the run (a crash libFuzzer saves).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace streaminfer::fuzz {

// Reports a broken property of a parser's result as a crash, with the input saved by libFuzzer.
inline void check(bool ok, const char* property, const std::string& detail = "") {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %s\n%s\n", property, detail.c_str());
  std::abort();
}

// The input as a file: a memfd (memory only, nothing on disk), rewritten for each input and
// opened by its /proc/self/fd path as the loaders open any file.
class InputFile {
 public:
  InputFile() : fd_(memfd_create("fuzz_input", MFD_CLOEXEC)) {
    check(fd_ >= 0, "memfd_create works");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~InputFile() { close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Replaces the file's content with `data`; returns the path to open.
  const std::string& write(const uint8_t* data, size_t size) {
    check(ftruncate(fd_, 0) == 0, "ftruncate works");
    for (size_t done = 0; done < size;) {
      const ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      check(n > 0, "pwrite works");
      done += static_cast<size_t>(n);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

// A private directory under $TMPDIR for what a loader writes; empty() removes what it holds.
// Removed at exit (a crash leaves it: scripts/fuzz.sh points TMPDIR into its build folder).
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/streaminfer_fuzz_XXXXXX";
    check(mkdtemp(pattern.data()) != nullptr, "mkdtemp works", pattern);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  void empty() {
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      std::filesystem::remove_all(entry.path());
    }
  }

 private:
  std::filesystem::path path_;
};

}  // namespace streaminfer::fuzz
