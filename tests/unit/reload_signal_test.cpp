#include "common/reload_signal.h"

#include <gtest/gtest.h>

#include <csignal>

namespace streaminfer {
namespace {

TEST(ReloadSignal, SighupIsCountedAsAReloadNotAStop) {
  struct sigaction before {};
  sigaction(SIGHUP, nullptr, &before);
  install_reload_signal();
  take_reload_requests();
  std::raise(SIGHUP);  // the default action would end this test program
  std::raise(SIGHUP);
  EXPECT_EQ(take_reload_requests(), 2);
  EXPECT_EQ(take_reload_requests(), 0);
  sigaction(SIGHUP, &before, nullptr);
}

}  // namespace
}  // namespace streaminfer
