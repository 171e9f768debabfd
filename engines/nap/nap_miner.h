// NAP mining (Geng et al., "Towards Reliable Neural Specifications", ICML 2023)
// and the held-out statistics that say how good the mined patterns are.
//
// SplitInputs: a seeded shuffle (Fisher-Yates driven by std::mt19937_64(seed),
// j = rng() % (i + 1) for i = n-1 .. 1) whose first round(train_fraction * n)
// inputs (at least 1, at most n - 1) are the training part; both parts are
// returned in ascending index order.
//
// MineNaps: for each class c, over the training inputs labelled c that the
// model classifies as c (n_c of them), a neuron of a selected layer is fixed
// ACTIVE when active (ReLU output > 0) for at least delta * n_c of them and
// INACTIVE when inactive for at least delta * n_c (delta in (0.5, 1], so never
// both). Classes with n_c == 0 get no pattern.
//
// EvaluateNaps, over the given inputs (the held-out part): for each pattern,
// recall = share of the inputs labelled with its class whose activations
// satisfy it, precision = share of the inputs satisfying it that are labelled
// with its class (0 when none satisfies it); and the number of inputs that
// satisfy two or more of the patterns (ambiguous).
//
//   DatasetSplit split = SplitInputs(n, 0.8, seed);
//   MinedNaps mined = MineNaps(rec.table, labels, rec.predicted, split.train, {0, 1}, 10, 0.99);
//   NapStatistics stats = EvaluateNaps(rec.table, labels, split.held_out, mined.patterns);
#ifndef CRUCIBLE_ENGINES_NAP_NAP_MINER_H_
#define CRUCIBLE_ENGINES_NAP_NAP_MINER_H_

#include <cstdint>
#include <vector>

#include "engines/nap/activation_pattern.h"
#include "engines/nap/activation_table.h"

namespace crucible {

struct DatasetSplit {
  std::vector<int64_t> train;
  std::vector<int64_t> held_out;
};

// REQUIRES: n >= 2, 0 < train_fraction < 1.
DatasetSplit SplitInputs(int64_t n, double train_fraction, uint64_t seed);

struct MinedNaps {
  std::vector<ActivationPattern> patterns;  // Ascending label; classes with inputs only.
  std::vector<int64_t> mined_from;          // Per pattern: n_c.
};

// REQUIRES: `layers` recorded in `table`; labels and predicted cover the table's inputs.
MinedNaps MineNaps(const ActivationTable& table, const std::vector<int64_t>& labels,
                   const std::vector<int64_t>& predicted, const std::vector<int64_t>& train,
                   const std::vector<int32_t>& layers, int64_t num_classes, double delta);

struct NapStatistics {
  struct Pattern {
    int64_t class_inputs = 0;      // Inputs labelled with the pattern's class.
    int64_t matched = 0;           // Inputs satisfying the pattern.
    int64_t matched_in_class = 0;  // Of those, labelled with its class.
    double recall = 0;
    double precision = 0;
  };
  std::vector<Pattern> patterns;  // Parallel to the patterns evaluated.
  int64_t inputs = 0;
  int64_t ambiguous = 0;
};

// REQUIRES: every layer the patterns fix is recorded in `table`.
NapStatistics EvaluateNaps(const ActivationTable& table, const std::vector<int64_t>& labels,
                           const std::vector<int64_t>& inputs, const std::vector<ActivationPattern>& patterns);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_NAP_MINER_H_
