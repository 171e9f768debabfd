// NapForwardPass: the executor's float forward pass for re-checking NAP
// witnesses — the logits and every hidden ReLU layer's outputs for one input,
// so that a counterexample is accepted only if the float network (not just
// the double AffineNetwork) puts every fixed neuron in its state and
// misclassifies it. Hidden layer k is the k-th Relu node in graph order (the
// ReLU after AffineNetwork::layers[k]); a unit is active when its output is > 0.
//
// The returned function holds one batch-1 Executor behind a mutex (re-checks
// are rare); it keeps the executor alive, and the Model must outlive it.
//
//   ASSIGN_OR_RETURN(NapForwardPass forward, MakeExecutorNapForwardPass(model, 1));
//   ASSIGN_OR_RETURN(NapForward f, forward(std::vector<float>(784, 0.5f)));
//   bool on = f.relu_outputs[0][17] > 0;
#ifndef CRUCIBLE_ENGINES_NAP_NAP_FORWARD_PASS_H_
#define CRUCIBLE_ENGINES_NAP_NAP_FORWARD_PASS_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/model.h"

namespace crucible {

struct NapForward {
  std::vector<double> logits;
  std::vector<std::vector<double>> relu_outputs;  // per hidden ReLU layer, flattened
};

using NapForwardPass = std::function<absl::StatusOr<NapForward>(const std::vector<float>& input)>;

// FAILED_PRECONDITION when the model has no Relu node.
absl::StatusOr<NapForwardPass> MakeExecutorNapForwardPass(const Model& model, int threads);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_NAP_FORWARD_PASS_H_
