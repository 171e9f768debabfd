// BlobStore: content-addressed files on disk (models, dataset files, job
// artifacts), named by the sha256 of their bytes under <root>/<aa>/<sha256>.
//
// Writes go to <root>/tmp, are fsynced and renamed into place once complete,
// so a crash never leaves a partial blob under a content name. Thread-safe.
// A sha256 argument must be 64 lowercase hex characters (anything else could
// name a path outside the store): Read rejects it as INVALID_ARGUMENT,
// Contains answers false and PathOf returns "".
//
//   ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> blobs, BlobStore::Open("/var/lib/crucible/blobs"));
//   ASSIGN_OR_RETURN(auto writer, blobs->NewWriter());
//   RETURN_IF_ERROR(writer->Append(chunk));        // as chunks arrive
//   ASSIGN_OR_RETURN(BlobInfo blob, writer->Commit());
//   ASSIGN_OR_RETURN(std::string bytes, blobs->Read(blob.sha256));
#ifndef CRUCIBLE_SERVER_STORE_BLOB_STORE_H_
#define CRUCIBLE_SERVER_STORE_BLOB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crucible {

struct BlobInfo {
  std::string sha256;  // Lowercase hex.
  int64_t size_bytes = 0;
};

// One upload in progress. Not thread-safe: one writer per upload.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;  // Discards the temporary file unless committed.
  virtual absl::Status Append(std::string_view bytes) = 0;
  virtual int64_t bytes_written() const = 0;
  // Moves the bytes into place under their sha256 (a no-op if present).
  // Call once; Append and Commit after it are FAILED_PRECONDITION.
  virtual absl::StatusOr<BlobInfo> Commit() = 0;
};

class BlobStore {
 public:
  // Creates `root` if needed.
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& root);

  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter();
  // Stores `bytes` (nothing is written when they are already present).
  absl::StatusOr<BlobInfo> Put(std::string_view bytes);
  bool Contains(const std::string& sha256) const;
  // NOT_FOUND when no blob has that sha256.
  absl::StatusOr<std::string> Read(const std::string& sha256) const;
  // Path of a stored blob (for streaming reads).
  std::string PathOf(const std::string& sha256) const;

 private:
  explicit BlobStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_STORE_BLOB_STORE_H_
