// Whole-file reads with errors that name the path: NOT_FOUND for a missing
// file, PERMISSION_DENIED, INVALID_ARGUMENT for a directory, INTERNAL for
// other I/O failures.
#ifndef CRUCIBLE_ENGINES_CORE_FILE_IO_H_
#define CRUCIBLE_ENGINES_CORE_FILE_IO_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crucible {

absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

// Status for a failed file operation `action` ("open", "write", ...) with errno `error`.
absl::Status FileErrorStatus(int error, std::string_view action, const std::string& path);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_FILE_IO_H_
