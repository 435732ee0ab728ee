#pragma once
// NVTX ranges for Nsight Systems, as RAII macros that compile to nothing when disabled:
//   SI_NVTX_RANGE("preprocess");                                  // a string literal
//   SI_NVTX_RANGE_DYNAMIC(fmt::format("batch {}", step));         // any std::string
// The range lasts until the end of the enclosing scope. Enabled when STREAMINFER_NVTX is 1 (the
// build sets it when <nvtx3/nvToolsExt.h> is found); otherwise the macros expand to no tokens,
// so their arguments are not even evaluated. NVTX3 is header-only: without a profiler attached
// each range costs a branch.
#if defined(STREAMINFER_NVTX) && STREAMINFER_NVTX

#include <nvtx3/nvToolsExt.h>

#include <string>

namespace streaminfer::nvtx {

// Ranges go in a "streaminfer" domain so that Nsight groups them apart from LibTorch's own.
inline nvtxDomainHandle_t domain() {
  static const nvtxDomainHandle_t handle = nvtxDomainCreateA("streaminfer");
  return handle;
}

class ScopedRange {
 public:
  explicit ScopedRange(const char* name) {
    nvtxEventAttributes_t attributes{};
    attributes.version = NVTX_VERSION;
    attributes.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    attributes.messageType = NVTX_MESSAGE_TYPE_ASCII;
    attributes.message.ascii = name;
    nvtxDomainRangePushEx(domain(), &attributes);
  }
  // NVTX copies the message at push time, so the string may die before the range ends.
  explicit ScopedRange(const std::string& name) : ScopedRange(name.c_str()) {}
  ~ScopedRange() { nvtxDomainRangePop(domain()); }
  ScopedRange(const ScopedRange&) = delete;
  ScopedRange& operator=(const ScopedRange&) = delete;
};

}  // namespace streaminfer::nvtx

#define SI_NVTX_CONCAT_INNER_(a, b) a##b
#define SI_NVTX_CONCAT_(a, b) SI_NVTX_CONCAT_INNER_(a, b)
#define SI_NVTX_RANGE(name_literal) \
  ::streaminfer::nvtx::ScopedRange SI_NVTX_CONCAT_(si_nvtx_range_, __LINE__)("" name_literal)
#define SI_NVTX_RANGE_DYNAMIC(name) \
  ::streaminfer::nvtx::ScopedRange SI_NVTX_CONCAT_(si_nvtx_range_, __LINE__)(std::string(name))

#else

#define SI_NVTX_RANGE(name_literal)
#define SI_NVTX_RANGE_DYNAMIC(name)

#endif
