#include "clients/cli/gate_reports.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::GateCheckResult Result(const std::string& name, v1::GateOutcome outcome, const std::string& value = "0.5",
                           const std::string& message = "") {
  v1::GateCheckResult result;
  result.set_name(name);
  result.set_engine("fgsm");
  result.set_metric("robust_accuracy");
  result.set_outcome(outcome);
  result.set_value_text(value);
  result.set_bound(">= 0.6");
  result.set_message(message);
  result.set_job_id("j1");
  result.set_seconds(1.5);
  return result;
}

TEST(GateReportsTest, ExitCodeIsTwoOnErrorsElseOneOnFailures) {
  EXPECT_EQ(SummarizeGate({Result("a", v1::GATE_PASSED), Result("b", v1::GATE_PASSED)}).exit_code(), 0);
  const v1::GateSummary failed = SummarizeGate({Result("a", v1::GATE_PASSED), Result("b", v1::GATE_FAILED)});
  EXPECT_EQ(failed.exit_code(), 1);
  EXPECT_EQ(failed.passed(), 1);
  EXPECT_EQ(failed.failed(), 1);
  EXPECT_EQ(failed.checks(1).name(), "b");
  const v1::GateSummary errored = SummarizeGate({Result("a", v1::GATE_FAILED), Result("b", v1::GATE_ERROR)});
  EXPECT_EQ(errored.exit_code(), 2);
  EXPECT_EQ(errored.errors(), 1);
}

TEST(GateReportsTest, XmlEscapeCoversMarkupQuotesAndControlCharacters) {
  EXPECT_EQ(XmlEscape(R"(<a href="x">'&'</a>)"), "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
  EXPECT_EQ(XmlEscape(std::string("a\x01\tb\n", 5)), "a\xEF\xBF\xBD\tb\n");
  EXPECT_EQ(XmlEscape("ε ≥ 0.1"), "ε ≥ 0.1");
}

TEST(GateReportsTest, JUnitHasOneTestCasePerCheckWithFailureAndErrorElements) {
  const v1::GateSummary summary = SummarizeGate(
      {Result("clean", v1::GATE_PASSED, "0.874"),
       Result("fgsm <0.1> & \"more\"", v1::GATE_FAILED, "0.196", "robust_accuracy = 0.196, required >= 0.6"),
       Result("broken", v1::GATE_ERROR, "", "job j1 FAILED: out of memory")});
  const std::string xml = GateJUnitXml(summary);
  EXPECT_THAT(xml, HasSubstr("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"crucible gate\" "
                             "tests=\"3\" failures=\"1\" errors=\"1\" time=\"4.500\">"));
  EXPECT_THAT(xml, HasSubstr("<testcase name=\"clean\" classname=\"crucible.gate.fgsm\" time=\"1.500\">\n"
                             "      <system-out>"));
  EXPECT_THAT(xml, HasSubstr("<testcase name=\"fgsm &lt;0.1&gt; &amp; &quot;more&quot;\""));
  EXPECT_THAT(xml, HasSubstr("<failure message=\"robust_accuracy = 0.196, required &gt;= 0.6\" "
                             "type=\"BoundViolated\">"));
  EXPECT_THAT(xml, HasSubstr("<error message=\"job j1 FAILED: out of memory\" type=\"JobError\">"));
  EXPECT_THAT(xml, HasSubstr("</testsuite>\n</testsuites>\n"));
  EXPECT_THAT(xml, Not(HasSubstr("<0.1>")));
}

TEST(GateReportsTest, MarkdownEscapesTableBreakersAndHtml) {
  v1::GateSummary summary =
      SummarizeGate({Result("a|b <script>alert(1)</script>", v1::GATE_FAILED, "0.5", "robust_accuracy = 0.5"),
                     Result("ok", v1::GATE_PASSED)});
  summary.set_model_id("abc");
  const std::string md = GateMarkdown(summary);
  EXPECT_THAT(md, HasSubstr("### Crucible gate failed: 1 passed, 1 failed, 0 errors\n"));
  EXPECT_THAT(md, HasSubstr("| ❌ fail | a\\|b &lt;script&gt;alert(1)&lt;/script&gt; | fgsm | robust\\_accuracy | "
                            "0.5 | &gt;= 0.6 |\n"));
  EXPECT_THAT(md, HasSubstr("| ✅ pass | ok |"));
  EXPECT_THAT(md, Not(HasSubstr("<script>")));
  EXPECT_THAT(md, HasSubstr("Model `abc`"));
}

TEST(GateReportsTest, TableListsChecksAndErrors) {
  const std::string table = GateTable(SummarizeGate(
      {Result("clean", v1::GATE_PASSED, "0.874"), Result("broken", v1::GATE_ERROR, "", "submit: NOT_FOUND: x")}));
  EXPECT_THAT(table, HasSubstr("CHECK   ENGINE  METRIC           VALUE  BOUND   RESULT\n"));
  EXPECT_THAT(table, HasSubstr("clean   fgsm    robust_accuracy  0.874  >= 0.6  PASS\n"));
  EXPECT_THAT(table, HasSubstr("broken  fgsm    robust_accuracy  -      >= 0.6  ERROR\n"));
  EXPECT_THAT(table, HasSubstr("error in 'broken': submit: NOT_FOUND: x\n"));
  EXPECT_THAT(table, HasSubstr("passed 1, failed 0, errors 1\n"));
}

}  // namespace
}  // namespace crucible
