#include "engines/verify/verify_engine.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "engines/core/status_macros.h"
#include "engines/verify/branch_and_bound.h"
#include "engines/verify/executor_forward.h"
#include "engines/verify/network.h"
#include "engines/verify/vnnlib.h"

namespace crucible {
namespace {

absl::StatusOr<Property> ParseAndMatch(const v1::VerifyConfig& config, const AffineNetwork& net) {
  if (config.property().empty()) return absl::InvalidArgumentError("verify.property is empty (a VNN-LIB text)");
  absl::StatusOr<Property> property = ParseVnnLib(config.property());
  if (!property.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("verify.property: ", property.status().message()));
  }
  if (property->num_inputs != net.input_size()) {
    return absl::InvalidArgumentError(absl::StrCat("verify.property line ", property->first_input_line, ": declares ",
                                                   property->num_inputs, " inputs X_i, the model takes ",
                                                   net.input_size()));
  }
  if (property->num_outputs != net.output_size()) {
    return absl::InvalidArgumentError(absl::StrCat("verify.property line ", property->first_output_line,
                                                   ": declares ", property->num_outputs,
                                                   " outputs Y_j, the model has ", net.output_size()));
  }
  return property;
}

v1::VerificationResult ToProto(VerifierOutcome outcome) {
  switch (outcome) {
    case VerifierOutcome::kUnsat: return v1::UNSAT;
    case VerifierOutcome::kSat: return v1::SAT;
    case VerifierOutcome::kTimeout: return v1::TIMEOUT;
    default: return v1::UNKNOWN;
  }
}

}  // namespace

absl::Status VerifyEngine::Validate(const v1::JobSpec& spec, const Model& model, const Dataset*) const {
  const v1::VerifyConfig& config = spec.verify();
  if (config.timeout_seconds() < 0) return absl::InvalidArgumentError("verify.timeout_seconds must not be negative");
  if (config.threads() < 0) return absl::InvalidArgumentError("verify.threads must not be negative");
  ASSIGN_OR_RETURN(AffineNetwork net, ExtractAffineNetwork(model));
  return ParseAndMatch(config, net).status();
}

absl::StatusOr<v1::Report> VerifyEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  const auto start = std::chrono::steady_clock::now();
  const v1::VerifyConfig& config = spec.verify();
  const Model& model = context.model();
  context.ReportProgress(0.0, "prepare", "extracting the affine/ReLU network");
  ASSIGN_OR_RETURN(AffineNetwork net, ExtractAffineNetwork(model));
  ASSIGN_OR_RETURN(Property property, ParseAndMatch(config, net));
  ASSIGN_OR_RETURN(ForwardPass forward, MakeExecutorForwardPass(model, 1));
  VerifierOptions options;
  options.threads = config.threads() > 0 ? std::min(config.threads(), context.threads()) : context.threads();
  const double until_deadline = absl::ToDoubleSeconds(context.deadline() - absl::Now());
  options.timeout_seconds = config.timeout_seconds();
  if (until_deadline > 0 && until_deadline < absl::ToDoubleSeconds(absl::InfiniteDuration())) {
    // Leave a moment to report before the job's own limit.
    const double budget = std::max(0.1, until_deadline - 1.0);
    options.timeout_seconds = options.timeout_seconds > 0 ? std::min(options.timeout_seconds, budget) : budget;
  }
  absl::StatusOr<VerifierResult> result;
  try {
    result = VerifyProperty(
        net, property, options, forward, [&context] { return context.Cancelled(); },
        [&context](double fraction, const std::string& message) {
          context.ReportProgress(fraction, "branch and bound", message);
        });
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("verification failed: ", e.what()));
  }
  if (!result.ok()) return result.status();
  if (result->outcome == VerifierOutcome::kCancelled) return absl::CancelledError("verification cancelled");
  v1::Report report;
  v1::VerificationReport& out = *report.mutable_verification();
  out.set_result(ToProto(result->outcome));
  if (result->outcome == VerifierOutcome::kSat) {
    for (double v : result->input) out.mutable_counterexample()->add_input(v);
    for (double v : result->output) out.mutable_counterexample()->add_output(v);
  }
  out.set_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  out.set_detail(result->detail);
  context.ReportProgress(1.0, "done", v1::VerificationResult_Name(out.result()));
  return report;
}

}  // namespace crucible
