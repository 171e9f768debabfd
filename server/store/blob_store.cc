#include "server/store/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engines/core/file_io.h"
#include "engines/core/status_macros.h"
#include "server/store/sha256.h"

namespace crucible {
namespace {

// Temporary files live here until committed; no 2-hex-digit name clashes.
constexpr char kTempDir[] = "tmp";

// The only strings that may become blob paths: a sha256 as lowercase hex.
bool IsSha256Hex(absl::string_view sha256) {
  if (sha256.size() != 64) return false;
  for (char c : sha256) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::Status CheckSha256(absl::string_view sha256) {
  if (IsSha256Hex(sha256)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid sha256 '", sha256.substr(0, 80), "': expected 64 lowercase hex characters"));
}

// Makes a directory entry (a rename or a new subdirectory) durable.
absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", dir));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return absl::ErrnoToStatus(error, absl::StrCat("fsync ", dir));
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("write ", path));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Streams bytes into <root>/tmp/blob-XXXXXX while hashing them; Commit
// renames the file to <root>/<aa>/<sha256>.
class FileBlobWriter final : public BlobWriter {
 public:
  FileBlobWriter(std::string root, std::string temp_path, int fd)
      : root_(std::move(root)), temp_path_(std::move(temp_path)), fd_(fd) {}

  ~FileBlobWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_path_.c_str());
  }

  absl::Status Append(std::string_view bytes) override {
    if (finished_) return absl::FailedPreconditionError("blob writer already committed");
    RETURN_IF_ERROR(WriteAll(fd_, bytes, temp_path_));
    hash_.Update(bytes);
    bytes_written_ += static_cast<int64_t>(bytes.size());
    return absl::OkStatus();
  }

  int64_t bytes_written() const override { return bytes_written_; }

  absl::StatusOr<BlobInfo> Commit() override {
    if (finished_) return absl::FailedPreconditionError("blob writer already committed");
    finished_ = true;
    BlobInfo info{.sha256 = hash_.HexDigest(), .size_bytes = bytes_written_};
    if (::fsync(fd_) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("fsync ", temp_path_));
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return absl::ErrnoToStatus(errno, absl::StrCat("close ", temp_path_));

    const std::string dir = absl::StrCat(root_, "/", info.sha256.substr(0, 2));
    if (::mkdir(dir.c_str(), 0755) == 0) {
      RETURN_IF_ERROR(SyncDirectory(root_));
    } else if (errno != EEXIST) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", dir));
    }
    const std::string path = absl::StrCat(dir, "/", info.sha256);
    struct stat existing;
    if (::stat(path.c_str(), &existing) == 0) return info;  // Same bytes already stored; ~ drops ours.
    if (::rename(temp_path_.c_str(), path.c_str()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("rename ", temp_path_, " to ", path));
    }
    committed_ = true;
    RETURN_IF_ERROR(SyncDirectory(dir));
    return info;
  }

 private:
  const std::string root_;
  const std::string temp_path_;
  int fd_;
  Sha256 hash_;
  int64_t bytes_written_ = 0;
  bool finished_ = false;   // Commit was called (successfully or not).
  bool committed_ = false;  // The temporary file was renamed into place.
};

}  // namespace

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& root) {
  if (root.empty()) return absl::InvalidArgumentError("blob store root is empty");
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(root) / kTempDir, error);
  if (error) return absl::ErrnoToStatus(error.value(), absl::StrCat("create blob store directory ", root));
  return std::unique_ptr<BlobStore>(new BlobStore(root));
}

absl::StatusOr<std::unique_ptr<BlobWriter>> BlobStore::NewWriter() {
  std::string temp_path = absl::StrCat(root_, "/", kTempDir, "/blob-XXXXXX");
  const int fd = ::mkostemp(temp_path.data(), O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("create temporary blob in ", root_, "/", kTempDir));
  return std::make_unique<FileBlobWriter>(root_, std::move(temp_path), fd);
}

absl::StatusOr<BlobInfo> BlobStore::Put(std::string_view bytes) {
  const std::string sha256 = Sha256Hex(bytes);
  if (Contains(sha256)) return BlobInfo{.sha256 = sha256, .size_bytes = static_cast<int64_t>(bytes.size())};
  ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, NewWriter());
  RETURN_IF_ERROR(writer->Append(bytes));
  return writer->Commit();
}

bool BlobStore::Contains(const std::string& sha256) const {
  if (!IsSha256Hex(sha256)) return false;
  struct stat info;
  return ::stat(PathOf(sha256).c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

absl::StatusOr<std::string> BlobStore::Read(const std::string& sha256) const {
  RETURN_IF_ERROR(CheckSha256(sha256));
  auto bytes = ReadFileBytes(PathOf(sha256));
  if (absl::IsNotFound(bytes.status())) return absl::NotFoundError(absl::StrCat("blob ", sha256, " not found"));
  return bytes;
}

std::string BlobStore::PathOf(const std::string& sha256) const {
  if (!IsSha256Hex(sha256)) return "";
  return absl::StrCat(root_, "/", sha256.substr(0, 2), "/", sha256);
}

}  // namespace crucible
