#include "engines/attack/cw_linf.h"

#include <algorithm>
#include <cmath>

#include <omp.h>

#include "engines/attack/cw_optimizer.h"
#include "engines/core/status_macros.h"

namespace crucible {

absl::StatusOr<Tensor> CarliniWagnerLinf(MarginGradient& margin, const Tensor& x, const std::vector<int64_t>& targets,
                                         const CwLinfOptions& options, const CwProgress& progress) {
  const int64_t n = x.dim(0), per = x.num_elements() / n;
  const float low = margin.preprocessor().clip_min(), high = margin.preprocessor().clip_max();
  const TanhBox box(low, high);
  const float tau_floor = (high - low) / 256;
  Tensor timg(x.shape()), x0(x.shape()), start(x.shape()), modifier(x.shape()), adversarial(x.shape()),
      tanh(x.shape());
  box.ToTanhSpace(x.data(), timg.data(), x.num_elements());
  box.FromTanhSpace(timg.data(), x0.data(), tanh.data(), x.num_elements());
  start = timg;
  Tensor solution = x;

  std::vector<float> tau(n, high - low), c(n, options.initial_const), weights(n);
  std::vector<int> iteration(n, 0);
  std::vector<char> finished(n, false);  // char, not bool: rows are updated from several threads.
  TfAdam adam(n, per, options.learning_rate);
  Tensor step_direction(x.shape());
  const int threads = margin.threads() > 0 ? margin.threads() : omp_get_max_threads();
  MarginGradient::Result result;
  const double tau_steps = std::log(256.0);

  while (std::find(finished.begin(), finished.end(), false) != finished.end()) {
    double done = 0;
    for (int64_t i = 0; i < n; ++i) {
      done += finished[i] ? 1.0 : std::min(1.0, std::log((high - low) / tau[i]) / tau_steps);
      weights[i] = finished[i] ? 0.0f : c[i];
    }
    if (!progress(done / n)) return absl::CancelledError("cw cancelled");
#pragma omp parallel for num_threads(threads) if (n > 1) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      if (finished[i]) continue;
      const float* w = modifier.data() + i * per;
      const float* s = start.data() + i * per;
      float* xi = adversarial.data() + i * per;
      float* ti = tanh.data() + i * per;
      for (int64_t j = 0; j < per; ++j) {
        ti[j] = Tanh(w[j] + s[j]);
        xi[j] = ti[j] * box.mul + box.plus;
      }
    }
    ASSIGN_OR_RETURN(const Tensor gradient,
                     margin.Gradient(adversarial, targets, weights, options.confidence, options.targeted, &result));
    const int64_t classes = result.logits.num_elements() / n;
#pragma omp parallel for num_threads(threads) if (n > 1) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      if (finished[i]) continue;
      float* xi = adversarial.data() + i * per;
      const float* oi = x0.data() + i * per;
      const float* ti = tanh.data() + i * per;
      const float* gi = gradient.data() + i * per;
      float* di = step_direction.data() + i * per;
      double excess = 0;
      for (int64_t j = 0; j < per; ++j) {
        const float d = xi[j] - oi[j];
        const float over = std::abs(d) - tau[i];
        excess += over > 0 ? over : 0;
        const float excess_gradient = over > 0 ? (d > 0 ? 1.0f : -1.0f) : 0.0f;
        di[j] = (gi[j] + excess_gradient) * box.mul * (1 - ti[j] * ti[j]);
      }
      const double loss = double(c[i]) * result.margins[i] + excess;
      const bool may_stop = options.abort_early || iteration[i] == options.max_iterations - 1;
      if (may_stop && loss < 1e-4 * c[i] &&
          IsAdversarialWithMargin(result.logits.data() + i * classes, classes, targets[i], options.confidence,
                                  options.targeted)) {
        float actual = 0;
        const float* original = x.data() + i * per;
        for (int64_t j = 0; j < per; ++j) actual = std::max(actual, std::abs(xi[j] - original[j]));
        std::copy(xi, xi + per, solution.data() + i * per);
        tau[i] = std::min(tau[i], actual) * options.decrease_factor;
        if (tau[i] <= tau_floor) {
          finished[i] = true;
          continue;
        }
        box.ToTanhSpace(xi, start.data() + i * per, per);
        std::fill_n(modifier.data() + i * per, per, 0.0f);
        adam.Reset(i);
        iteration[i] = 0;
        continue;
      }
      adam.Step(i, di, modifier.data() + i * per);
      if (++iteration[i] == options.max_iterations) {
        iteration[i] = 0;
        c[i] *= options.const_factor;
        finished[i] = c[i] >= options.largest_const;
      }
    }
  }
  return solution;
}

}  // namespace crucible
