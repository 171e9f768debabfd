// Reads an array file whose format is recognised from its content: NPY (by
// its magic string) or IDX, plain or gzip-compressed.
#ifndef CRUCIBLE_ENGINES_CORE_ARRAY_FILE_H_
#define CRUCIBLE_ENGINES_CORE_ARRAY_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engines/core/ndarray.h"

namespace crucible {

absl::StatusOr<NdArray> ParseArray(std::string_view bytes);
absl::StatusOr<NdArray> ReadArrayFile(const std::string& path);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_ARRAY_FILE_H_
