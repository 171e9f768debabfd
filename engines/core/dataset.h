// Dataset: model inputs and optional integer labels, parsed from NPY or IDX
// bytes (gzip allowed) and checked for consistency.
//
//   ASSIGN_OR_RETURN(Dataset data, ParseDataset(inputs_bytes, labels_bytes));
//   RETURN_IF_ERROR(CheckDatasetFitsModel(data, model));
#ifndef CRUCIBLE_ENGINES_CORE_DATASET_H_
#define CRUCIBLE_ENGINES_CORE_DATASET_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/model.h"
#include "engines/core/ndarray.h"
#include "engines/core/tensor.h"

namespace crucible {

struct Dataset {
  Tensor inputs;                // [N, ...] values as stored (uint8 stays 0..255).
  DType input_dtype = DType::kFloat32;
  std::vector<int64_t> labels;  // Empty when the dataset has none.

  int64_t num_examples() const { return inputs.rank() == 0 ? 0 : inputs.dim(0); }
  bool has_labels() const { return !labels.empty(); }
  Shape ExampleShape() const { return Shape(inputs.shape().begin() + 1, inputs.shape().end()); }
};

// INVALID_ARGUMENT naming the file ("inputs" or "labels") and the problem:
// unparsable bytes, a rank-0 or empty input array, an integer input dtype other
// than uint8, non-integral or negative labels, or a label count that differs
// from the number of inputs. `labels_bytes` may be empty.
absl::StatusOr<Dataset> ParseDataset(std::string_view inputs_bytes, std::string_view labels_bytes);

// INVALID_ARGUMENT when the examples do not have the model's input size or a
// label is not one of the model's classes; the message names both shapes.
absl::Status CheckDatasetFitsModel(const Dataset& dataset, const Model& model);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_DATASET_H_
