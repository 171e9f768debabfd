// Uploads of local files, as `crucible run`, `model upload` and `dataset
// upload` do them. A model is content-addressed: its sha256 is computed
// locally and the upload is skipped when GetModel(sha256) finds it. Datasets
// are always uploaded. Headers carry the size and sha256 of every file, which
// the server verifies.
//
//   ASSIGN_OR_RETURN(UploadedModel up, UploadModelFile(client, "lenet.onnx", ""));
//   spec.set_model_id(up.model.id());
#ifndef CRUCIBLE_CLIENTS_CLI_UPLOAD_H_
#define CRUCIBLE_CLIENTS_CLI_UPLOAD_H_

#include <string>

#include "absl/status/statusor.h"
#include "clients/cli/auditor_client.h"
#include "crucible/v1/resources.pb.h"

namespace crucible {

struct UploadedModel {
  v1::Model model;
  bool already_stored = false;  // The server had it; nothing was uploaded.
};

// The model in the ONNX file at `path`, uploaded under `name` (empty: the
// file's base name) unless the server already has it (then its stored name
// stays).
absl::StatusOr<UploadedModel> UploadModelFile(AuditorClient& client, const std::string& path,
                                            const std::string& name);

// Uploads the inputs file and, unless `labels_path` is empty, the labels file
// as one dataset named `name` (empty: the inputs file's base name).
absl::StatusOr<v1::Dataset> UploadDatasetFiles(AuditorClient& client, const std::string& inputs_path,
                                               const std::string& labels_path, const std::string& name);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_UPLOAD_H_
