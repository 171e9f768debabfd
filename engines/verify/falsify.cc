#include "engines/verify/falsify.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace crucible {
namespace {

// Margin at x and its gradient (through the constraint attaining the max).
double MarginAndGradient(const AffineNetwork& net, const PropertyCase& c, const std::vector<double>& x,
                         std::vector<double>& gradient) {
  std::vector<std::vector<double>> activations{x};
  for (const AffineLayer& layer : net.layers) {
    const std::vector<double>& in = activations.back();
    std::vector<double> out(layer.bias);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      const double* w = &layer.weights[o * layer.inputs];
      for (int64_t i = 0; i < layer.inputs; ++i) out[o] += w[i] * in[i];
      if (layer.relu && out[o] < 0) out[o] = 0;
    }
    activations.push_back(std::move(out));
  }
  const std::vector<double>& y = activations.back();
  size_t worst = 0;
  double margin = -INFINITY;
  for (size_t j = 0; j < c.constraints.size(); ++j) {
    const double m = -c.constraints[j].Slack(y);
    if (m > margin) {
      margin = m;
      worst = j;
    }
  }
  std::vector<double> g = c.constraints[worst].coefficients;
  for (int64_t k = static_cast<int64_t>(net.layers.size()) - 1; k >= 0; --k) {
    const AffineLayer& layer = net.layers[k];
    if (layer.relu) {
      for (int64_t o = 0; o < layer.outputs; ++o) {
        if (activations[k + 1][o] <= 0) g[o] = 0;
      }
    }
    std::vector<double> previous(layer.inputs, 0.0);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      if (g[o] == 0) continue;
      const double* w = &layer.weights[o * layer.inputs];
      for (int64_t i = 0; i < layer.inputs; ++i) previous[i] += g[o] * w[i];
    }
    g = std::move(previous);
  }
  gradient = std::move(g);
  return margin;
}

}  // namespace

double CaseMargin(const PropertyCase& c, const std::vector<double>& output) {
  double margin = -INFINITY;
  for (const OutputConstraint& constraint : c.constraints) margin = std::max(margin, -constraint.Slack(output));
  return margin;
}

std::optional<std::vector<double>> Falsify(const AffineNetwork& net, const PropertyCase& c,
                                           const FalsifyOptions& options, const std::function<bool()>& cancelled) {
  const int64_t n = net.input_size();
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto random_point = [&] {
    std::vector<double> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = c.input_lower[i] + unit(rng) * (c.input_upper[i] - c.input_lower[i]);
    return x;
  };
  if (c.constraints.empty()) return c.input_lower;
  // Random samples; the best ones seed the gradient descent.
  std::vector<std::pair<double, std::vector<double>>> best;
  for (int s = 0; s < options.samples; ++s) {
    if (s % 256 == 0 && cancelled()) return std::nullopt;
    std::vector<double> x = random_point();
    const double m = CaseMargin(c, net.Evaluate(x));
    if (m < 0) return x;
    best.emplace_back(m, std::move(x));
    std::sort(best.begin(), best.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    if (static_cast<int>(best.size()) > options.restarts) best.pop_back();
  }
  while (static_cast<int>(best.size()) < options.restarts) best.emplace_back(0.0, random_point());
  for (auto& [unused, x] : best) {
    if (cancelled()) return std::nullopt;
    std::optional<std::vector<double>> found =
        DescendInBox(net, c, c.input_lower, c.input_upper, std::move(x), options.steps);
    if (found.has_value()) return found;
  }
  return std::nullopt;
}

std::optional<std::vector<double>> DescendInBox(const AffineNetwork& net, const PropertyCase& c,
                                                const std::vector<double>& lo, const std::vector<double>& hi,
                                                std::vector<double> x, int steps) {
  if (c.constraints.empty()) return x;
  const int64_t n = net.input_size();
  std::vector<double> gradient;
  for (int step = 0; step < steps; ++step) {
    const double m = MarginAndGradient(net, c, x, gradient);
    if (m < 0) return x;
    const double size = 0.1 * std::pow(0.01, double(step) / std::max(1, steps - 1));
    for (int64_t i = 0; i < n; ++i) {
      const double direction = gradient[i] > 0 ? -1.0 : (gradient[i] < 0 ? 1.0 : 0.0);
      x[i] = std::clamp(x[i] + direction * size * (hi[i] - lo[i]), lo[i], hi[i]);
    }
  }
  if (CaseMargin(c, net.Evaluate(x)) < 0) return x;
  return std::nullopt;
}

}  // namespace crucible
