// MarginGradient: the classification term of the Carlini-Wagner attacks and
// its gradient with respect to the *pixels* (inputs after the preprocess
// scale, before its mean/std normalisation). For logits Z and attack class t
// the margin of an example is
//   untargeted: max(0, Z_t - max_{j != t} Z_j + kappa)   (push t below another class)
//   targeted:   max(0, max_{j != t} Z_j - Z_t + kappa)   (push t above every other class)
// and the gradient is that of sum_i weight_i * margin_i, formed as a cotangent
// on the logits and carried back through one Executor (no gradient where the
// margin is 0, as with TF's tf.maximum). Not thread-safe.
//
//   ASSIGN_OR_RETURN(auto margin, MarginGradient::Create(model, config.preprocess(), 64, threads));
//   MarginGradient::Result r;
//   ASSIGN_OR_RETURN(Tensor g, margin->Gradient(x, targets, weights, kappa, /*targeted=*/false, &r));
#ifndef CRUCIBLE_ENGINES_ATTACK_MARGIN_GRADIENT_H_
#define CRUCIBLE_ENGINES_ATTACK_MARGIN_GRADIENT_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "crucible/v1/engines.pb.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/preprocess.h"

namespace crucible {

// Whether logits row z (`classes` values) is adversarial for target t with
// margin kappa (Carlini's compare()): the argmax of z with z_t lowered by
// kappa (targeted) or raised by kappa (untargeted) is t (targeted) or is not
// t (untargeted). Ties go to the lowest class.
bool IsAdversarialWithMargin(const float* z, int64_t classes, int64_t t, float confidence, bool targeted);

class MarginGradient {
 public:
  // REQUIRES: ValidatePreprocess(preprocess, model.ExampleShape()) is OK.
  static absl::StatusOr<std::unique_ptr<MarginGradient>> Create(const Model& model, const v1::Preprocess& preprocess,
                                                                int64_t batch_size, int threads);

  int64_t batch_size() const { return executor_->batch_size(); }
  // The thread budget it was created with (0: all cores); the attacks' own
  // per-example arithmetic uses it too.
  int threads() const { return threads_; }
  const Preprocessor& preprocessor() const { return preprocessor_; }

  // Logits of pixels x [n, ...], n <= batch_size().
  absl::StatusOr<Tensor> Logits(const Tensor& x);

  struct Result {
    Tensor logits;                // [n, classes]
    std::vector<float> margins;   // Per example, before weighting.
  };
  // d sum_i weights[i] * margin_i / dx for pixels x [n, ...] (x's shape);
  // logits and margins go to *result. Rows with weight 0 or margin 0 get a
  // zero gradient (and when all do, no backward pass runs).
  absl::StatusOr<Tensor> Gradient(const Tensor& x, const std::vector<int64_t>& targets,
                                  const std::vector<float>& weights, float confidence, bool targeted, Result* result);

 private:
  MarginGradient(std::unique_ptr<Executor> executor, const v1::Preprocess& preprocess, int threads)
      : executor_(std::move(executor)), preprocessor_(preprocess), threads_(threads) {}

  std::unique_ptr<Executor> executor_;
  Preprocessor preprocessor_;
  int threads_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_MARGIN_GRADIENT_H_
