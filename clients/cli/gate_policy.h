// The policy of `crucible gate`: parsing and validating a GatePolicy
// (proto/crucible/v1/gate.proto) into checks ready to submit, and judging a
// finished job's report against a check's bound.
//
// Everything that can be wrong with a policy is found before any job runs:
// malformed JSON, a missing or repeated check name, an unknown engine, a
// config that is not that engine's config message, a metric that is not a
// field of the engine's report, a bound that does not fit the field's kind
// (min/max for numbers, max_count for repeated fields, equals for enums).
// Errors are INVALID_ARGUMENT naming the check and the field.
//
//   ASSIGN_OR_RETURN(std::vector<PlannedCheck> checks, PlanGate(json, "ci/"));
//   checks[0].spec.set_model_id(model_id);   // then submit it
//   v1::GateCheckResult result = JudgeReport(checks[0], job.report());
#ifndef CRUCIBLE_CLIENTS_CLI_GATE_POLICY_H_
#define CRUCIBLE_CLIENTS_CLI_GATE_POLICY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crucible/v1/gate.pb.h"
#include "crucible/v1/jobs.pb.h"
#include "google/protobuf/descriptor.h"

namespace crucible {

// One validated check.
struct PlannedCheck {
  v1::GateCheck check;
  v1::JobSpec spec;  // The engine's config set; model and dataset ids unset.
  // The field of v1::Report the engine's report is in ("attack" for fgsm).
  const google::protobuf::FieldDescriptor* report_field = nullptr;
  // The field `check.metric()` names in that report message.
  const google::protobuf::FieldDescriptor* metric_field = nullptr;
  bool needs_dataset = true;  // Every engine but verify.
};

// The checks of the policy in `policy_json`, in order. `policy_dir` is where
// property_file paths are relative to (empty: the working directory).
absl::StatusOr<std::vector<PlannedCheck>> PlanGate(std::string_view policy_json, const std::string& policy_dir);

// The bound of `check` as shown in summaries: ">= 0.8", "<= 0.2",
// "in [0.1, 0.9]", "<= 0 elements", "== UNSAT".
std::string BoundText(const v1::GateCheck& check);

// The check's result for the report of its SUCCEEDED job: outcome GATE_PASSED
// or GATE_FAILED with the measured value, or GATE_ERROR when the report is not
// the engine's kind. Sets name, engine, metric, outcome, value, value_text,
// bound and message (job_id and seconds are the caller's).
v1::GateCheckResult JudgeReport(const PlannedCheck& planned, const v1::Report& report);

// A GATE_ERROR result of `planned` with `message` (a job that failed or could
// not be submitted).
v1::GateCheckResult ErrorResult(const PlannedCheck& planned, std::string_view message);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_GATE_POLICY_H_
