#include "clients/cli/cli_errors.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

TEST(CliErrorsTest, UsageErrorsPrintWithoutACode) {
  absl::Status status = UsageError("unknown engine 'x'");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsUsageError(status));
  absl::Status copy = status;
  EXPECT_TRUE(IsUsageError(copy));
  EXPECT_EQ(ErrorText(copy), "error: unknown engine 'x'");
}

TEST(CliErrorsTest, OtherErrorsPrintTheirCode) {
  EXPECT_FALSE(IsUsageError(absl::InvalidArgumentError("bad")));
  EXPECT_EQ(ErrorText(absl::InvalidArgumentError("spec.fgsm.epsilon must be > 0")),
            "error: INVALID_ARGUMENT: spec.fgsm.epsilon must be > 0");
  EXPECT_EQ(ErrorText(absl::UnavailableError("failed to connect")), "error: UNAVAILABLE: failed to connect");
  EXPECT_EQ(ErrorText(absl::NotFoundError("no job 'j'")), "error: NOT_FOUND: no job 'j'");
}

}  // namespace
}  // namespace crucible
