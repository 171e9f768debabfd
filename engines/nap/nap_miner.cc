#include "engines/nap/nap_miner.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

namespace crucible {
namespace {

// delta arrives as a float (0.99f is 0.99000001): shares are compared with a
// little slack so that 99 of 100 counts as 0.99.
constexpr double kShareSlack = 1e-6;

}  // namespace

DatasetSplit SplitInputs(int64_t n, double train_fraction, uint64_t seed) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i >= 1; --i) std::swap(order[i], order[rng() % static_cast<uint64_t>(i + 1)]);
  const int64_t train = std::clamp<int64_t>(std::llround(train_fraction * n), 1, n - 1);
  DatasetSplit split{.train = {order.begin(), order.begin() + train}, .held_out = {order.begin() + train, order.end()}};
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.held_out.begin(), split.held_out.end());
  return split;
}

MinedNaps MineNaps(const ActivationTable& table, const std::vector<int64_t>& labels,
                   const std::vector<int64_t>& predicted, const std::vector<int64_t>& train,
                   const std::vector<int32_t>& layers, int64_t num_classes, double delta) {
  // active[c][k][j]: correctly classified training inputs of class c with neuron j of layers[k] on.
  std::vector<std::vector<std::vector<int64_t>>> active(num_classes);
  std::vector<int64_t> count(num_classes, 0);
  for (int64_t c = 0; c < num_classes; ++c) {
    for (int32_t layer : layers) active[c].emplace_back(table.layer_size(layer), 0);
  }
  for (int64_t i : train) {
    const int64_t c = labels[i];
    if (predicted[i] != c) continue;
    ++count[c];
    for (size_t k = 0; k < layers.size(); ++k) {
      std::vector<int64_t>& on = active[c][k];
      for (int64_t j = 0; j < static_cast<int64_t>(on.size()); ++j) on[j] += table.Active(i, layers[k], j);
    }
  }
  MinedNaps mined;
  for (int64_t c = 0; c < num_classes; ++c) {
    if (count[c] == 0) continue;
    const double needed = (delta - kShareSlack) * count[c];
    ActivationPattern pattern;
    pattern.label = c;
    for (size_t k = 0; k < layers.size(); ++k) {
      for (int64_t j = 0; j < static_cast<int64_t>(active[c][k].size()); ++j) {
        const int64_t on = active[c][k][j], off = count[c] - on;
        if (on >= needed) pattern.neurons.push_back({.layer = layers[k], .neuron = j, .state = NeuronState::kActive});
        else if (off >= needed) {
          pattern.neurons.push_back({.layer = layers[k], .neuron = j, .state = NeuronState::kInactive});
        }
      }
    }
    mined.patterns.push_back(std::move(pattern));
    mined.mined_from.push_back(count[c]);
  }
  return mined;
}

NapStatistics EvaluateNaps(const ActivationTable& table, const std::vector<int64_t>& labels,
                           const std::vector<int64_t>& inputs, const std::vector<ActivationPattern>& patterns) {
  std::vector<NapMatcher> matchers;
  for (const ActivationPattern& p : patterns) matchers.emplace_back(table, p);
  NapStatistics stats;
  stats.patterns.resize(patterns.size());
  stats.inputs = static_cast<int64_t>(inputs.size());
  for (int64_t i : inputs) {
    int matches = 0;
    for (size_t p = 0; p < patterns.size(); ++p) {
      NapStatistics::Pattern& s = stats.patterns[p];
      const bool in_class = labels[i] == patterns[p].label;
      s.class_inputs += in_class;
      if (!matchers[p].Matches(table, i)) continue;
      ++matches;
      ++s.matched;
      s.matched_in_class += in_class;
    }
    stats.ambiguous += matches >= 2;
  }
  for (NapStatistics::Pattern& s : stats.patterns) {
    s.recall = s.class_inputs == 0 ? 0.0 : static_cast<double>(s.matched_in_class) / s.class_inputs;
    s.precision = s.matched == 0 ? 0.0 : static_cast<double>(s.matched_in_class) / s.matched;
  }
  return stats;
}

}  // namespace crucible
