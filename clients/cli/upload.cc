#include "clients/cli/upload.h"

#include <filesystem>

#include "clients/cli/local_file.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

std::string NameOrBaseName(const std::string& name, const std::string& path) {
  return name.empty() ? std::filesystem::path(path).filename().string() : name;
}

}  // namespace

absl::StatusOr<UploadedModel> UploadModelFile(AuditorClient& client, const std::string& path,
                                            const std::string& name) {
  ASSIGN_OR_RETURN(FileDigest digest, DigestFile(path));
  absl::StatusOr<v1::Model> stored = client.GetModel(digest.sha256);
  if (stored.ok()) return UploadedModel{.model = *std::move(stored), .already_stored = true};
  if (!absl::IsNotFound(stored.status())) return stored.status();

  v1::UploadModelHeader header;
  header.set_name(NameOrBaseName(name, path));
  header.set_size_bytes(digest.size_bytes);
  header.set_sha256(digest.sha256);
  ASSIGN_OR_RETURN(v1::Model model, client.UploadModel(header, path));
  return UploadedModel{.model = std::move(model), .already_stored = false};
}

absl::StatusOr<v1::Dataset> UploadDatasetFiles(AuditorClient& client, const std::string& inputs_path,
                                               const std::string& labels_path, const std::string& name) {
  v1::UploadDatasetHeader header;
  header.set_name(NameOrBaseName(name, inputs_path));
  ASSIGN_OR_RETURN(FileDigest inputs, DigestFile(inputs_path));
  header.set_inputs_size_bytes(inputs.size_bytes);
  header.set_inputs_sha256(inputs.sha256);
  if (!labels_path.empty()) {
    ASSIGN_OR_RETURN(FileDigest labels, DigestFile(labels_path));
    header.set_labels_size_bytes(labels.size_bytes);
    header.set_labels_sha256(labels.sha256);
  }
  return client.UploadDataset(header, inputs_path, labels_path);
}

}  // namespace crucible
