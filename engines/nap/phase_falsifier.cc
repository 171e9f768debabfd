#include "engines/nap/phase_falsifier.h"

#include <algorithm>
#include <cmath>

namespace crucible {

PhaseFalsifier::PhaseFalsifier(const AffineNetwork& net, const PhaseQuery& query, double margin)
    : net_(net), query_(query), margin_(margin) {}

double PhaseFalsifier::Loss(const std::vector<double>& x, std::vector<double>* gradient) const {
  const std::vector<std::vector<double>> pre = PreActivations(net_, x);
  const int64_t layers = static_cast<int64_t>(net_.layers.size());
  double loss = 0.0;
  // Phase penalties and their gradients with respect to each layer's pre-activation.
  std::vector<std::vector<double>> phase_gradient(layers);
  for (int64_t k = 0; k < layers; ++k) {
    phase_gradient[k].assign(pre[k].size(), 0.0);
    if (k >= static_cast<int64_t>(query_.phases.size()) || query_.phases[k].empty()) continue;
    for (size_t i = 0; i < pre[k].size(); ++i) {
      const int8_t phase = query_.phases[k][i];
      if (phase == 0) continue;
      const double violation = margin_ - phase * pre[k][i];
      if (violation > 0) {
        loss += violation;
        phase_gradient[k][i] = -phase;
      }
    }
  }
  // The best case.
  const std::vector<double>& y = pre.back();
  std::vector<double> output_gradient(y.size(), 0.0);
  if (!query_.cases.empty()) {
    double best = INFINITY;
    size_t best_case = 0;
    for (size_t c = 0; c < query_.cases.size(); ++c) {
      double sum = 0.0;
      for (const OutputConstraint& row : query_.cases[c]) sum += std::max(0.0, margin_ - row.Slack(y));
      if (sum < best) {
        best = sum;
        best_case = c;
      }
    }
    loss += best;
    for (const OutputConstraint& row : query_.cases[best_case]) {
      if (margin_ - row.Slack(y) <= 0) continue;
      for (size_t j = 0; j < y.size(); ++j) output_gradient[j] += row.coefficients[j];
    }
  }
  if (gradient == nullptr) return loss;
  // Back-propagation: g is the gradient with respect to layer k's pre-activation.
  std::vector<double> g = output_gradient;
  for (size_t j = 0; j < g.size(); ++j) g[j] += phase_gradient[layers - 1][j];
  for (int64_t k = layers - 1; k >= 0; --k) {
    const AffineLayer& layer = net_.layers[k];
    std::vector<double> previous(layer.inputs, 0.0);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      if (g[o] == 0.0) continue;
      const double* w = &layer.weights[o * layer.inputs];
      for (int64_t i = 0; i < layer.inputs; ++i) previous[i] += g[o] * w[i];
    }
    if (k > 0) {
      const bool relu = net_.layers[k - 1].relu;
      for (int64_t i = 0; i < layer.inputs; ++i) {
        if (relu && pre[k - 1][i] <= 0) previous[i] = 0.0;
        previous[i] += phase_gradient[k - 1][i];
      }
    }
    g = std::move(previous);
  }
  *gradient = std::move(g);
  return loss;
}

std::optional<std::vector<double>> PhaseFalsifier::Descend(const std::vector<double>& start, int steps,
                                                           const std::function<bool()>& stop,
                                                           double initial_step) const {
  const int64_t n = query_.lower.size();
  std::vector<double> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(start[i], query_.lower[i], query_.upper[i]);
  std::vector<double> gradient;
  for (int step = 0; step <= steps; ++step) {
    if (step % 16 == 0 && stop && stop()) return std::nullopt;
    if (Loss(x, &gradient) <= 0.0) return x;
    if (step == steps) break;
    const double size = initial_step * std::pow(0.01, double(step) / std::max(1, steps - 1));
    for (int64_t i = 0; i < n; ++i) {
      const double width = query_.upper[i] - query_.lower[i];
      const double direction = gradient[i] > 0 ? -1.0 : (gradient[i] < 0 ? 1.0 : 0.0);
      x[i] = std::clamp(x[i] + direction * size * width, query_.lower[i], query_.upper[i]);
    }
  }
  return std::nullopt;
}

}  // namespace crucible
