// ActivationPattern: a neural activation pattern (NAP, Geng et al., ICML 2023) of
// one class — the hidden ReLU neurons whose on/off state is fixed — in the form the
// nap engine's miner produces and its verifier consumes. The artifact form is
// v1::NapSet (nap.json, protobuf's JSON mapping; engines/nap/nap_set.h converts).
//
// Layers index the AffineNetwork's ReLU layers in order: layer k is the ReLU after
// AffineNetwork::layers[k] (0 = the first hidden layer). A neuron is active when
// its pre-activation is > 0 and inactive when it is <= 0; verification treats the
// states as the closed constraints z >= 0 and z <= 0.
//
//   ActivationPattern nap{.label = 3, .neurons = {{.layer = 0, .neuron = 17,
//                                                   .state = NeuronState::kActive}}};
#ifndef CRUCIBLE_ENGINES_NAP_ACTIVATION_PATTERN_H_
#define CRUCIBLE_ENGINES_NAP_ACTIVATION_PATTERN_H_

#include <cstdint>
#include <vector>

namespace crucible {

enum class NeuronState : int8_t { kInactive = -1, kActive = 1 };

struct FixedNeuron {
  int32_t layer = 0;
  int64_t neuron = 0;
  NeuronState state = NeuronState::kActive;
};

struct ActivationPattern {
  int64_t label = 0;
  std::vector<FixedNeuron> neurons;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_ACTIVATION_PATTERN_H_
