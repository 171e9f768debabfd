#include "server/upload_session.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engines/core/status_macros.h"

namespace crucible {

UploadSession::UploadSession(BlobStore* blobs, int64_t declared_size, std::string expected_sha256, int64_t limit,
                             std::string what)
    : blobs_(blobs), declared_size_(declared_size), expected_sha256_(absl::AsciiStrToLower(expected_sha256)),
      limit_(limit), what_(std::move(what)) {}

absl::Status UploadSession::Begin() {
  if (declared_size_ <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(what_, ": size_bytes must be given and positive"));
  }
  if (declared_size_ > limit_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what_, ": ", declared_size_, " bytes exceed the server's limit of ", limit_, " bytes"));
  }
  if (!expected_sha256_.empty() &&
      (expected_sha256_.size() != 64 ||
       expected_sha256_.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return absl::InvalidArgumentError(absl::StrCat(what_, ": sha256 must be 64 hex digits"));
  }
  ASSIGN_OR_RETURN(writer_, blobs_->NewWriter());
  return absl::OkStatus();
}

absl::Status UploadSession::Append(std::string_view chunk) {
  if (writer_->bytes_written() + static_cast<int64_t>(chunk.size()) > declared_size_) {
    return absl::InvalidArgumentError(
        absl::StrCat(what_, ": more bytes arrived than the declared size_bytes ", declared_size_));
  }
  return writer_->Append(chunk);
}

absl::StatusOr<BlobInfo> UploadSession::Finish() {
  if (writer_->bytes_written() != declared_size_) {
    return absl::InvalidArgumentError(absl::StrCat(what_, ": upload truncated: declared ", declared_size_,
                                                   " bytes, received ", writer_->bytes_written()));
  }
  ASSIGN_OR_RETURN(BlobInfo blob, writer_->Commit());
  if (!expected_sha256_.empty() && blob.sha256 != expected_sha256_) {
    return absl::InvalidArgumentError(absl::StrCat(what_, ": sha256 mismatch: declared ", expected_sha256_,
                                                   ", received bytes hash to ", blob.sha256));
  }
  return blob;
}

}  // namespace crucible
