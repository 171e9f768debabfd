#include "clients/cli/text_table.h"

#include "gtest/gtest.h"

namespace crucible {
namespace {

TEST(TextTableTest, AlignsColumns) {
  TextTable table({"ID", "NAME", "CLASSES"});
  table.AlignRight(2);
  table.AddRow({"a1", "lenet", "10"});
  table.AddRow({"b22222", "x", "1000"});
  EXPECT_EQ(table.Render(),
            "ID      NAME   CLASSES\n"
            "a1      lenet       10\n"
            "b22222  x         1000\n");
}

TEST(TextTableTest, WithoutHeaderIndentedAndTrimmed) {
  TextTable table({});
  table.AddRow({"accuracy", "97.30%"});
  table.AddRow({"note", ""});
  EXPECT_EQ(table.Render("  "),
            "  accuracy  97.30%\n"
            "  note\n");
}

TEST(TextTableTest, ShortRowsArePadded) {
  TextTable table({"A", "B", "C"});
  table.AlignRight(2);
  table.AddRow({"1"});
  table.AddRow({"1", "2", "333"});
  EXPECT_EQ(table.Render(),
            "A  B    C\n"
            "1\n"
            "1  2  333\n");
}

TEST(TextTableTest, Empty) {
  TextTable table({"A"});
  EXPECT_EQ(table.Render(), "A\n");
  EXPECT_EQ(TextTable({}).Render(), "");
}

}  // namespace
}  // namespace crucible
