// Test helper for the NAP tests: an independent double-precision forward pass
// over an AffineNetwork's weights that keeps every hidden pre-activation, and
// NAP satisfaction checked on it — the truth the miner's and the engine's
// results are compared with.
#ifndef CRUCIBLE_TESTS_UNIT_ENGINES_NAP_DOUBLE_FORWARD_H_
#define CRUCIBLE_TESTS_UNIT_ENGINES_NAP_DOUBLE_FORWARD_H_

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "engines/core/tensor.h"
#include "engines/nap/activation_pattern.h"
#include "engines/verify/network.h"

namespace crucible::testing {

struct Reference {
  std::vector<std::vector<std::vector<double>>> pre;  // [input][hidden layer][neuron]
  std::vector<std::vector<double>> logits;            // [input][class]
  std::vector<int64_t> predicted;
};

// Pre-activations and logits of one network input.
inline void ForwardOne(const AffineNetwork& net, std::vector<double> x, Reference& ref) {
  std::vector<std::vector<double>> pre;
  for (const AffineLayer& layer : net.layers) {
    std::vector<double> z(layer.outputs);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      double sum = layer.bias[o];
      for (int64_t k = 0; k < layer.inputs; ++k) sum += layer.weight(o, k) * x[k];
      z[o] = sum;
    }
    if (layer.relu) {
      pre.push_back(z);
      for (double& v : z) v = std::max(v, 0.0);
    }
    x = std::move(z);
  }
  ref.pre.push_back(std::move(pre));
  ref.predicted.push_back(std::max_element(x.begin(), x.end()) - x.begin());
  ref.logits.push_back(std::move(x));
}

// Rows of `inputs` times `scale` as network inputs.
inline Reference DoubleForward(const AffineNetwork& net, const Tensor& inputs, double scale) {
  Reference ref;
  const int64_t n = inputs.dim(0), size = inputs.num_elements() / n;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> x(size);
    for (int64_t p = 0; p < size; ++p) x[p] = inputs.at(i * size + p) * scale;
    ForwardOne(net, std::move(x), ref);
  }
  return ref;
}

// (layer, neuron) -> +1 active / -1 inactive.
using PatternMap = std::map<std::pair<int32_t, int64_t>, int>;

inline PatternMap ToMap(const ActivationPattern& pattern) {
  PatternMap map;
  for (const FixedNeuron& n : pattern.neurons) map[{n.layer, n.neuron}] = n.state == NeuronState::kActive ? 1 : -1;
  return map;
}

// Active: pre-activation > 0; inactive: <= 0.
inline bool Satisfies(const Reference& ref, int64_t input, const PatternMap& pattern) {
  for (const auto& [where, state] : pattern) {
    if ((ref.pre[input][where.first][where.second] > 0 ? 1 : -1) != state) return false;
  }
  return true;
}

}  // namespace crucible::testing

#endif  // CRUCIBLE_TESTS_UNIT_ENGINES_NAP_DOUBLE_FORWARD_H_
