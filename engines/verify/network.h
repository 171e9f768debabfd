// AffineNetwork: a classifier seen as alternating affine maps and ReLUs — the
// form the verification engines (verify, dlv, nap) reason about.
//
// ExtractAffineNetwork walks the core's graph IR (a chain of nodes from the
// input to the output) and composes every linear operator between two ReLUs
// into one dense affine map: Gemm, MatMul, Add/Sub/Mul/Div with a constant,
// Conv (as a dense matrix), BatchNormalization (folded), and the shape-only
// Flatten/Reshape/Squeeze/Unsqueeze/Identity/Dropout. Anything else (MaxPool,
// Sigmoid, a branch, ...) is FAILED_PRECONDITION naming the op type and node.
// Weights are kept in double precision; Evaluate is the double forward pass
// used (with the executor's float pass) to re-check counterexamples.
//
//   ASSIGN_OR_RETURN(Model model, Model::FromOnnxFile("acasxu_1_1.onnx"));
//   ASSIGN_OR_RETURN(AffineNetwork net, ExtractAffineNetwork(model));
//   std::vector<double> logits = net.Evaluate({0.6, -0.5, 0.0, 0.45, -0.45});
#ifndef CRUCIBLE_ENGINES_VERIFY_NETWORK_H_
#define CRUCIBLE_ENGINES_VERIFY_NETWORK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/model.h"

namespace crucible {

// One affine map, optionally followed by ReLU.
struct AffineLayer {
  std::string name;              // ONNX node name of the (last) affine op
  int64_t inputs = 0;
  int64_t outputs = 0;
  std::vector<double> weights;   // outputs x inputs, row-major
  std::vector<double> bias;      // outputs
  bool relu = false;             // ReLU applied after the affine map

  double weight(int64_t out, int64_t in) const { return weights[out * inputs + in]; }
};

// A classifier as alternating affine maps and ReLUs (Gemm/MatMul/Add/Sub, Conv as a
// dense affine map, BatchNorm folded, Flatten/Reshape/Identity/Dropout absorbed).
struct AffineNetwork {
  std::vector<int64_t> input_shape;   // model input without the batch dimension
  std::vector<AffineLayer> layers;    // the last layer has relu == false: the logits
  int64_t input_size() const;
  int64_t output_size() const;
  // Double-precision forward pass (for soundness checks and counterexample re-checks
  // the executor's float forward pass is used too). REQUIRES: input.size() == input_size().
  std::vector<double> Evaluate(const std::vector<double>& input) const;
};

// FAILED_PRECONDITION naming the op type and node for anything else (MaxPool, Sigmoid, ...).
absl::StatusOr<AffineNetwork> ExtractAffineNetwork(const Model& model);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_NETWORK_H_
