// The executor's float forward pass packaged as a ForwardPass for
// counterexample re-checks: one batch-1 Executor behind a mutex (re-checks
// are rare, so workers share it). The returned function keeps the executor
// alive; the Model must outlive it.
//
//   ASSIGN_OR_RETURN(ForwardPass forward, MakeExecutorForwardPass(model, 1));
//   ASSIGN_OR_RETURN(std::vector<double> y, forward({0.1f, 0.2f, 0.3f, 0.4f, 0.5f}));
#ifndef CRUCIBLE_ENGINES_VERIFY_EXECUTOR_FORWARD_H_
#define CRUCIBLE_ENGINES_VERIFY_EXECUTOR_FORWARD_H_

#include "absl/status/statusor.h"
#include "engines/core/model.h"
#include "engines/verify/branch_and_bound.h"

namespace crucible {

absl::StatusOr<ForwardPass> MakeExecutorForwardPass(const Model& model, int threads);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_EXECUTOR_FORWARD_H_
