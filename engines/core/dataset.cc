#include "engines/core/dataset.h"

#include "absl/strings/str_cat.h"
#include "engines/core/array_file.h"
#include "engines/core/batched_forward.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

absl::Status Prefixed(const absl::Status& status, const char* what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

}  // namespace

absl::StatusOr<Dataset> ParseDataset(std::string_view inputs_bytes, std::string_view labels_bytes) {
  Dataset data;
  auto inputs = ParseArray(inputs_bytes);
  if (!inputs.ok()) return Prefixed(inputs.status(), "inputs");
  if (inputs->shape.empty() || NumElements(inputs->shape) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("inputs: expected a non-empty array [N, ...], got shape ", ShapeToString(inputs->shape)));
  }
  if (inputs->dtype == DType::kInt64) {
    return absl::InvalidArgumentError("inputs: integer inputs must be uint8 images or floats, not int64");
  }
  data.input_dtype = inputs->dtype;
  data.inputs = ToFloatTensor(*inputs);
  if (labels_bytes.empty()) return data;
  auto label_array = ParseArray(labels_bytes);
  if (!label_array.ok()) return Prefixed(label_array.status(), "labels");
  auto labels = ToLabels(*label_array);
  if (!labels.ok()) return Prefixed(labels.status(), "labels");
  if (static_cast<int64_t>(labels->size()) != data.num_examples()) {
    return absl::InvalidArgumentError(absl::StrCat("labels: ", labels->size(), " labels for ", data.num_examples(),
                                                   " inputs"));
  }
  data.labels = *std::move(labels);
  return data;
}

absl::Status CheckDatasetFitsModel(const Dataset& dataset, const Model& model) {
  RETURN_IF_ERROR(CheckFitsModelInput(dataset.inputs.shape(), model));
  const int64_t classes = model.num_classes();
  for (size_t i = 0; i < dataset.labels.size(); ++i) {
    if (dataset.labels[i] >= classes) {
      return absl::InvalidArgumentError(absl::StrCat("label ", dataset.labels[i], " of example ", i,
                                                     " is not one of the model's ", classes, " classes"));
    }
  }
  return absl::OkStatus();
}

}  // namespace crucible
