// AuditorClient: a thin client of crucible.v1.AuditorService that returns
// absl::Status (a gRPC status keeps its code and message). Unary calls have a
// 30 s deadline; streams (uploads, watch, download) have none. Uploads stream
// the header first, then the file in 1 MiB chunks.
//
// Thread-compatible: one call at a time.
//
//   AuditorClient client(AuditorClient::OpenChannel("127.0.0.1:50051"));
//   ASSIGN_OR_RETURN(v1::Job job, client.GetJob(id));
//   ASSIGN_OR_RETURN(v1::Job last, client.WatchJob(id, [](const v1::Job& j) { ... }));
#ifndef CRUCIBLE_CLIENTS_CLI_AUDITOR_CLIENT_H_
#define CRUCIBLE_CLIENTS_CLI_AUDITOR_CLIENT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crucible/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace crucible {

class AuditorClient {
 public:
  static constexpr size_t kUploadChunkBytes = 1 << 20;
  static constexpr int kMaxReceiveMessageBytes = 64 << 20;

  // An insecure channel to `target` (HOST:PORT) that accepts messages of up to
  // kMaxReceiveMessageBytes. Does not connect: the first call does.
  static std::shared_ptr<grpc::Channel> OpenChannel(const std::string& target);

  explicit AuditorClient(std::shared_ptr<grpc::ChannelInterface> channel);

  absl::StatusOr<v1::Model> GetModel(const std::string& id);
  absl::StatusOr<v1::ListModelsResponse> ListModels(const v1::ListModelsRequest& request);
  absl::Status DeleteModel(const std::string& id);
  // Streams `header`, then the bytes of the file at `path`.
  absl::StatusOr<v1::Model> UploadModel(const v1::UploadModelHeader& header, const std::string& path);

  absl::StatusOr<v1::Dataset> GetDataset(const std::string& id);
  // Streams `header`, the inputs file, then the labels file (none when
  // `labels_path` is empty).
  absl::StatusOr<v1::Dataset> UploadDataset(const v1::UploadDatasetHeader& header,
                                            const std::string& inputs_path,
                                            const std::string& labels_path);

  absl::StatusOr<v1::Job> SubmitJob(const v1::SubmitJobRequest& request);
  absl::StatusOr<v1::Job> GetJob(const std::string& id);
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& request);
  absl::StatusOr<v1::Job> CancelJob(const std::string& id);
  absl::StatusOr<v1::Report> GetReport(const std::string& job_id);

  // Calls `on_update` with every Job the server streams and returns the last
  // one once the stream ends. UNAVAILABLE when the stream ends without a job.
  absl::StatusOr<v1::Job> WatchJob(const std::string& id,
                                   absl::FunctionRef<void(const v1::Job&)> on_update);

  // Calls `sink` with each chunk of the artifact; when `sink` returns false the
  // download is cancelled (and the CANCELLED status returned).
  absl::Status DownloadArtifact(const std::string& job_id, const std::string& name,
                                absl::FunctionRef<bool(std::string_view)> sink);

 private:
  std::unique_ptr<v1::AuditorService::Stub> stub_;
};

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_AUDITOR_CLIENT_H_
