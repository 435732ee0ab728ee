#pragma once
// FFmpeg's capture devices (video4linux2 for webcams) live in libavdevice, which pulls in
// libavfilter and some 80 more libraries: linked in, they cost every streaminfer process about
// 0.14 s of start-up (measured on the 2-core VM, AMD EPYC), webcam or not. So it is loaded the
// first time a device source opens, and only then.
#include <string>

#include "streaminfer/status.h"

namespace streaminfer {

// Loads libavdevice (the soname of the FFmpeg the engine was built with) and registers its
// inputs with libavformat. Once per process; later calls return the first call's answer. An
// error names the library and the package that provides it.
Status register_capture_devices();

// The library register_capture_devices() loads, e.g. "libavdevice.so.59".
std::string capture_device_library();

}  // namespace streaminfer
