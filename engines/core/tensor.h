// Tensor: a dense float32 array in C (row-major) order with a static shape.
//
// The one value type the model core passes between the importer, the executor
// and the engines. Owns its storage; copying copies the data.
//
//   Tensor x({2, 1, 28, 28});          // zeros
//   x.at(0) = 1.0f;
//   int64_t n = x.num_elements();      // 1568
#ifndef CRUCIBLE_ENGINES_CORE_TENSOR_H_
#define CRUCIBLE_ENGINES_CORE_TENSOR_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace crucible {

using Shape = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar shape {}).
int64_t NumElements(const Shape& shape);

// "[2,1,28,28]", for error messages.
std::string ShapeToString(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of the given shape.
  explicit Tensor(Shape shape);
  // REQUIRES: values.size() == NumElements(shape).
  Tensor(Shape shape, std::vector<float> values);

  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t axis) const { return shape_[axis]; }
  int64_t num_elements() const { return static_cast<int64_t>(values_.size()); }

  float* data() { return values_.data(); }
  const float* data() const { return values_.data(); }
  std::span<float> values() { return values_; }
  std::span<const float> values() const { return values_; }
  float& at(int64_t i) { return values_[i]; }
  float at(int64_t i) const { return values_[i]; }

  // Same data viewed with another shape. REQUIRES: same element count.
  Tensor Reshaped(Shape shape) const&;
  // As above, taking over this tensor's storage instead of copying it.
  Tensor Reshaped(Shape shape) &&;

  // Rows [begin, end) along axis 0.
  Tensor Slice(int64_t begin, int64_t end) const;

 private:
  Shape shape_;
  std::vector<float> values_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_TENSOR_H_
