// The disabled mode, whatever the build chose: the macros must vanish, arguments included.
#undef STREAMINFER_NVTX
#define STREAMINFER_NVTX 0
#include "profile/nvtx.h"

#include <gtest/gtest.h>

#include <string>

namespace streaminfer {
namespace {

#define SI_TEST_STRINGIFY_INNER(...) #__VA_ARGS__
#define SI_TEST_EXPAND_TO_STRING(...) SI_TEST_STRINGIFY_INNER(__VA_ARGS__)

int evaluations = 0;
std::string counted_name() {
  ++evaluations;
  return "never";
}

TEST(NvtxDisabledTest, MacrosExpandToNothing) {
  EXPECT_STREQ(SI_TEST_EXPAND_TO_STRING(SI_NVTX_RANGE("stage")), "");
  EXPECT_STREQ(SI_TEST_EXPAND_TO_STRING(SI_NVTX_RANGE_DYNAMIC(std::string("x"))), "");
  {
    SI_NVTX_RANGE("preprocess");
    SI_NVTX_RANGE_DYNAMIC(counted_name());
  }
  EXPECT_EQ(evaluations, 0) << "a disabled range must not evaluate its name";
  counted_name();  // the counter itself works
  EXPECT_EQ(evaluations, 1);
}

}  // namespace
}  // namespace streaminfer
