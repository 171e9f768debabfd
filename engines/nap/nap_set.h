// NapSet conversion: ActivationPattern (what the miner produces and the
// verifier consumes) <-> v1::NapSet (the nap.json artifact), JSON in and out
// through protobuf's JSON mapping, and validation of a NapSet against a model.
//
// nap.json is the JSON of crucible.v1.NapSet with proto field names, e.g.
//   {"delta": 0.99, "layer_names": ["/2/Relu_output_0", "/4/Relu_output_0"],
//    "layer_sizes": ["128", "64"],
//    "patterns": [{"label": "0", "mined_from": "71",
//                  "neurons": [{"layer": 0, "neuron": "5", "state": "ACTIVE"}, ...]}, ...]}
// (int64 values print as strings; plain numbers are accepted on input).
//
// PatternsFromNapSet checks a NapSet against the model's hidden ReLU layers
// and classes and returns INVALID_ARGUMENT naming the field
// (`<field>.patterns[i].neurons[j].neuron` etc.): layer or neuron out of range,
// an unspecified state, a neuron fixed twice with different states, a label out
// of range or given two patterns, layer_sizes that differ from the model's.
// A neuron listed twice with the same state is kept once.
//
//   ASSIGN_OR_RETURN(v1::NapSet set, NapSetFromJson(bytes));
//   ASSIGN_OR_RETURN(std::vector<ActivationPattern> naps,
//                    PatternsFromNapSet(set, layers, model.num_classes(), "nap.patterns"));
//   v1::NapSet out = ToNapSet(naps, mined_from, 0.99f, layers);
//   ASSIGN_OR_RETURN(std::string json, NapSetToJson(out));
#ifndef CRUCIBLE_ENGINES_NAP_NAP_SET_H_
#define CRUCIBLE_ENGINES_NAP_NAP_SET_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crucible/v1/engines.pb.h"
#include "engines/nap/activation_pattern.h"
#include "engines/nap/hidden_layers.h"

namespace crucible {

// The artifact for `patterns` (neurons sorted by layer, then neuron).
// `mined_from` is empty or has one entry per pattern.
v1::NapSet ToNapSet(const std::vector<ActivationPattern>& patterns, const std::vector<int64_t>& mined_from,
                    float delta, const std::vector<HiddenLayer>& layers);

// The validated patterns of `set` in its order, neurons sorted by layer, then
// neuron. `field` prefixes error messages (e.g. "nap.patterns").
absl::StatusOr<std::vector<ActivationPattern>> PatternsFromNapSet(const v1::NapSet& set,
                                                                  const std::vector<HiddenLayer>& layers,
                                                                  int64_t num_classes, std::string_view field);

// Indented JSON with proto field names and default values printed.
absl::StatusOr<std::string> NapSetToJson(const v1::NapSet& set);
// INVALID_ARGUMENT with the parser's reason for text that is not NapSet JSON
// (unknown fields included).
absl::StatusOr<v1::NapSet> NapSetFromJson(std::string_view json);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_NAP_SET_H_
