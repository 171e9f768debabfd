#include "clients/cli/gate_policy.h"

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

absl::Status PlanError(std::string_view json) {
  absl::StatusOr<std::vector<PlannedCheck>> checks = PlanGate(json, "");
  return checks.ok() ? absl::OkStatus() : checks.status();
}

PlannedCheck PlanOne(std::string_view check_json) {
  absl::StatusOr<std::vector<PlannedCheck>> checks =
      PlanGate(absl::StrCat(R"({"checks": [)", std::string(check_json), "]}"), "");
  EXPECT_TRUE(checks.ok()) << checks.status();
  return checks.ok() ? (*checks)[0] : PlannedCheck{};
}

TEST(GatePolicyTest, PlansEveryCheckWithItsEngineConfigAndReportField) {
  absl::StatusOr<std::vector<PlannedCheck>> checks = PlanGate(R"({"checks": [
      {"name": "clean", "engine": "evaluate", "config": {"preprocess": {"scale": 0.5}, "batch_size": 64},
       "metric": "accuracy", "min": 0.8},
      {"name": "fgsm", "engine": "fgsm", "config": {"epsilon": 0.1, "norm": "L2"},
       "metric": "robust_accuracy", "min": 0.5, "max": 0.9},
      {"name": "trojan", "engine": "backdoor", "metric": "flagged_classes", "max_count": 0}]})",
                                                              "");
  ASSERT_TRUE(checks.ok()) << checks.status();
  ASSERT_EQ(checks->size(), 3u);
  const PlannedCheck& clean = (*checks)[0];
  ASSERT_TRUE(clean.spec.has_evaluate());
  EXPECT_EQ(clean.spec.evaluate().batch_size(), 64);
  EXPECT_EQ(clean.spec.evaluate().preprocess().scale(), 0.5f);
  EXPECT_EQ(clean.report_field->name(), "evaluation");
  EXPECT_EQ(clean.metric_field->full_name(), "crucible.v1.EvaluationReport.accuracy");
  EXPECT_TRUE(clean.needs_dataset);

  const PlannedCheck& fgsm = (*checks)[1];
  ASSERT_TRUE(fgsm.spec.has_fgsm());
  EXPECT_EQ(fgsm.spec.fgsm().epsilon(), 0.1f);
  EXPECT_EQ(fgsm.spec.fgsm().norm(), v1::L2);
  EXPECT_EQ(fgsm.metric_field->full_name(), "crucible.v1.AttackReport.robust_accuracy");
  EXPECT_EQ(BoundText(fgsm.check), "in [0.5, 0.9]");

  const PlannedCheck& trojan = (*checks)[2];
  EXPECT_TRUE(trojan.spec.has_backdoor());
  EXPECT_EQ(trojan.report_field->name(), "backdoor");
  EXPECT_EQ(BoundText(trojan.check), "<= 0 elements");
  EXPECT_EQ(clean.spec.model_id(), "");
}

TEST(GatePolicyTest, TheExamplePolicyOfTheDocsIsValid) {
  std::ifstream in(std::string(CRUCIBLE_FIXTURES_DIR) + "/../../docs/ci/gate_policy.json");
  ASSERT_TRUE(in.good());
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<std::vector<PlannedCheck>> checks = PlanGate(json, "");
  ASSERT_TRUE(checks.ok()) << checks.status();
  EXPECT_EQ(checks->size(), 4u);
}

TEST(GatePolicyTest, VerifyReadsItsPropertyFileRelativeToThePolicy) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/prop.vnnlib") << "(declare-const X_0 Real)\n";
  absl::StatusOr<std::vector<PlannedCheck>> checks = PlanGate(
      R"({"checks": [{"name": "p1", "engine": "verify", "config": {"timeout_seconds": 5},
          "property_file": "prop.vnnlib", "metric": "result", "equals": "UNSAT"}]})",
      dir);
  ASSERT_TRUE(checks.ok()) << checks.status();
  EXPECT_EQ((*checks)[0].spec.verify().property(), "(declare-const X_0 Real)\n");
  EXPECT_EQ((*checks)[0].spec.verify().timeout_seconds(), 5.0);
  EXPECT_FALSE((*checks)[0].needs_dataset);
  EXPECT_EQ(BoundText((*checks)[0].check), "== UNSAT");

  EXPECT_THAT(PlanError(R"({"checks": [{"name": "p1", "engine": "verify", "property_file": "missing.vnnlib",
                            "metric": "result", "equals": "UNSAT"}]})")
                  .message(),
              AllOf(HasSubstr("check 'p1'"), HasSubstr("missing.vnnlib")));
  EXPECT_THAT(PlanError(R"({"checks": [{"name": "p1", "engine": "verify", "metric": "result", "equals": "UNSAT"}]})")
                  .message(),
              HasSubstr("engine verify needs property_file"));
  EXPECT_THAT(PlanError(R"({"checks": [{"name": "e", "engine": "evaluate", "property_file": "x",
                            "metric": "accuracy", "min": 0}]})")
                  .message(),
              HasSubstr("property_file is only for engine verify"));
}

TEST(GatePolicyTest, MalformedPoliciesNameTheCheckAndTheField) {
  struct Case {
    std::string json;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {R"({"checks": [)", {"not valid JSON of crucible.v1.GatePolicy"}},
      {R"({"checks": [], "extra": 1})", {"not valid JSON"}},
      {R"({"checks": []})", {"no checks"}},
      {R"({"checks": [{"engine": "evaluate", "metric": "accuracy", "min": 0}]})", {"checks[0]: no name"}},
      {R"({"checks": [{"name": "a", "engine": "evaluate", "metric": "accuracy", "min": 0},
                      {"name": "a", "engine": "evaluate", "metric": "accuracy", "min": 0}]})",
       {"checks[1]", "'a' is used by an earlier check"}},
      {R"({"checks": [{"name": "a", "engine": "fgsn", "metric": "robust_accuracy", "min": 0}]})",
       {"check 'a'", "unknown engine 'fgsn'"}},
      {R"({"checks": [{"name": "a", "metric": "robust_accuracy", "min": 0}]})", {"check 'a'", "no engine"}},
      {R"({"checks": [{"name": "a", "engine": "fgsm", "config": {"epsilonn": 0.1}, "metric": "robust_accuracy",
                       "min": 0}]})",
       {"check 'a'", "FgsmConfig", "epsilonn"}},
      {R"({"checks": [{"name": "a", "engine": "fgsm", "metric": "robust_acc", "min": 0}]})",
       {"check 'a'", "unknown metric 'robust_acc'", "crucible.v1.AttackReport", "robust_accuracy"}},
      {R"({"checks": [{"name": "a", "engine": "fgsm", "min": 0}]})", {"check 'a'", "no metric"}},
      {R"({"checks": [{"name": "a", "engine": "fgsm", "metric": "robust_accuracy"}]})", {"check 'a'", "no bound"}},
      {R"({"checks": [{"name": "a", "engine": "fgsm", "metric": "robust_accuracy", "max_count": 1}]})",
       {"check 'a'", "'robust_accuracy' is a number"}},
      {R"({"checks": [{"name": "a", "engine": "fgsm", "metric": "robust_accuracy", "min": 0.9, "max": 0.1}]})",
       {"check 'a'", "min 0.9 is above max 0.1"}},
      {R"({"checks": [{"name": "a", "engine": "backdoor", "metric": "flagged_classes", "min": 1}]})",
       {"check 'a'", "'flagged_classes' is a list"}},
      {R"({"checks": [{"name": "a", "engine": "backdoor", "metric": "flagged_classes", "max_count": -1}]})",
       {"check 'a'", "max_count must be >= 0"}},
      {R"({"checks": [{"name": "a", "engine": "unlearnable", "metric": "verdict", "max": 1}]})",
       {"check 'a'", "'verdict' is an enum", "CLEAN"}},
      {R"({"checks": [{"name": "a", "engine": "unlearnable", "metric": "verdict", "equals": "DIRTY"}]})",
       {"check 'a'", "'DIRTY' is not a value of Verdict"}},
      {R"({"checks": [{"name": "a", "engine": "evaluate", "metric": "confusion_matrix", "max": 1}]})",
       {"check 'a'", "'confusion_matrix' is neither"}},
  };
  for (const Case& c : cases) {
    const absl::Status status = PlanError(c.json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.json;
    for (const std::string& expected : c.expected) EXPECT_THAT(status.message(), HasSubstr(expected)) << c.json;
  }
}

v1::Report AttackReport(double robust_accuracy) {
  v1::Report report;
  report.mutable_attack()->set_robust_accuracy(robust_accuracy);
  return report;
}

TEST(GatePolicyTest, NumericBoundsAreInclusiveAndNanFails) {
  const PlannedCheck min = PlanOne(R"({"name": "r", "engine": "pgd", "metric": "robust_accuracy", "min": 0.6})");
  v1::GateCheckResult at_bound = JudgeReport(min, AttackReport(0.6));
  EXPECT_EQ(at_bound.outcome(), v1::GATE_PASSED);
  EXPECT_EQ(at_bound.value(), 0.6);
  EXPECT_EQ(at_bound.message(), "");

  v1::GateCheckResult below = JudgeReport(min, AttackReport(0.59));
  EXPECT_EQ(below.outcome(), v1::GATE_FAILED);
  EXPECT_EQ(below.value_text(), "0.59");
  EXPECT_EQ(below.bound(), ">= 0.6");
  EXPECT_EQ(below.message(), "robust_accuracy = 0.59, required >= 0.6");
  EXPECT_EQ(below.name(), "r");
  EXPECT_EQ(below.engine(), "pgd");

  EXPECT_EQ(JudgeReport(min, AttackReport(std::numeric_limits<double>::quiet_NaN())).outcome(), v1::GATE_FAILED);

  const PlannedCheck max = PlanOne(R"({"name": "s", "engine": "fgsm", "metric": "success_rate", "max": 0.25})");
  v1::Report report;
  report.mutable_attack()->set_success_rate(0.25);
  EXPECT_EQ(JudgeReport(max, report).outcome(), v1::GATE_PASSED);
  report.mutable_attack()->set_success_rate(0.2501);
  EXPECT_EQ(JudgeReport(max, report).outcome(), v1::GATE_FAILED);

  const PlannedCheck count = PlanOne(R"({"name": "n", "engine": "evaluate", "metric": "num_correct", "min": 900})");
  v1::Report evaluation;
  evaluation.mutable_evaluation()->set_num_correct(874);
  v1::GateCheckResult counted = JudgeReport(count, evaluation);
  EXPECT_EQ(counted.outcome(), v1::GATE_FAILED);
  EXPECT_EQ(counted.value(), 874);
}

TEST(GatePolicyTest, ListsAreCountedAndEnumsCompared) {
  const PlannedCheck flagged =
      PlanOne(R"({"name": "t", "engine": "backdoor", "metric": "flagged_classes", "max_count": 0})");
  v1::Report report;
  report.mutable_backdoor();
  EXPECT_EQ(JudgeReport(flagged, report).outcome(), v1::GATE_PASSED);
  report.mutable_backdoor()->add_flagged_classes(3);
  report.mutable_backdoor()->add_flagged_classes(7);
  v1::GateCheckResult result = JudgeReport(flagged, report);
  EXPECT_EQ(result.outcome(), v1::GATE_FAILED);
  EXPECT_EQ(result.value(), 2);
  EXPECT_EQ(result.value_text(), "2 [3, 7]");
  EXPECT_EQ(result.message(), "flagged_classes = 2 [3, 7], required <= 0 elements");

  const PlannedCheck holds = PlanOne(R"json({"name": "v", "engine": "verify", "config": {"property": "(assert true)"},
                                             "metric": "result", "equals": "UNSAT"})json");
  v1::Report verification;
  verification.mutable_verification()->set_result(v1::UNSAT);
  EXPECT_EQ(JudgeReport(holds, verification).outcome(), v1::GATE_PASSED);
  verification.mutable_verification()->set_result(v1::SAT);
  v1::GateCheckResult violated = JudgeReport(holds, verification);
  EXPECT_EQ(violated.outcome(), v1::GATE_FAILED);
  EXPECT_EQ(violated.value_text(), "SAT");
  EXPECT_EQ(violated.message(), "result = SAT, required == UNSAT");
}

TEST(GatePolicyTest, AReportOfAnotherKindIsAnError) {
  const PlannedCheck check = PlanOne(R"({"name": "a", "engine": "evaluate", "metric": "accuracy", "min": 0.5})");
  v1::GateCheckResult result = JudgeReport(check, AttackReport(0.9));
  EXPECT_EQ(result.outcome(), v1::GATE_ERROR);
  EXPECT_THAT(result.message(), HasSubstr("not the engine's crucible.v1.EvaluationReport"));
  EXPECT_EQ(JudgeReport(check, v1::Report()).outcome(), v1::GATE_ERROR);
}

}  // namespace
}  // namespace crucible
