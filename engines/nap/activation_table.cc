#include "engines/nap/activation_table.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engines/core/batched_forward.h"
#include "engines/core/executor.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

// Automatic batch size: about 16 MiB of input and recorded activations, at most 4096 rows.
constexpr int64_t kAutoBatchFloats = int64_t{4} << 20;
constexpr int64_t kMaxAutoBatch = 4096;

}  // namespace

ActivationTable::ActivationTable(const std::vector<HiddenLayer>& layers, const std::vector<int32_t>& recorded,
                                 int64_t num_inputs)
    : offset_(layers.size(), -1), size_(layers.size()), num_inputs_(num_inputs) {
  int64_t bits = 0;
  for (size_t k = 0; k < layers.size(); ++k) size_[k] = layers[k].size;
  for (int32_t k : recorded) {
    if (offset_[k] >= 0) continue;
    offset_[k] = bits;
    bits += layers[k].size;
  }
  words_per_input_ = (bits + 63) / 64;
  bits_.assign(num_inputs_ * words_per_input_, 0);
}

NapMatcher::NapMatcher(const ActivationTable& table, const ActivationPattern& pattern) {
  absl::flat_hash_map<int64_t, size_t> entry;
  for (const FixedNeuron& n : pattern.neurons) {
    const int64_t bit = table.offset_[n.layer] + n.neuron;
    auto [it, inserted] = entry.emplace(bit / 64, words_.size());
    if (inserted) {
      words_.push_back(bit / 64);
      care_.push_back(0);
      expected_.push_back(0);
    }
    const uint64_t mask = uint64_t{1} << (bit % 64);
    care_[it->second] |= mask;
    if (n.state == NeuronState::kActive) expected_[it->second] |= mask;
  }
}

bool NapMatcher::Matches(const ActivationTable& table, int64_t input) const {
  const uint64_t* row = table.bits_.data() + input * table.words_per_input_;
  for (size_t i = 0; i < words_.size(); ++i) {
    if ((row[words_[i]] & care_[i]) != expected_[i]) return false;
  }
  return true;
}

absl::StatusOr<ActivationRecording> RecordActivations(const Model& model, const Tensor& inputs,
                                                      const Preprocessor& preprocess,
                                                      const std::vector<HiddenLayer>& layers,
                                                      const std::vector<int32_t>& recorded, int threads,
                                                      const RecordingMonitor& monitor, int64_t batch_size) {
  const int64_t n = inputs.rank() == 0 ? 0 : inputs.dim(0);
  ActivationRecording out{.table = ActivationTable(layers, recorded, n), .predicted = std::vector<int64_t>(n)};
  if (n == 0) return out;
  if (batch_size <= 0) {
    int64_t floats_per_input = NumElements(model.ExampleShape());
    for (int32_t k : recorded) floats_per_input += layers[k].size;
    batch_size = std::clamp<int64_t>(kAutoBatchFloats / std::max<int64_t>(floats_per_input, 1), 1, kMaxAutoBatch);
  }
  const int64_t batch = model.has_batch_dimension() ? std::clamp<int64_t>(n, 1, batch_size) : 1;
  ASSIGN_OR_RETURN(auto executor, Executor::Create(model, {.batch_size = batch, .num_threads = threads}));
  std::vector<std::string> names;
  for (int32_t k : recorded) names.push_back(layers[k].name);
  absl::flat_hash_map<std::string, Tensor> activations;
  for (int64_t begin = 0; begin < n; begin += batch) {
    if (monitor.cancelled()) return absl::CancelledError("nap: cancelled while recording activations");
    const int64_t end = std::min(n, begin + batch), rows = end - begin;
    ASSIGN_OR_RETURN(Tensor x, FitToModelInput(inputs.Slice(begin, end), model));
    preprocess.Apply(x);
    ASSIGN_OR_RETURN(const Tensor logits, executor->Forward(x, names, &activations));
    const int64_t classes = logits.num_elements() / rows;
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = logits.data() + r * classes;
      out.predicted[begin + r] = std::max_element(row, row + classes) - row;
    }
    for (int32_t k : recorded) {
      const Tensor& values = activations.at(layers[k].name);
      const int64_t size = layers[k].size;
      if (values.num_elements() != rows * size) {
        return absl::InternalError(absl::StrCat("nap: ReLU output ", layers[k].name, " has ", values.num_elements(),
                                                " values for ", rows, " inputs of ", size, " units"));
      }
      for (int64_t r = 0; r < rows; ++r) {
        const float* row = values.data() + r * size;
        for (int64_t j = 0; j < size; ++j) {
          if (row[j] > 0.0f) out.table.SetActive(begin + r, k, j);
        }
      }
    }
    monitor.progress(static_cast<double>(end) / n, absl::StrCat(end, " of ", n, " inputs"));
  }
  return out;
}

}  // namespace crucible
