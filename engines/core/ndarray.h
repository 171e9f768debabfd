// NdArray: a typed n-dimensional array as read from or written to a file
// (NPY, IDX), before it becomes model input (Tensor) or labels.
//
// Raw little-endian bytes in C order plus dtype and shape; conversions to the
// types the engines use are explicit and checked.
//
//   ASSIGN_OR_RETURN(NdArray images, ReadNpyFile("x.npy"));
//   Tensor x = ToFloatTensor(images);              // uint8 stays 0..255
//   ASSIGN_OR_RETURN(std::vector<int64_t> y, ToLabels(labels));
#ifndef CRUCIBLE_ENGINES_CORE_NDARRAY_H_
#define CRUCIBLE_ENGINES_CORE_NDARRAY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/tensor.h"

namespace crucible {

enum class DType { kFloat32, kFloat64, kUint8, kInt64 };

// "float32", "float64", "uint8", "int64".
const char* DTypeName(DType dtype);
int64_t DTypeSize(DType dtype);

struct NdArray {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::string bytes;  // NumElements(shape) * DTypeSize(dtype) bytes, little-endian, C order.
};

// Element values as float32 (no rescaling: uint8 255 becomes 255.0f).
Tensor ToFloatTensor(const NdArray& array);

// Integer class labels from a rank-1 (or [N,1]) integer array. Float arrays are
// accepted only when every value is integral. INVALID_ARGUMENT otherwise.
absl::StatusOr<std::vector<int64_t>> ToLabels(const NdArray& array);

NdArray FromTensor(const Tensor& tensor);
NdArray FromLabels(const std::vector<int64_t>& labels);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_NDARRAY_H_
