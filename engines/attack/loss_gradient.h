// LossGradient: logits, and the gradient of the summed cross-entropy loss
// with respect to the *pixels* (inputs after the preprocess scale, before its
// mean/std normalisation), for the gradient-based attacks. Wraps one
// Executor; not thread-safe.
//
//   ASSIGN_OR_RETURN(auto loss, LossGradient::Create(model, config.preprocess(), 64, threads));
//   ASSIGN_OR_RETURN(Tensor g, loss->Gradient(x, labels, &logits));   // d sum_i CE(f(x_i), labels_i) / dx
#ifndef CRUCIBLE_ENGINES_ATTACK_LOSS_GRADIENT_H_
#define CRUCIBLE_ENGINES_ATTACK_LOSS_GRADIENT_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "crucible/v1/engines.pb.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/preprocess.h"

namespace crucible {

class LossGradient {
 public:
  static absl::StatusOr<std::unique_ptr<LossGradient>> Create(const Model& model, const v1::Preprocess& preprocess,
                                                              int64_t batch_size, int threads);

  int64_t batch_size() const { return executor_->batch_size(); }
  const Preprocessor& preprocessor() const { return preprocessor_; }

  // Logits of pixels x [n, ...], n <= batch_size().
  absl::StatusOr<Tensor> Logits(const Tensor& x);
  // Gradient with respect to x of sum_i CE(f(x_i), labels[i]); the logits of
  // x go to *logits when it is not null.
  absl::StatusOr<Tensor> Gradient(const Tensor& x, const std::vector<int64_t>& labels, Tensor* logits);

 private:
  LossGradient(std::unique_ptr<Executor> executor, const v1::Preprocess& preprocess)
      : executor_(std::move(executor)), preprocessor_(preprocess) {}

  std::unique_ptr<Executor> executor_;
  Preprocessor preprocessor_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_LOSS_GRADIENT_H_
