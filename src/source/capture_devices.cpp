#include "source/capture_devices.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <mutex>

extern "C" {
#include <libavdevice/version.h>
}

namespace streaminfer {

std::string capture_device_library() {
  return fmt::format("libavdevice.so.{}", LIBAVDEVICE_VERSION_MAJOR);
}

Status register_capture_devices() {
  static std::once_flag once;
  static Status outcome = Status::ok();
  std::call_once(once, [] {
    const std::string library = capture_device_library();
    // Never closed: the inputs it registers stay in libavformat's list for the process's life.
    void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      outcome = Status::error(fmt::format(
          "cannot load {} for capture devices ({}): install libavdevice{} (Debian's package of "
          "FFmpeg's capture devices)",
          library, dlerror(), LIBAVDEVICE_VERSION_MAJOR));
      return;
    }
    using RegisterAll = void (*)();
    auto register_all = reinterpret_cast<RegisterAll>(dlsym(handle, "avdevice_register_all"));
    if (!register_all) {
      outcome =
          Status::error(fmt::format("{} has no avdevice_register_all: reinstall libavdevice{}",
                                    library, LIBAVDEVICE_VERSION_MAJOR));
      return;
    }
    register_all();
  });
  return outcome;
}

}  // namespace streaminfer
