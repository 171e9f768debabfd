#include "engines/nap/nap_set.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace crucible {
namespace {

bool ByPosition(const FixedNeuron& a, const FixedNeuron& b) {
  return std::pair(a.layer, a.neuron) < std::pair(b.layer, b.neuron);
}

}  // namespace

v1::NapSet ToNapSet(const std::vector<ActivationPattern>& patterns, const std::vector<int64_t>& mined_from,
                    float delta, const std::vector<HiddenLayer>& layers) {
  v1::NapSet set;
  set.set_delta(delta);
  for (const HiddenLayer& layer : layers) {
    set.add_layer_names(layer.name);
    set.add_layer_sizes(layer.size);
  }
  for (size_t p = 0; p < patterns.size(); ++p) {
    v1::NapPattern& out = *set.add_patterns();
    out.set_label(patterns[p].label);
    if (p < mined_from.size()) out.set_mined_from(mined_from[p]);
    std::vector<FixedNeuron> neurons = patterns[p].neurons;
    std::sort(neurons.begin(), neurons.end(), ByPosition);
    for (const FixedNeuron& n : neurons) {
      v1::NapNeuron& neuron = *out.add_neurons();
      neuron.set_layer(n.layer);
      neuron.set_neuron(n.neuron);
      neuron.set_state(n.state == NeuronState::kActive ? v1::NapNeuron::ACTIVE : v1::NapNeuron::INACTIVE);
    }
  }
  return set;
}

absl::StatusOr<std::vector<ActivationPattern>> PatternsFromNapSet(const v1::NapSet& set,
                                                                  const std::vector<HiddenLayer>& layers,
                                                                  int64_t num_classes, std::string_view field_view) {
  const std::string field(field_view);
  if (set.delta() != 0 && !(set.delta() > 0.5f && set.delta() <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".delta: ", set.delta(), " is not in (0.5, 1]"));
  }
  if (!set.layer_sizes().empty()) {
    if (set.layer_sizes_size() != static_cast<int>(layers.size())) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".layer_sizes: the NAPs describe ", set.layer_sizes_size(),
                                                     " hidden ReLU layers, the model has ", layers.size()));
    }
    for (size_t k = 0; k < layers.size(); ++k) {
      if (set.layer_sizes(k) != layers[k].size) {
        return absl::InvalidArgumentError(absl::StrCat(field, ".layer_sizes[", k, "]: ", set.layer_sizes(k),
                                                       " units, but the model's layer ", k, " (", layers[k].name,
                                                       ") has ", layers[k].size));
      }
    }
  }
  std::vector<ActivationPattern> patterns;
  std::map<int64_t, int> pattern_of_label;
  for (int p = 0; p < set.patterns_size(); ++p) {
    const v1::NapPattern& in = set.patterns(p);
    const std::string where = absl::StrCat(field, ".patterns[", p, "]");
    if (in.label() < 0 || in.label() >= num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".label: ", in.label(), " is not a class of the model (0..", num_classes - 1, ")"));
    }
    if (auto [it, inserted] = pattern_of_label.emplace(in.label(), p); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".label: class ", in.label(), " already has a pattern (",
                                                     field, ".patterns[", it->second, "])"));
    }
    ActivationPattern pattern;
    pattern.label = in.label();
    std::map<std::pair<int32_t, int64_t>, std::pair<NeuronState, int>> seen;
    for (int j = 0; j < in.neurons_size(); ++j) {
      const v1::NapNeuron& n = in.neurons(j);
      const std::string at = absl::StrCat(where, ".neurons[", j, "]");
      if (n.layer() < 0 || n.layer() >= static_cast<int>(layers.size())) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".layer: ", n.layer(),
                                                       " is not a hidden ReLU layer of the model (0..",
                                                       layers.size() - 1, ")"));
      }
      if (n.neuron() < 0 || n.neuron() >= layers[n.layer()].size) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".neuron: ", n.neuron(), " is out of range for layer ",
                                                       n.layer(), " (", layers[n.layer()].size, " units)"));
      }
      if (n.state() != v1::NapNeuron::ACTIVE && n.state() != v1::NapNeuron::INACTIVE) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".state: must be ACTIVE or INACTIVE"));
      }
      const NeuronState state = n.state() == v1::NapNeuron::ACTIVE ? NeuronState::kActive : NeuronState::kInactive;
      auto [it, inserted] = seen.emplace(std::pair(n.layer(), n.neuron()), std::pair(state, j));
      if (!inserted) {
        if (it->second.first != state) {
          return absl::InvalidArgumentError(absl::StrCat(at, ": layer ", n.layer(), " neuron ", n.neuron(),
                                                         " is also fixed with the other state at ", where,
                                                         ".neurons[", it->second.second, "]"));
        }
        continue;
      }
      pattern.neurons.push_back({.layer = n.layer(), .neuron = n.neuron(), .state = state});
    }
    std::sort(pattern.neurons.begin(), pattern.neurons.end(), ByPosition);
    patterns.push_back(std::move(pattern));
  }
  return patterns;
}

absl::StatusOr<std::string> NapSetToJson(const v1::NapSet& set) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(set, &json, options);
  if (!status.ok()) return absl::InternalError(absl::StrCat("nap.json: ", std::string(status.message())));
  return json;
}

absl::StatusOr<v1::NapSet> NapSetFromJson(std::string_view json) {
  v1::NapSet set;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &set, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON of crucible.v1.NapSet: ", std::string(status.message())));
  }
  return set;
}

}  // namespace crucible
