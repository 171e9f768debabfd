#include "engines/nap/hidden_layers.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engines/core/status_macros.h"

namespace crucible {

absl::StatusOr<std::vector<HiddenLayer>> HiddenReluLayers(const Model& model) {
  const std::vector<std::string> names = model.OutputsOfType("Relu");
  if (names.empty()) {
    return absl::FailedPreconditionError("nap: the model has no Relu node, so it has no activation patterns");
  }
  ASSIGN_OR_RETURN(const ShapeMap shapes, model.ShapesForBatch(1));
  std::vector<HiddenLayer> layers;
  layers.reserve(names.size());
  for (const std::string& name : names) {
    auto it = shapes.find(name);
    if (it == shapes.end()) return absl::InternalError(absl::StrCat("nap: no shape for ReLU output ", name));
    layers.push_back({.name = name, .size = NumElements(it->second)});
  }
  return layers;
}

absl::StatusOr<std::vector<int32_t>> SelectLayers(const google::protobuf::RepeatedPtrField<std::string>& selection,
                                                  const std::vector<HiddenLayer>& layers) {
  std::vector<int32_t> chosen;
  if (selection.empty()) {
    for (size_t k = 0; k < layers.size(); ++k) chosen.push_back(static_cast<int32_t>(k));
    return chosen;
  }
  for (int i = 0; i < selection.size(); ++i) {
    const std::string& entry = selection[i];
    int32_t index = -1;
    if (int parsed = 0; absl::SimpleAtoi(entry, &parsed)) {
      if (parsed >= 0 && parsed < static_cast<int>(layers.size())) index = parsed;
    } else {
      auto it = std::find_if(layers.begin(), layers.end(), [&](const HiddenLayer& l) { return l.name == entry; });
      if (it != layers.end()) index = static_cast<int32_t>(it - layers.begin());
    }
    if (index < 0) {
      std::vector<std::string> names;
      for (const HiddenLayer& l : layers) names.push_back(l.name);
      return absl::InvalidArgumentError(absl::StrCat(
          "nap.layers[", i, "]: '", entry, "' is neither a hidden ReLU layer index (0..", layers.size() - 1,
          ") nor a ReLU output name (", absl::StrJoin(names, ", "), ")"));
    }
    chosen.push_back(index);
  }
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  return chosen;
}

}  // namespace crucible
