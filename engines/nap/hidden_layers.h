// HiddenLayers: the hidden ReLU layers a NAP refers to, and NapConfig.layers
// resolved against them.
//
// Layer k is the k-th Relu node of the model in graph order (for the affine/ReLU
// networks the verifier handles, the ReLU after AffineNetwork::layers[k]); its
// name is the Relu's output value name (the mnist-net ONNX nodes have empty node
// names, output names always exist) and its size the number of units of one
// example's activation, flattened in C order.
//
// A NapConfig.layers entry selects a layer either by index as a decimal string
// ("0", "1") or by that output name ("/2/Relu_output_0").
//
//   ASSIGN_OR_RETURN(std::vector<HiddenLayer> layers, HiddenReluLayers(model));
//   ASSIGN_OR_RETURN(std::vector<int32_t> chosen, SelectLayers(config.layers(), layers));
#ifndef CRUCIBLE_ENGINES_NAP_HIDDEN_LAYERS_H_
#define CRUCIBLE_ENGINES_NAP_HIDDEN_LAYERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/model.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace crucible {

struct HiddenLayer {
  std::string name;  // Output value of the Relu node.
  int64_t size = 0;  // Units per example.
};

// FAILED_PRECONDITION when the model has no Relu node.
absl::StatusOr<std::vector<HiddenLayer>> HiddenReluLayers(const Model& model);

// Indices of the selected layers, ascending and without repeats; every layer
// when `selection` is empty. INVALID_ARGUMENT naming nap.layers[i] for an entry
// that is neither an index in range nor a layer name.
absl::StatusOr<std::vector<int32_t>> SelectLayers(const google::protobuf::RepeatedPtrField<std::string>& selection,
                                                  const std::vector<HiddenLayer>& layers);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_HIDDEN_LAYERS_H_
