// AuditorService: the gRPC edge of crucible.v1.AuditorService. Each handler
// translates protos to calls on the Catalog, Store and JobManager and their
// absl::Status to a grpc::Status; no audit logic lives here.
#ifndef CRUCIBLE_SERVER_AUDITOR_SERVICE_H_
#define CRUCIBLE_SERVER_AUDITOR_SERVICE_H_

#include <atomic>

#include "crucible/v1/service.grpc.pb.h"
#include "server/catalog.h"
#include "server/http/metrics.h"
#include "server/job_manager.h"
#include "server/store/blob_store.h"
#include "server/store/store.h"

namespace crucible {

struct UploadLimits {
  int64_t max_model_bytes = int64_t{2} << 30;
  int64_t max_dataset_bytes = int64_t{4} << 30;
};

class AuditorService final : public v1::AuditorService::Service {
 public:
  // `metrics` (optional) counts uploaded bytes.
  AuditorService(Store* store, BlobStore* blobs, Catalog* catalog, JobManager* jobs, UploadLimits limits,
                 Metrics* metrics = nullptr)
      : store_(store), blobs_(blobs), catalog_(catalog), jobs_(jobs), limits_(limits), metrics_(metrics) {}

  // Ends open WatchJob streams (server shutdown).
  void StopWatches() { stopping_ = true; }

  grpc::Status UploadModel(grpc::ServerContext* context, grpc::ServerReader<v1::UploadModelRequest>* reader,
                           v1::Model* response) override;
  grpc::Status GetModel(grpc::ServerContext* context, const v1::GetModelRequest* request,
                        v1::Model* response) override;
  grpc::Status ListModels(grpc::ServerContext* context, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status DeleteModel(grpc::ServerContext* context, const v1::DeleteModelRequest* request,
                           v1::DeleteModelResponse* response) override;
  grpc::Status UploadDataset(grpc::ServerContext* context, grpc::ServerReader<v1::UploadDatasetRequest>* reader,
                             v1::Dataset* response) override;
  grpc::Status GetDataset(grpc::ServerContext* context, const v1::GetDatasetRequest* request,
                          v1::Dataset* response) override;
  grpc::Status SubmitJob(grpc::ServerContext* context, const v1::SubmitJobRequest* request,
                         v1::Job* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const v1::CancelJobRequest* request,
                         v1::Job* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::Job>* writer) override;
  grpc::Status GetReport(grpc::ServerContext* context, const v1::GetReportRequest* request,
                         v1::Report* response) override;
  grpc::Status DownloadArtifact(grpc::ServerContext* context, const v1::DownloadArtifactRequest* request,
                                grpc::ServerWriter<v1::ArtifactChunk>* writer) override;

 private:
  Store* store_;
  BlobStore* blobs_;
  Catalog* catalog_;
  JobManager* jobs_;
  UploadLimits limits_;
  Metrics* metrics_;
  std::atomic<bool> stopping_{false};
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_AUDITOR_SERVICE_H_
