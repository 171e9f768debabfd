#include "engines/nap/phase_query.h"

#include <algorithm>
#include <cmath>

namespace crucible {

ReluSplits PhaseQuery::FreePhases(const AffineNetwork& net) {
  ReluSplits phases(net.layers.size());
  for (size_t k = 0; k < net.layers.size(); ++k) {
    if (net.layers[k].relu) phases[k].assign(net.layers[k].outputs, 0);
  }
  return phases;
}

std::vector<std::vector<OutputConstraint>> PhaseQuery::MisclassifiedCases(int64_t outputs, int64_t label) {
  std::vector<std::vector<OutputConstraint>> cases;
  for (int64_t j = 0; j < outputs; ++j) {
    if (j == label) continue;
    OutputConstraint c;
    c.coefficients.assign(outputs, 0.0);
    c.coefficients[label] = 1.0;
    c.coefficients[j] = -1.0;
    c.bound = 0.0;
    cases.push_back({c});
  }
  return cases;
}

double PhaseQuery::PhaseViolation(const std::vector<std::vector<double>>& pre_activations) const {
  double worst = -INFINITY;
  for (size_t k = 0; k < phases.size() && k < pre_activations.size(); ++k) {
    for (size_t i = 0; i < phases[k].size(); ++i) {
      if (phases[k][i] != 0) worst = std::max(worst, -phases[k][i] * pre_activations[k][i]);
    }
  }
  return worst;
}

std::vector<std::vector<double>> PreActivations(const AffineNetwork& net, const std::vector<double>& input) {
  std::vector<std::vector<double>> out;
  out.reserve(net.layers.size());
  std::vector<double> a = input;
  for (const AffineLayer& layer : net.layers) {
    std::vector<double> z(layer.bias);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      const double* w = &layer.weights[o * layer.inputs];
      double sum = 0.0;
      for (int64_t i = 0; i < layer.inputs; ++i) sum += w[i] * a[i];
      z[o] += sum;
    }
    a = z;
    if (layer.relu) {
      for (double& v : a) v = std::max(v, 0.0);
    }
    out.push_back(std::move(z));
  }
  return out;
}

}  // namespace crucible
