#include "engines/attack/cw_l2.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <omp.h>

#include "engines/attack/cw_optimizer.h"
#include "engines/core/status_macros.h"

namespace crucible {

absl::StatusOr<Tensor> CarliniWagnerL2(MarginGradient& margin, const Tensor& x, const std::vector<int64_t>& targets,
                                       const CwL2Options& options, const CwProgress& progress) {
  const int64_t n = x.dim(0), per = x.num_elements() / n;
  const TanhBox box(margin.preprocessor().clip_min(), margin.preprocessor().clip_max());
  Tensor w0(x.shape()), x0(x.shape()), modifier(x.shape()), adversarial(x.shape()), tanh(x.shape());
  box.ToTanhSpace(x.data(), w0.data(), x.num_elements());
  box.FromTanhSpace(w0.data(), x0.data(), tanh.data(), x.num_elements());

  constexpr double kNoBound = 1e10;
  std::vector<double> lower(n, 0.0), upper(n, kNoBound), c(n, options.initial_const);
  std::vector<double> overall_best_l2(n, kNoBound);
  Tensor best = x;
  const bool repeat = options.binary_search_steps >= 10;
  const int check_every = std::max(1, options.max_iterations / 10);
  const double total_iterations = double(options.binary_search_steps) * options.max_iterations;
  TfAdam adam(n, per, options.learning_rate);
  Tensor step_direction(x.shape());
  const int threads = margin.threads() > 0 ? margin.threads() : omp_get_max_threads();
  MarginGradient::Result result;

  for (int outer = 0; outer < options.binary_search_steps; ++outer) {
    std::fill(modifier.values().begin(), modifier.values().end(), 0.0f);
    for (int64_t i = 0; i < n; ++i) adam.Reset(i);
    std::vector<double> best_l2(n, kNoBound);
    // char, not bool: rows are updated from several threads.
    std::vector<char> succeeded(n, false), active(n, true);
    if (repeat && outer == options.binary_search_steps - 1) c = upper;
    std::vector<float> weights(c.begin(), c.end());
    std::vector<double> previous(n, std::numeric_limits<double>::infinity());
    for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
      if (!progress((outer * double(options.max_iterations) + iteration) / total_iterations)) {
        return absl::CancelledError("cw cancelled");
      }
#pragma omp parallel for num_threads(threads) if (n > 1) schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        if (!active[i]) continue;
        float* w = modifier.data() + i * per;
        const float* start = w0.data() + i * per;
        float* xi = adversarial.data() + i * per;
        float* ti = tanh.data() + i * per;
        for (int64_t j = 0; j < per; ++j) {
          ti[j] = Tanh(w[j] + start[j]);
          xi[j] = ti[j] * box.mul + box.plus;
        }
      }
      ASSIGN_OR_RETURN(const Tensor gradient,
                       margin.Gradient(adversarial, targets, weights, options.confidence, options.targeted, &result));
      const int64_t classes = result.logits.num_elements() / n;
      const bool check = options.abort_early && iteration % check_every == 0;
      bool any_active = false;
#pragma omp parallel for num_threads(threads) if (n > 1) schedule(static) reduction(|| : any_active)
      for (int64_t i = 0; i < n; ++i) {
        if (!active[i]) continue;
        const float* xi = adversarial.data() + i * per;
        const float* oi = x0.data() + i * per;
        const float* ti = tanh.data() + i * per;
        const float* gi = gradient.data() + i * per;
        float* di = step_direction.data() + i * per;
        double l2 = 0;
        for (int64_t j = 0; j < per; ++j) {
          const float d = xi[j] - oi[j];
          l2 += double(d) * d;
          di[j] = (gi[j] + 2 * d) * box.mul * (1 - ti[j] * ti[j]);
        }
        adam.Step(i, di, modifier.data() + i * per);
        const double loss = l2 + double(weights[i]) * result.margins[i];
        if (check) {
          if (loss > previous[i] * 0.9999) {
            active[i] = false;
            weights[i] = 0;
            continue;
          }
          previous[i] = loss;
        }
        any_active = true;
        if (!IsAdversarialWithMargin(result.logits.data() + i * classes, classes, targets[i], options.confidence,
                         options.targeted)) {
          continue;
        }
        if (l2 < best_l2[i]) {
          best_l2[i] = l2;
          succeeded[i] = true;
        }
        if (l2 < overall_best_l2[i]) {
          overall_best_l2[i] = l2;
          std::copy(xi, xi + per, best.data() + i * per);
        }
      }
      if (!any_active) break;
    }
    for (int64_t i = 0; i < n; ++i) {
      if (succeeded[i]) {
        upper[i] = std::min(upper[i], c[i]);
      } else {
        lower[i] = std::max(lower[i], c[i]);
      }
      c[i] = upper[i] < 1e9 ? (lower[i] + upper[i]) / 2 : c[i] * 10;
    }
  }
  return best;
}

}  // namespace crucible
