// IDX file format (the MNIST / Fashion-MNIST format): reading, plain or gzip.
//
// Element types: unsigned byte becomes kUint8; signed byte, short and int
// become kInt64; float kFloat32; double kFloat64 (all converted from the
// file's big-endian order). Gzip input is detected by its magic bytes.
// Truncated or malformed files are INVALID_ARGUMENT with the reason.
#ifndef CRUCIBLE_ENGINES_CORE_IDX_H_
#define CRUCIBLE_ENGINES_CORE_IDX_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engines/core/ndarray.h"

namespace crucible {

absl::StatusOr<NdArray> ParseIdx(std::string_view bytes);
absl::StatusOr<NdArray> ReadIdxFile(const std::string& path);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_IDX_H_
