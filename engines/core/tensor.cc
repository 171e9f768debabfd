#include "engines/core/tensor.h"

#include <cassert>
#include <utility>

#include "absl/strings/str_join.h"

namespace crucible {

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const Shape& shape) {
  return "[" + absl::StrJoin(shape, ",") + "]";
}

Tensor::Tensor(Shape shape)
    : shape_(std::move(shape)), values_(NumElements(shape_), 0.0f) {}

Tensor::Tensor(Shape shape, std::vector<float> values)
    : shape_(std::move(shape)), values_(std::move(values)) {
  assert(static_cast<int64_t>(values_.size()) == NumElements(shape_));
}

Tensor Tensor::Reshaped(Shape shape) const& {
  assert(NumElements(shape) == num_elements());
  return Tensor(std::move(shape), values_);
}

Tensor Tensor::Reshaped(Shape shape) && {
  assert(NumElements(shape) == num_elements());
  return Tensor(std::move(shape), std::move(values_));
}

Tensor Tensor::Slice(int64_t begin, int64_t end) const {
  const int64_t row = shape_.empty() || shape_[0] == 0 ? 0 : num_elements() / shape_[0];
  Shape shape = shape_;
  shape[0] = end - begin;
  return Tensor(std::move(shape),
                std::vector<float>(values_.begin() + begin * row, values_.begin() + end * row));
}

}  // namespace crucible
