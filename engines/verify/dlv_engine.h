// DlvEngine ("dlv"): safety verification of a classification decision in a
// region around an input, layer by layer, in the style of Huang, Kwiatkowska,
// Wang and Wu, "Safety Verification of Deep Neural Networks" (CAV 2017).
//
// For each analysed dataset input x (class c = the model's prediction) and the
// pixel box B = {x' : |x' - x|_inf <= epsilon} clipped to the pixel range:
//  - layer 0: features (pixels) are selected by gradient or activation
//    magnitude, the manipulation family around x is discretised (`steps` per
//    side, derived from error_bound when asked) and its ladders are searched
//    (exhaustively when the grid fits the budget) with executor forward
//    passes; misclassified grid points are re-checked by another forward pass
//    and reported as adversarial examples;
//  - layers 1..L-1 (after each affine map and ReLU): Z3 proves that the
//    layer's region contains the image of the previous layer's region
//    (widening spans until it does), asks whether any point of the region
//    changes the class (if not, the whole box B is proved safe), and the
//    region's own discretised family is searched on the rest of the network.
// The report (DlvReport) states per input exactly what was proved, with
// per-layer spans, manipulations, Z3 calls and Z3 time.
//
// Supports what ExtractAffineNetwork supports: MLPs and CNNs without pooling
// (Gemm/MatMul/Conv/BatchNorm/Add/Sub/Relu/Flatten/Reshape); anything else
// (MaxPool, AveragePool, Sigmoid, ...) is FAILED_PRECONDITION at submit.
#ifndef CRUCIBLE_ENGINES_VERIFY_DLV_ENGINE_H_
#define CRUCIBLE_ENGINES_VERIFY_DLV_ENGINE_H_

#include "engines/engine.h"

namespace crucible {

class DlvEngine final : public Engine {
 public:
  std::string_view name() const override { return "dlv"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_DLV_ENGINE_H_
