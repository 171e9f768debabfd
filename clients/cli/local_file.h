// Local files the `crucible` command sends or saves: whole reads for small
// text files (configs, specs, properties), chunked reads and digests for
// uploads. Errors name the path: NOT_FOUND for a missing file,
// PERMISSION_DENIED, INVALID_ARGUMENT for a directory, INTERNAL otherwise.
//
//   ASSIGN_OR_RETURN(FileDigest digest, DigestFile("lenet.onnx"));
//   // digest.size_bytes, digest.sha256 (lowercase hex)
//   RETURN_IF_ERROR(ReadFileChunks("lenet.onnx", 1 << 20, [&](std::string_view chunk) {
//     return writer->Write(chunk);  // false stops the read early, without error
//   }));
#ifndef CRUCIBLE_CLIENTS_CLI_LOCAL_FILE_H_
#define CRUCIBLE_CLIENTS_CLI_LOCAL_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace crucible {

struct FileDigest {
  int64_t size_bytes = 0;
  std::string sha256;  // Lowercase hex.
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// Calls `consume` with consecutive chunks of at most `chunk_bytes` bytes (none
// for an empty file) until the end of the file or until `consume` returns false.
absl::Status ReadFileChunks(const std::string& path, size_t chunk_bytes,
                            absl::FunctionRef<bool(std::string_view)> consume);

// Size and sha256 of the file's bytes, read in chunks (constant memory), with
// the Sha256 the server's store uses.
absl::StatusOr<FileDigest> DigestFile(const std::string& path);

// Status for a failed file operation `action` ("open", "write", ...) on `path`
// with errno `error`.
absl::Status FileError(int error, absl::string_view action, const std::string& path);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_LOCAL_FILE_H_
