// Running a model over a whole dataset: fitting raw arrays to the model's
// input shape, forward passes batch by batch, and predicted classes.
//
//   ASSIGN_OR_RETURN(Tensor x, FitToModelInput(ToFloatTensor(images), model));
//   ASSIGN_OR_RETURN(Tensor logits, ForwardInBatches(*executor, x));
//   std::vector<int64_t> predicted = ArgMaxRows(logits);
#ifndef CRUCIBLE_ENGINES_CORE_BATCHED_FORWARD_H_
#define CRUCIBLE_ENGINES_CORE_BATCHED_FORWARD_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/core/tensor.h"

namespace crucible {

// `data` of shape [N, ...] whose examples have as many elements as the model's
// example shape (e.g. [N,28,28] for a [N,1,28,28] model) reshaped to
// [N, example...]. INVALID_ARGUMENT naming both shapes otherwise, or when the
// model is unbatched (rank-1 input) and N > 1.
absl::StatusOr<Tensor> FitToModelInput(Tensor data, const Model& model);
// The shape check of FitToModelInput alone (no copy).
absl::Status CheckFitsModelInput(const Shape& data_shape, const Model& model);

// Output rows for every input row, computed executor.batch_size() at a time.
absl::StatusOr<Tensor> ForwardInBatches(Executor& executor, const Tensor& inputs);

// Index of the largest value of each row of a [N, C] tensor.
std::vector<int64_t> ArgMaxRows(const Tensor& scores);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_BATCHED_FORWARD_H_
