#include "engines/attack/loss_gradient.h"

#include <algorithm>
#include <cmath>
#include <vector>

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
  // d CE / d z = softmax(z) - onehot(label), row by row, in double. The true
  // class's p - 1 is computed as minus the other classes' probabilities: for a
  // near-certain example p - 1 in float keeps almost no digits.
  const int64_t rows = z.dim(0), classes = z.num_elements() / rows;
  Tensor cotangent(z.shape());
  std::vector<double> p(classes);
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = z.data() + r * classes;
    float* out = cotangent.data() + r * classes;
    const float top = *std::max_element(in, in + classes);
    double total = 0;
    for (int64_t c = 0; c < classes; ++c) total += p[c] = std::exp(double(in[c]) - top);
    double others = 0;
    for (int64_t c = 0; c < classes; ++c) {
      p[c] /= total;
      if (c != labels[r]) others += p[c];
      out[c] = static_cast<float>(p[c]);
    }
    out[labels[r]] = static_cast<float>(-others);
  }
  ASSIGN_OR_RETURN(Tensor gradient, executor_->Backward(cotangent));
  preprocessor_.BackpropagateGradient(gradient);
  if (logits != nullptr) *logits = std::move(z);
  return gradient.Reshaped(x.shape());
}

}  // namespace crucible
