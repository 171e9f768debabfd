#include "engines/backdoor/neural_cleanse.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "engines/core/batched_forward.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr int kStepsPerRound = 10;
constexpr int kPatience = 5;
constexpr double kCostUp = 2.0;
constexpr double kCostDown = 2.8284271247461903;  // 2^1.5
constexpr double kBeta1 = 0.5, kBeta2 = 0.9, kAdamEpsilon = 1e-8;
constexpr double kMadConsistency = 1.4826;
constexpr double kAnomalyThreshold = 2.0;

// Adam over one parameter vector.
class Adam {
 public:
  Adam(size_t size, double learning_rate) : m_(size, 0.0), v_(size, 0.0), learning_rate_(learning_rate) {}

  void Step(std::vector<double>& parameters, const std::vector<double>& gradient) {
    ++t_;
    const double correction1 = 1 - std::pow(kBeta1, t_), correction2 = 1 - std::pow(kBeta2, t_);
    for (size_t i = 0; i < parameters.size(); ++i) {
      m_[i] = kBeta1 * m_[i] + (1 - kBeta1) * gradient[i];
      v_[i] = kBeta2 * v_[i] + (1 - kBeta2) * gradient[i] * gradient[i];
      parameters[i] -= learning_rate_ * (m_[i] / correction1) / (std::sqrt(v_[i] / correction2) + kAdamEpsilon);
    }
  }

 private:
  std::vector<double> m_, v_;
  double learning_rate_;
  int t_ = 0;
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

absl::StatusOr<ReversedTrigger> ReverseTrigger(LossGradient& loss, const Tensor& clean, int64_t label,
                                               const NeuralCleanseOptions& options,
                                               const std::function<bool()>& cancelled) {
  const Shape example(clean.shape().begin() + 1, clean.shape().end());
  const int64_t per_example = NumElements(example);
  // The mask covers the spatial positions and is shared over channels.
  const int64_t channels = example.size() == 3 ? example[0] : 1;
  const int64_t positions = per_example / channels;
  const double low = loss.preprocessor().clip_min(), range = loss.preprocessor().clip_max() - low;
  const int64_t n = clean.dim(0), batch = std::min(n, loss.batch_size());

  std::mt19937_64 rng(options.seed * 1000003 + label);
  std::uniform_real_distribution<double> init(-2.0, 2.0);
  std::vector<double> mask_param(positions), pattern_param(per_example);
  for (double& w : mask_param) w = init(rng);
  for (double& w : pattern_param) w = init(rng);
  Adam mask_adam(positions, options.learning_rate), pattern_adam(per_example, options.learning_rate);

  std::vector<double> mask(positions), pattern(per_example);
  auto decode = [&] {
    for (int64_t i = 0; i < positions; ++i) mask[i] = std::tanh(mask_param[i]) / 2 + 0.5;
    for (int64_t i = 0; i < per_example; ++i) pattern[i] = low + range * (std::tanh(pattern_param[i]) / 2 + 0.5);
  };
  auto stamp = [&](const float* x, float* out) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < positions; ++i) {
        const int64_t k = c * positions + i;
        out[k] = float((1 - mask[i]) * x[k] + mask[i] * pattern[k]);
      }
    }
  };

  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  int64_t cursor = 0;
  Shape batch_shape = clean.shape();
  batch_shape[0] = batch;
  Tensor x(batch_shape), stamped(batch_shape);
  const std::vector<int64_t> targets(batch, label);
  std::vector<double> mask_grad(positions), pattern_grad(per_example);

  double cost = options.init_cost;
  int up = 0, down = 0, round_hits = 0, round_total = 0;
  std::vector<double> best_mask, best_pattern;
  double best_l1 = std::numeric_limits<double>::infinity();
  decode();
  for (int step = 0; step < options.steps; ++step) {
    if (cancelled()) return absl::CancelledError("neural cleanse cancelled");
    for (int64_t b = 0; b < batch; ++b) {
      if (cursor == n) {
        std::shuffle(order.begin(), order.end(), rng);
        cursor = 0;
      }
      const float* source = clean.data() + order[cursor++] * per_example;
      std::copy(source, source + per_example, x.data() + b * per_example);
      stamp(source, stamped.data() + b * per_example);
    }
    Tensor logits;
    ASSIGN_OR_RETURN(const Tensor g, loss.Gradient(stamped, targets, &logits));
    for (int64_t p : ArgMaxRows(logits)) round_hits += p == label;
    round_total += batch;

    std::fill(mask_grad.begin(), mask_grad.end(), 0.0);
    std::fill(pattern_grad.begin(), pattern_grad.end(), 0.0);
    for (int64_t b = 0; b < batch; ++b) {
      const float* gb = g.data() + b * per_example;
      const float* xb = x.data() + b * per_example;
      for (int64_t c = 0; c < channels; ++c) {
        for (int64_t i = 0; i < positions; ++i) {
          const int64_t k = c * positions + i;
          mask_grad[i] += gb[k] * (pattern[k] - xb[k]);
          pattern_grad[k] += gb[k] * mask[i];
        }
      }
    }
    for (int64_t i = 0; i < positions; ++i) {
      const double t = std::tanh(mask_param[i]);
      mask_grad[i] = (mask_grad[i] / batch + cost) * (1 - t * t) / 2;
    }
    for (int64_t k = 0; k < per_example; ++k) {
      const double t = std::tanh(pattern_param[k]);
      pattern_grad[k] = pattern_grad[k] / batch * range * (1 - t * t) / 2;
    }
    mask_adam.Step(mask_param, mask_grad);
    pattern_adam.Step(pattern_param, pattern_grad);

    if ((step + 1) % kStepsPerRound != 0 && step + 1 != options.steps) {
      decode();
      continue;
    }
    // End of a round: keep the smallest successful mask, then adjust the cost.
    // The round's success rate belongs to the mask before this step's update.
    const double l1 = std::accumulate(mask.begin(), mask.end(), 0.0);
    const bool success = round_hits >= options.success_threshold * round_total;
    if (success && l1 < best_l1) {
      best_l1 = l1;
      best_mask = mask;
      best_pattern = pattern;
    }
    round_hits = round_total = 0;
    if (success) {
      ++up;
      down = 0;
    } else {
      ++down;
      up = 0;
    }
    if (up >= kPatience) {
      up = 0;
      cost *= kCostUp;
    } else if (down >= kPatience) {
      down = 0;
      cost /= kCostDown;
    }
    decode();
  }
  if (!best_mask.empty()) {
    mask = best_mask;
    pattern = best_pattern;
  }

  ReversedTrigger trigger;
  trigger.label = label;
  trigger.mask = Tensor(example.size() == 3 ? Shape{example[1], example[2]} : Shape{positions});
  trigger.pattern = Tensor(example);
  for (int64_t i = 0; i < positions; ++i) trigger.mask.at(i) = float(mask[i]);
  for (int64_t k = 0; k < per_example; ++k) trigger.pattern.at(k) = float(pattern[k]);
  trigger.mask_l1 = std::accumulate(mask.begin(), mask.end(), 0.0);
  int64_t hits = 0;
  for (int64_t begin = 0; begin < n; begin += batch) {
    if (cancelled()) return absl::CancelledError("neural cleanse cancelled");
    const int64_t end = std::min(n, begin + batch);
    Shape shape = clean.shape();
    shape[0] = end - begin;
    Tensor chunk(shape);
    for (int64_t r = begin; r < end; ++r) {
      stamp(clean.data() + r * per_example, chunk.data() + (r - begin) * per_example);
    }
    ASSIGN_OR_RETURN(const Tensor logits, loss.Logits(chunk));
    for (int64_t p : ArgMaxRows(logits)) hits += p == label;
  }
  trigger.attack_success_rate = double(hits) / n;
  return trigger;
}

MadOutliers MadAnomalyIndices(const std::vector<double>& l1_norms) {
  MadOutliers out;
  if (l1_norms.empty()) return out;
  const double median = Median(l1_norms);
  std::vector<double> deviations;
  for (double l1 : l1_norms) deviations.push_back(std::abs(l1 - median));
  const double mad = kMadConsistency * Median(deviations);
  for (double l1 : l1_norms) {
    const double index = mad == 0 ? 0 : std::abs(l1 - median) / mad;
    out.anomaly_index.push_back(index);
    out.flagged.push_back(l1 < median && index > kAnomalyThreshold);
  }
  return out;
}

}  // namespace crucible
