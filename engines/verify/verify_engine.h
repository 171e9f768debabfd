// VerifyEngine ("verify"): complete verification of a VNN-LIB property
// (VerifyConfig.property, the text the CLI reads from --property) on the
// job's model — UNSAT (the property holds), SAT with a counterexample that
// the executor's float forward pass and the double network both confirmed,
// UNKNOWN, or TIMEOUT after timeout_seconds (0: until the job's deadline).
// The search is branch_and_bound.h (falsification, CROWN bounds, input or
// ReLU splitting, Z3 leaves) on the model's affine/ReLU form (network.h).
//
// Validate checks at submit time that the property parses and that its X/Y
// counts match the model's input and output sizes (INVALID_ARGUMENT naming
// the line and field), and that the model has an affine/ReLU form
// (FAILED_PRECONDITION naming the op and node otherwise).
//
//   crucible run --engine verify --model acasxu_1_1.onnx --property prop_3.vnnlib
#ifndef CRUCIBLE_ENGINES_VERIFY_VERIFY_ENGINE_H_
#define CRUCIBLE_ENGINES_VERIFY_VERIFY_ENGINE_H_

#include "engines/engine.h"

namespace crucible {

class VerifyEngine final : public Engine {
 public:
  std::string_view name() const override { return "verify"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_VERIFY_ENGINE_H_
