// ActivationTable: which hidden ReLU neurons are active (output > 0) for each
// input of a dataset, one bit per neuron, filled by batched forward passes
// through the executor that copy out the ReLU layers' activations.
// NapMatcher tests an input's bits against an ActivationPattern with a few
// word-wide mask operations.
//
// Only the recorded layers take space (a conv net's ReLU layers can be large);
// asking about another layer is a programming error.
//
//   ASSIGN_OR_RETURN(ActivationRecording rec,
//                    RecordActivations(model, data.inputs, preprocess, layers, {0, 1}, 2, monitor));
//   NapMatcher matcher(rec.table, nap);
//   bool satisfies = matcher.Matches(rec.table, input);
#ifndef CRUCIBLE_ENGINES_NAP_ACTIVATION_TABLE_H_
#define CRUCIBLE_ENGINES_NAP_ACTIVATION_TABLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/model.h"
#include "engines/core/tensor.h"
#include "engines/nap/activation_pattern.h"
#include "engines/nap/hidden_layers.h"
#include "engines/preprocess.h"

namespace crucible {

class ActivationTable {
 public:
  ActivationTable() = default;
  // All bits clear. `recorded`: indices into `layers`.
  ActivationTable(const std::vector<HiddenLayer>& layers, const std::vector<int32_t>& recorded, int64_t num_inputs);

  int64_t num_inputs() const { return num_inputs_; }
  int32_t num_layers() const { return static_cast<int32_t>(offset_.size()); }
  int64_t layer_size(int32_t layer) const { return size_[layer]; }
  bool recorded(int32_t layer) const { return offset_[layer] >= 0; }

  // REQUIRES: recorded(layer), neuron < layer_size(layer), input < num_inputs().
  bool Active(int64_t input, int32_t layer, int64_t neuron) const {
    const int64_t bit = offset_[layer] + neuron;
    return (bits_[input * words_per_input_ + bit / 64] >> (bit % 64)) & 1;
  }
  void SetActive(int64_t input, int32_t layer, int64_t neuron) {
    const int64_t bit = offset_[layer] + neuron;
    bits_[input * words_per_input_ + bit / 64] |= uint64_t{1} << (bit % 64);
  }

 private:
  friend class NapMatcher;
  std::vector<int64_t> offset_;  // First bit of each layer; -1 when not recorded.
  std::vector<int64_t> size_;
  int64_t num_inputs_ = 0;
  int64_t words_per_input_ = 0;
  std::vector<uint64_t> bits_;
};

// An ActivationPattern laid out like a table's bits.
class NapMatcher {
 public:
  // REQUIRES: every layer the pattern fixes is recorded in `table`.
  NapMatcher(const ActivationTable& table, const ActivationPattern& pattern);
  // True when every fixed neuron of the pattern has its state for `input`.
  bool Matches(const ActivationTable& table, int64_t input) const;

 private:
  std::vector<int64_t> words_;      // Words that hold a fixed neuron.
  std::vector<uint64_t> care_;      // Per entry of words_: the fixed bits.
  std::vector<uint64_t> expected_;  // Per entry of words_: the fixed bits that must be 1.
};

struct ActivationRecording {
  ActivationTable table;
  std::vector<int64_t> predicted;  // The model's class for each input.
};

// Progress (fraction of this step, message) and cancellation hooks.
struct RecordingMonitor {
  std::function<void(double, const std::string&)> progress = [](double, const std::string&) {};
  std::function<bool()> cancelled = [] { return false; };
};

// Runs every input (rows of `inputs`, raw dataset values; `preprocess` maps them
// to model input) through the model, batch_size at a time (0: as many as keep
// a batch's input and recorded activations near 16 MiB, at most 4096 — few
// large batches, because every batch costs the executor's thread pool a few
// synchronisations, which on a busy machine dominate a small model's work) on
// `threads` threads, and records the `recorded` layers. CANCELLED once
// monitor.cancelled() is true (checked before every batch).
absl::StatusOr<ActivationRecording> RecordActivations(const Model& model, const Tensor& inputs,
                                                      const Preprocessor& preprocess,
                                                      const std::vector<HiddenLayer>& layers,
                                                      const std::vector<int32_t>& recorded, int threads,
                                                      const RecordingMonitor& monitor, int64_t batch_size = 0);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_ACTIVATION_TABLE_H_
