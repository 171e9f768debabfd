#include "clients/cli/local_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/store/sha256.h"

namespace crucible {
namespace {

constexpr size_t kDigestChunkBytes = 1 << 20;

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

absl::StatusOr<FilePtr> OpenForReading(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return FileError(errno, "open", path);
  if (S_ISDIR(info.st_mode)) return absl::InvalidArgumentError(absl::StrCat("'", path, "' is a directory"));
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) return FileError(errno, "open", path);
  return file;
}

}  // namespace

absl::Status FileError(int error, absl::string_view action, const std::string& path) {
  std::string message = absl::StrCat("cannot ", action, " '", path, "': ", std::strerror(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EISDIR:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::string bytes;
  absl::Status status = ReadFileChunks(path, kDigestChunkBytes, [&](std::string_view chunk) {
    bytes.append(chunk);
    return true;
  });
  if (!status.ok()) return status;
  return bytes;
}

absl::Status ReadFileChunks(const std::string& path, size_t chunk_bytes,
                            absl::FunctionRef<bool(std::string_view)> consume) {
  absl::StatusOr<FilePtr> file = OpenForReading(path);
  if (!file.ok()) return file.status();
  std::string buffer(chunk_bytes, '\0');
  while (true) {
    size_t n = std::fread(buffer.data(), 1, buffer.size(), file->get());
    if (n > 0 && !consume(std::string_view(buffer.data(), n))) return absl::OkStatus();
    if (n < buffer.size()) {
      if (std::ferror(file->get())) return FileError(errno, "read", path);
      return absl::OkStatus();
    }
  }
}

absl::StatusOr<FileDigest> DigestFile(const std::string& path) {
  Sha256 hash;
  FileDigest digest;
  absl::Status status = ReadFileChunks(path, kDigestChunkBytes, [&](std::string_view chunk) {
    digest.size_bytes += static_cast<int64_t>(chunk.size());
    hash.Update(chunk);
    return true;
  });
  if (!status.ok()) return status;
  digest.sha256 = hash.HexDigest();
  return digest;
}

}  // namespace crucible
