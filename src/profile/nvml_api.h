#pragma once
// NVML, declared here rather than through nvml.h: the build then needs no CUDA toolkit, and the
// binary runs where the driver (which ships libnvidia-ml) is missing. Only stable v1/v2 entry
// points with plain-int enums are used. Shared by the system block (system_info.cpp) and the
// per-iteration clock sampler (gpu_clock_sampler.cpp); both dlopen() the library at run time.
#include <dlfcn.h>

namespace streaminfer::nvml {

struct DeviceSt;
using Device = DeviceSt*;
using Return = int;  // nvmlReturn_t; 0 = NVML_SUCCESS
constexpr Return kSuccess = 0;
constexpr int kClockSm = 1, kClockMem = 2;  // nvmlClockType_t
struct Memory {                             // nvmlMemory_t (v1)
  unsigned long long total, free, used;
};
using InitFn = Return (*)();
using ShutdownFn = Return (*)();
using GetCountFn = Return (*)(unsigned*);
using GetHandleFn = Return (*)(unsigned, Device*);
using GetNameFn = Return (*)(Device, char*, unsigned);
using DriverVersionFn = Return (*)(char*, unsigned);
using ClockFn = Return (*)(Device, int, unsigned*);
using PstateFn = Return (*)(Device, int*);
using PowerFn = Return (*)(Device, unsigned*);
using MemoryFn = Return (*)(Device, Memory*);

template <typename Fn>
Fn symbol(void* library, const char* name) {
  return reinterpret_cast<Fn>(dlsym(library, name));
}

}  // namespace streaminfer::nvml
