#include "clients/cli/value_format.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace crucible {
namespace {

TEST(ValueFormatTest, Numbers) {
  EXPECT_EQ(FormatPercent(0.973), "97.30%");
  EXPECT_EQ(FormatPercent(0), "0.00%");
  EXPECT_EQ(FormatPercent(1), "100.00%");
  EXPECT_EQ(FormatNumber(0.0312345), "0.03123");
  EXPECT_EQ(FormatNumber(12), "12");
  EXPECT_EQ(FormatNumber(1e-7), "1e-07");
}

TEST(ValueFormatTest, ClampFraction) {
  EXPECT_EQ(ClampFraction(0.5), 0.5);
  EXPECT_EQ(ClampFraction(-1), 0.0);
  EXPECT_EQ(ClampFraction(7), 1.0);
  EXPECT_EQ(ClampFraction(std::numeric_limits<double>::quiet_NaN()), 0.0);
}

TEST(ValueFormatTest, Bytes) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(5 << 20), "5.0 MiB");
  EXPECT_EQ(FormatBytes(int64_t{3} << 40), "3.0 TiB");
  EXPECT_EQ(FormatBytes(int64_t{3000} << 40), "3000.0 TiB");
}

TEST(ValueFormatTest, Timestamp) {
  google::protobuf::Timestamp unset;
  EXPECT_EQ(FormatTimestamp(unset), "-");
  google::protobuf::Timestamp t;
  t.set_seconds(1700000000);
  t.set_nanos(500000000);
  EXPECT_EQ(FormatTimestamp(t), "2023-11-14 22:13:20 UTC");
}

TEST(ValueFormatTest, ShapesAndLists) {
  EXPECT_EQ(FormatShape(std::vector<int64_t>{1, 28, 28}), "1x28x28");
  EXPECT_EQ(FormatShape(std::vector<int64_t>{}), "-");
  EXPECT_EQ(FormatList(std::vector<double>{0.5, -1, 2e-5}, 16), "[0.5, -1, 2e-05]");
  EXPECT_EQ(FormatList(std::vector<int64_t>{1, 2, 3, 4}, 2), "[1, 2, ... (4 values)]");
  EXPECT_EQ(FormatList(std::vector<int64_t>{}, 2), "[]");
}

TEST(ValueFormatTest, Progress) {
  v1::Progress progress;
  EXPECT_EQ(FormatProgress(progress), "0%");
  progress.set_fraction(0.4999);
  progress.set_stage("attack");
  EXPECT_EQ(FormatProgress(progress), "49%  attack");
  progress.set_message("batch 5 of 10");
  EXPECT_EQ(FormatProgress(progress), "49%  attack: batch 5 of 10");
  progress.clear_stage();
  progress.set_fraction(1);
  EXPECT_EQ(FormatProgress(progress), "100%  batch 5 of 10");
}

TEST(ValueFormatTest, Indent) {
  EXPECT_EQ(Indent("a\n\nb\n", "  "), "  a\n\n  b\n");
  EXPECT_EQ(Indent("a", "> "), "> a");
  EXPECT_EQ(Indent("", "  "), "");
}

}  // namespace
}  // namespace crucible
