#include "engines/core/array_file.h"

#include "absl/strings/str_cat.h"
#include "engines/core/file_io.h"
#include "engines/core/idx.h"
#include "engines/core/status_macros.h"
#include "engines/core/npy.h"

namespace crucible {

absl::StatusOr<NdArray> ParseArray(std::string_view bytes) {
  if (bytes.substr(0, 6) == "\x93NUMPY") return ParseNpy(bytes);
  return ParseIdx(bytes);
}

absl::StatusOr<NdArray> ReadArrayFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string bytes, ReadFileBytes(path));
  auto array = ParseArray(bytes);
  if (!array.ok()) return absl::Status(array.status().code(), absl::StrCat(path, ": ", array.status().message()));
  return array;
}

}  // namespace crucible
