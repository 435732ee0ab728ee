// The enabled mode, compiled wherever the NVTX3 header is on the include path (the build adds
// it when found); without an attached profiler the ranges are no-ops that must still balance.
#if __has_include(<nvtx3/nvToolsExt.h>)
#undef STREAMINFER_NVTX
#define STREAMINFER_NVTX 1
#define SI_TEST_NVTX_AVAILABLE 1
#endif
#include "profile/nvtx.h"

#include <gtest/gtest.h>

#include <string>

namespace streaminfer {
namespace {

#define SI_TEST_STRINGIFY_INNER(...) #__VA_ARGS__
#define SI_TEST_EXPAND_TO_STRING(...) SI_TEST_STRINGIFY_INNER(__VA_ARGS__)

TEST(NvtxEnabledTest, RangesCompileAndNest) {
#ifdef SI_TEST_NVTX_AVAILABLE
  EXPECT_STRNE(SI_TEST_EXPAND_TO_STRING(SI_NVTX_RANGE("stage")), "");
  int evaluations = 0;
  {
    SI_NVTX_RANGE("outer");
    for (int i = 0; i < 3; ++i) {
      SI_NVTX_RANGE_DYNAMIC(std::to_string(++evaluations));
      SI_NVTX_RANGE("inner");  // a second range in the same scope needs its own variable name
    }
  }
  EXPECT_EQ(evaluations, 3);
#else
  GTEST_SKIP() << "<nvtx3/nvToolsExt.h> is not on the include path";
#endif
}

}  // namespace
}  // namespace streaminfer
