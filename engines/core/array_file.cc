#include "engines/core/array_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "engines/core/idx.h"
#include "engines/core/npy.h"

namespace crucible {

absl::StatusOr<NdArray> ParseArray(std::string_view bytes) {
  if (bytes.substr(0, 6) == "\x93NUMPY") return ParseNpy(bytes);
  return ParseIdx(bytes);
}

absl::StatusOr<NdArray> ReadArrayFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto array = ParseArray(buffer.str());
  if (!array.ok()) return absl::Status(array.status().code(), absl::StrCat(path, ": ", array.status().message()));
  return array;
}

}  // namespace crucible
