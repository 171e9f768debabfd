#include "engines/attack/margin_gradient.h"

#include <limits>

#include "engines/core/status_macros.h"

namespace crucible {

bool IsAdversarialWithMargin(const float* z, int64_t classes, int64_t t, float confidence, bool targeted) {
  int64_t best = 0;
  float best_value = -std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < classes; ++c) {
    const float value = c != t ? z[c] : targeted ? z[c] - confidence : z[c] + confidence;
    if (value > best_value) {
      best_value = value;
      best = c;
    }
  }
  return targeted ? best == t : best != t;
}

absl::StatusOr<std::unique_ptr<MarginGradient>> MarginGradient::Create(const Model& model,
                                                                       const v1::Preprocess& preprocess,
                                                                       int64_t batch_size, int threads) {
  ASSIGN_OR_RETURN(auto executor, Executor::Create(model, {.batch_size = model.has_batch_dimension() ? batch_size : 1,
                                                           .num_threads = threads}));
  return std::unique_ptr<MarginGradient>(new MarginGradient(std::move(executor), preprocess, threads));
}

absl::StatusOr<Tensor> MarginGradient::Logits(const Tensor& x) {
  Tensor normalized = x;
  preprocessor_.Normalize(normalized);
  return executor_->Forward(normalized);
}

absl::StatusOr<Tensor> MarginGradient::Gradient(const Tensor& x, const std::vector<int64_t>& targets,
                                                const std::vector<float>& weights, float confidence, bool targeted,
                                                Result* result) {
  ASSIGN_OR_RETURN(result->logits, Logits(x));
  const Tensor& z = result->logits;
  const int64_t rows = z.dim(0), classes = z.num_elements() / rows;
  Tensor cotangent(z.shape());
  result->margins.assign(rows, 0.0f);
  bool any = false;
  for (int64_t r = 0; r < rows; ++r) {
    const float* logits = z.data() + r * classes;
    const int64_t t = targets[r];
    int64_t other = t == 0 ? 1 : 0;
    for (int64_t c = 0; c < classes; ++c) {
      if (c != t && logits[c] > logits[other]) other = c;
    }
    const float margin = (targeted ? logits[other] - logits[t] : logits[t] - logits[other]) + confidence;
    if (!(margin > 0)) continue;
    result->margins[r] = margin;
    if (weights[r] == 0) continue;
    float* row = cotangent.data() + r * classes;
    row[t] = targeted ? -weights[r] : weights[r];
    row[other] = targeted ? weights[r] : -weights[r];
    any = true;
  }
  if (!any) return Tensor(x.shape());
  ASSIGN_OR_RETURN(Tensor gradient, executor_->Backward(cotangent));
  preprocessor_.BackpropagateGradient(gradient);
  return std::move(gradient).Reshaped(x.shape());
}

}  // namespace crucible
