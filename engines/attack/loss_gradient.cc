#include "engines/attack/loss_gradient.h"

#include <algorithm>
#include <cmath>

#include "engines/core/status_macros.h"

namespace crucible {

absl::StatusOr<std::unique_ptr<LossGradient>> LossGradient::Create(const Model& model,
                                                                   const v1::Preprocess& preprocess,
                                                                   int64_t batch_size, int threads) {
  ASSIGN_OR_RETURN(auto executor, Executor::Create(model, {.batch_size = model.has_batch_dimension() ? batch_size : 1,
                                                           .num_threads = threads}));
  return std::unique_ptr<LossGradient>(new LossGradient(std::move(executor), preprocess));
}

absl::StatusOr<Tensor> LossGradient::Logits(const Tensor& x) {
  Tensor normalized = x;
  preprocessor_.Normalize(normalized);
  return executor_->Forward(normalized);
}

absl::StatusOr<Tensor> LossGradient::Gradient(const Tensor& x, const std::vector<int64_t>& labels, Tensor* logits) {
  ASSIGN_OR_RETURN(Tensor z, Logits(x));
  // d CE / d z = softmax(z) - onehot(label), row by row.
  const int64_t rows = z.dim(0), classes = z.num_elements() / rows;
  Tensor cotangent(z.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = z.data() + r * classes;
    float* out = cotangent.data() + r * classes;
    const float top = *std::max_element(in, in + classes);
    double total = 0;
    for (int64_t c = 0; c < classes; ++c) total += std::exp(double(in[c]) - top);
    for (int64_t c = 0; c < classes; ++c) out[c] = static_cast<float>(std::exp(double(in[c]) - top) / total);
    out[labels[r]] -= 1.0f;
  }
  ASSIGN_OR_RETURN(Tensor gradient, executor_->Backward(cotangent));
  preprocessor_.BackpropagateGradient(gradient);
  if (logits != nullptr) *logits = std::move(z);
  return gradient.Reshaped(x.shape());
}

}  // namespace crucible
