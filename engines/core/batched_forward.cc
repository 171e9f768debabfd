#include "engines/core/batched_forward.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engines/core/status_macros.h"

namespace crucible {

absl::Status CheckFitsModelInput(const Shape& data_shape, const Model& model) {
  const Shape example = model.ExampleShape();
  if (!data_shape.empty() && data_shape[0] > 0 && NumElements(data_shape) == data_shape[0] * NumElements(example)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("data of shape ", ShapeToString(data_shape),
                                                 " does not hold examples of the model's input shape ",
                                                 ShapeToString(example)));
}

absl::StatusOr<Tensor> FitToModelInput(Tensor data, const Model& model) {
  RETURN_IF_ERROR(CheckFitsModelInput(data.shape(), model));
  if (!model.has_batch_dimension() && data.dim(0) != 1) {
    return absl::InvalidArgumentError("the model takes a single unbatched example; pass one row at a time");
  }
  const Shape shape = model.InputShape(data.dim(0));
  return std::move(data).Reshaped(shape);
}

absl::StatusOr<Tensor> ForwardInBatches(Executor& executor, const Tensor& inputs) {
  const int64_t n = inputs.dim(0);
  Shape out_shape = executor.output_shape();
  out_shape[0] = n;
  Tensor out(out_shape);
  const int64_t row = NumElements(out_shape) / std::max<int64_t>(n, 1);
  for (int64_t begin = 0; begin < n; begin += executor.batch_size()) {
    const int64_t end = std::min(n, begin + executor.batch_size());
    ASSIGN_OR_RETURN(Tensor logits, executor.Forward(inputs.Slice(begin, end)));
    std::memcpy(out.data() + begin * row, logits.data(), logits.num_elements() * sizeof(float));
  }
  return out;
}

std::vector<int64_t> ArgMaxRows(const Tensor& scores) {
  const int64_t rows = scores.dim(0), cols = scores.num_elements() / std::max<int64_t>(rows, 1);
  std::vector<int64_t> out(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* begin = scores.data() + r * cols;
    out[r] = std::max_element(begin, begin + cols) - begin;
  }
  return out;
}

}  // namespace crucible
