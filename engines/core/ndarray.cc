#include "engines/core/ndarray.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace crucible {
namespace {

// Reads the little-endian value at `p` (no alignment required).
template <typename T>
T LoadLittle(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::big) {
    char* b = reinterpret_cast<char*>(&value);
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  }
  return value;
}

template <typename T>
void StoreLittle(T value, char* p) {
  if constexpr (std::endian::native == std::endian::big) {
    char* b = reinterpret_cast<char*>(&value);
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  }
  std::memcpy(p, &value, sizeof(T));
}

// Element count of `shape`, or -1 when a dimension is negative or the count
// overflows int64.
int64_t CheckedNumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
  }
  return n;
}

float ElementAsFloat(DType dtype, const char* p) {
  switch (dtype) {
    case DType::kFloat32:
      return LoadLittle<float>(p);
    case DType::kFloat64:
      return static_cast<float>(LoadLittle<double>(p));
    case DType::kUint8:
      return static_cast<float>(static_cast<unsigned char>(*p));
    case DType::kInt64:
      return static_cast<float>(LoadLittle<int64_t>(p));
  }
  return 0.0f;
}

}  // namespace

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kUint8:
      return "uint8";
    case DType::kInt64:
      return "int64";
  }
  return "unknown";
}

int64_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return 4;
    case DType::kFloat64:
      return 8;
    case DType::kUint8:
      return 1;
    case DType::kInt64:
      return 8;
  }
  return 1;
}

Tensor ToFloatTensor(const NdArray& array) {
  // A malformed array (negative or overflowing shape, byte count that does not
  // match it) has no meaningful float view; the readers never produce one.
  const int64_t n = CheckedNumElements(array.shape);
  const int64_t size = DTypeSize(array.dtype);
  int64_t total = 0;
  if (n < 0 || __builtin_mul_overflow(n, size, &total) ||
      static_cast<uint64_t>(total) != array.bytes.size()) {
    return Tensor();
  }
  std::vector<float> values(static_cast<size_t>(n));
  const char* p = array.bytes.data();
  if (array.dtype == DType::kFloat32 && std::endian::native == std::endian::little) {
    if (n > 0) std::memcpy(values.data(), p, static_cast<size_t>(n) * sizeof(float));
  } else {
    for (int64_t i = 0; i < n; ++i) values[i] = ElementAsFloat(array.dtype, p + i * size);
  }
  return Tensor(array.shape, std::move(values));
}

absl::StatusOr<std::vector<int64_t>> ToLabels(const NdArray& array) {
  const Shape& shape = array.shape;
  const bool column = shape.size() == 2 && shape[1] == 1;
  if (shape.size() != 1 && !column) {
    return absl::InvalidArgumentError(absl::StrCat(
        "labels must have shape [N] or [N,1], got ", ShapeToString(shape)));
  }
  const int64_t n = shape[0];
  const int64_t size = DTypeSize(array.dtype);
  int64_t expected = 0;
  if (n < 0 || __builtin_mul_overflow(n, size, &expected) ||
      static_cast<uint64_t>(expected) != array.bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "labels: ", DTypeName(array.dtype), " array of shape ", ShapeToString(shape), " has ",
        array.bytes.size(), " bytes of data"));
  }
  std::vector<int64_t> labels(static_cast<size_t>(n));
  const char* p = array.bytes.data();
  for (int64_t i = 0; i < n; ++i) {
    const char* e = p + i * size;
    int64_t label = 0;
    switch (array.dtype) {
      case DType::kUint8:
        label = static_cast<unsigned char>(*e);
        break;
      case DType::kInt64:
        label = LoadLittle<int64_t>(e);
        break;
      case DType::kFloat32:
      case DType::kFloat64: {
        const double v = array.dtype == DType::kFloat32 ? LoadLittle<float>(e)
                                                        : LoadLittle<double>(e);
        // 2^63 is exactly representable; anything at or above it is not an int64.
        if (!std::isfinite(v) || v != std::floor(v) || v >= 9223372036854775808.0 ||
            v < -9223372036854775808.0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "labels: ", DTypeName(array.dtype), " value ", v, " at index ", i,
              " is not an integer"));
        }
        label = static_cast<int64_t>(v);
        break;
      }
    }
    if (label < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("labels: negative label ", label, " at index ", i));
    }
    labels[i] = label;
  }
  return labels;
}

NdArray FromTensor(const Tensor& tensor) {
  NdArray array;
  array.dtype = DType::kFloat32;
  array.shape = tensor.shape();
  array.bytes.resize(static_cast<size_t>(tensor.num_elements()) * sizeof(float));
  if constexpr (std::endian::native == std::endian::little) {
    if (!array.bytes.empty()) std::memcpy(array.bytes.data(), tensor.data(), array.bytes.size());
  } else {
    for (int64_t i = 0; i < tensor.num_elements(); ++i) {
      StoreLittle<float>(tensor.at(i), array.bytes.data() + i * sizeof(float));
    }
  }
  return array;
}

NdArray FromLabels(const std::vector<int64_t>& labels) {
  NdArray array;
  array.dtype = DType::kInt64;
  array.shape = {static_cast<int64_t>(labels.size())};
  array.bytes.resize(labels.size() * sizeof(int64_t));
  for (size_t i = 0; i < labels.size(); ++i) {
    StoreLittle<int64_t>(labels[i], array.bytes.data() + i * sizeof(int64_t));
  }
  return array;
}

}  // namespace crucible
