// UploadSession: receives one file of a client-streaming upload into the blob
// store, enforcing the size the client declared (and a server limit) and the
// sha256 it optionally gave.
//
//   UploadSession session(blobs, header.size_bytes(), header.sha256(), kMaxModelBytes, "model");
//   RETURN_IF_ERROR(session.Begin());
//   RETURN_IF_ERROR(session.Append(chunk));    // per message
//   ASSIGN_OR_RETURN(BlobInfo blob, session.Finish());
#ifndef CRUCIBLE_SERVER_UPLOAD_SESSION_H_
#define CRUCIBLE_SERVER_UPLOAD_SESSION_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/store/blob_store.h"

namespace crucible {

class UploadSession {
 public:
  // `what` names the file in errors ("model", "inputs", "labels").
  UploadSession(BlobStore* blobs, int64_t declared_size, std::string expected_sha256, int64_t limit,
                std::string what);

  // INVALID_ARGUMENT for a missing or negative size or a malformed sha256;
  // RESOURCE_EXHAUSTED over the limit.
  absl::Status Begin();
  // INVALID_ARGUMENT once more bytes arrive than were declared.
  absl::Status Append(std::string_view chunk);
  // INVALID_ARGUMENT when fewer bytes arrived than declared or the sha256
  // differs (nothing then refers to the bytes).
  absl::StatusOr<BlobInfo> Finish();

 private:
  BlobStore* blobs_;
  int64_t declared_size_;
  std::string expected_sha256_;
  int64_t limit_;
  std::string what_;
  std::unique_ptr<BlobWriter> writer_;
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_UPLOAD_SESSION_H_
