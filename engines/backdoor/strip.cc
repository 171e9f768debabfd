#include "engines/backdoor/strip.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "engines/core/status_macros.h"

namespace crucible {
namespace {

// Mean entropy of the predictions on `overlays` blends of row `row` of
// `inputs` with random rows of `clean` (never the same clean row as the input
// when `self` is that row's index in `clean`).
absl::StatusOr<double> MeanEntropy(LossGradient& loss, const Tensor& inputs, int64_t row, const Tensor& clean,
                                   int64_t self, int overlays, std::mt19937_64& rng) {
  const int64_t per_example = inputs.num_elements() / inputs.dim(0);
  const float low = loss.preprocessor().clip_min(), high = loss.preprocessor().clip_max();
  const float* x = inputs.data() + row * per_example;
  std::uniform_int_distribution<int64_t> pick(0, clean.dim(0) - 1);
  double total = 0;
  for (int done = 0; done < overlays;) {
    const int64_t count = std::min<int64_t>(overlays - done, loss.batch_size());
    Shape shape = inputs.shape();
    shape[0] = count;
    Tensor blends(shape);
    for (int64_t b = 0; b < count; ++b) {
      int64_t other = pick(rng);
      while (other == self) other = pick(rng);
      const float* o = clean.data() + other * per_example;
      float* out = blends.data() + b * per_example;
      for (int64_t k = 0; k < per_example; ++k) out[k] = std::clamp(x[k] + o[k], low, high);
    }
    ASSIGN_OR_RETURN(const Tensor logits, loss.Logits(blends));
    const int64_t classes = logits.num_elements() / count;
    for (int64_t b = 0; b < count; ++b) {
      const float* z = logits.data() + b * classes;
      const double top = *std::max_element(z, z + classes);
      double sum = 0;
      for (int64_t c = 0; c < classes; ++c) sum += std::exp(z[c] - top);
      double entropy = 0;
      for (int64_t c = 0; c < classes; ++c) {
        const double p = std::exp(z[c] - top) / sum;
        if (p > 0) entropy -= p * std::log(p);
      }
      total += entropy;
    }
    done += count;
  }
  return total / overlays;
}

}  // namespace

absl::StatusOr<StripResult> RunStrip(LossGradient& loss, const Tensor& clean, const Tensor& checked,
                                     const StripOptions& options, const std::function<bool()>& cancelled,
                                     const std::function<void(double)>& progress) {
  std::mt19937_64 rng(options.seed);
  const int64_t n_clean = clean.dim(0), n_checked = checked.dim(0);
  const double work = double(n_clean + n_checked);
  std::vector<double> calibration;
  for (int64_t i = 0; i < n_clean; ++i) {
    if (cancelled()) return absl::CancelledError("strip cancelled");
    ASSIGN_OR_RETURN(const double h, MeanEntropy(loss, clean, i, clean, i, options.overlays, rng));
    calibration.push_back(h);
    progress((i + 1) / work);
  }
  StripResult result;
  std::vector<double> sorted = calibration;
  std::sort(sorted.begin(), sorted.end());
  // The threshold rejects floor(frr * n) calibration inputs: those strictly below it.
  const int64_t rejected = std::min<int64_t>(n_clean - 1, int64_t(std::floor(options.false_rejection_rate * n_clean)));
  result.threshold = sorted[rejected];
  result.calibration_rejection_rate =
      double(std::count_if(calibration.begin(), calibration.end(), [&](double h) { return h < result.threshold; })) /
      n_clean;
  for (int64_t i = 0; i < n_checked; ++i) {
    if (cancelled()) return absl::CancelledError("strip cancelled");
    ASSIGN_OR_RETURN(const double h, MeanEntropy(loss, checked, i, clean, -1, options.overlays, rng));
    result.entropies.push_back(h);
    result.rejected.push_back(h < result.threshold);
    progress((n_clean + i + 1) / work);
  }
  return result;
}

}  // namespace crucible
