// NPY file format (numpy's .npy, versions 1.0-3.0): reading and writing.
//
// Supports float32, float64, uint8 and int64 in C order, little-endian (and
// big-endian on read). Fortran order, object arrays and other dtypes are
// INVALID_ARGUMENT naming the header field; truncated data is INVALID_ARGUMENT
// saying how many bytes were expected and found.
#ifndef CRUCIBLE_ENGINES_CORE_NPY_H_
#define CRUCIBLE_ENGINES_CORE_NPY_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engines/core/ndarray.h"

namespace crucible {

absl::StatusOr<NdArray> ParseNpy(std::string_view bytes);
std::string SerializeNpy(const NdArray& array);

absl::StatusOr<NdArray> ReadNpyFile(const std::string& path);
absl::Status WriteNpyFile(const std::string& path, const NdArray& array);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_NPY_H_
