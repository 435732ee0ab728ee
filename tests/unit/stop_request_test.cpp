#include "common/stop_request.h"

#include <gtest/gtest.h>

#include <csignal>

namespace streaminfer {
namespace {

TEST(StopRequest, RecordsTheFirstRequestItsPhaseAndTheSecond) {
  StopRequest stop;
  EXPECT_FALSE(stop.requested());
  EXPECT_EQ(stop.first_cause(), "");
  stop.set_phase(RunPhase::kRunning);
  stop.request(SIGTERM);
  stop.set_phase(RunPhase::kDraining);  // later phases do not change what the first one saw
  EXPECT_TRUE(stop.requested());
  EXPECT_FALSE(stop.hurry());
  EXPECT_EQ(stop.first_cause(), "SIGTERM");
  EXPECT_EQ(stop.phase_at_first(), RunPhase::kRunning);
  EXPECT_GT(stop.first_at_ns(), 0);
  EXPECT_GT(stop.first_at_unix_ns(), 0);
  EXPECT_EQ(stop.second_cause(), "");
  stop.request(SIGINT);
  EXPECT_TRUE(stop.hurry());
  EXPECT_EQ(stop.first_cause(), "SIGTERM");
  EXPECT_EQ(stop.second_cause(), "SIGINT");
  EXPECT_EQ(stop.second_cause_code(), SIGINT);
}

TEST(StopRequest, EachLevelIsAnnouncedOnce) {
  StopRequest stop;
  EXPECT_EQ(stop.take_announcement(), "");
  stop.request(SIGINT);
  const std::string first = stop.take_announcement();
  EXPECT_NE(first.find("stopping (SIGINT)"), std::string::npos) << first;
  EXPECT_EQ(stop.take_announcement(), "");
  stop.request(SIGINT);
  const std::string second = stop.take_announcement();
  EXPECT_NE(second.find("stopping sooner"), std::string::npos) << second;
  EXPECT_EQ(stop.take_announcement(), "");
}

TEST(StopRequest, NamesAndExitCodes) {
  EXPECT_EQ(stop_cause_name(SIGINT), "SIGINT");
  EXPECT_EQ(stop_cause_name(SIGHUP), "SIGHUP");
  EXPECT_EQ(stop_cause_name(kStopStdoutClosed), "stdout closed");
  EXPECT_EQ(interrupted_exit_code(SIGINT), 130);
  EXPECT_EQ(interrupted_exit_code(SIGTERM), 143);
  EXPECT_STREQ(run_phase_name(RunPhase::kStartUp), "start-up");
}

TEST(StopSignals, ASignalBecomesARequestInsteadOfAnEnd) {
  StopRequest stop;
  install_stop_signals(stop);
  EXPECT_GT(stop.started_ns(), 0);
  std::raise(SIGHUP);  // the process's default action would end it
  EXPECT_TRUE(stop.requested());
  EXPECT_EQ(stop.first_cause(), "SIGHUP");
  restore_stop_signals(/*raise_pending=*/false);
  // Back to the default action: the (test) process would end; check the disposition instead.
  struct sigaction action {};
  sigaction(SIGHUP, nullptr, &action);
  EXPECT_EQ(action.sa_handler, SIG_DFL);
  sigaction(SIGPIPE, nullptr, &action);
  EXPECT_EQ(action.sa_handler, SIG_IGN) << "a closed pipe is an error to report, not a death";
}

}  // namespace
}  // namespace streaminfer
