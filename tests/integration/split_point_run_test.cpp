// `run --split-point`: the model runs in two parts with the hand-over timed, and a layer that
// does not exist is one error line.
#include <gtest/gtest.h>

#include "run_command.h"

namespace streaminfer::test {
namespace {

TEST(SplitPointRun, ReportsEachPartOfTheSplitModel) {
  const CommandResult r = run_command(streaminfer_run(
      {"--split-point", "model.9", "--pace", "max", "--source", synthetic_uri(160, 120, 4)}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has_line_with_all(
      r.out, {"split at model.9", "part 1 (layers 0-9, cpu)", "hand-over", "part 2 (layers 10-22"}))
      << r.out;
}

TEST(SplitPointRun, AnUnknownLayerIsOneErrorLine) {
  const CommandResult r = run_command(
      streaminfer_run({"--split-point", "backbone", "--source", synthetic_uri(160, 120, 2)}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--split-point backbone", "model.21"}), "") << r.describe();
}

}  // namespace
}  // namespace streaminfer::test
