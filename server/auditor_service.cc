#include "server/auditor_service.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"
#include "server/log.h"
#include "server/upload_session.h"

namespace crucible {
namespace {

constexpr size_t kArtifactChunkBytes = 1 << 20;

// Assigns a StatusOr's value to *out, or converts its error.
template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *out = *std::move(result);
  return grpc::Status::OK;
}

bool SameProgress(const v1::Job& a, const v1::Job& b) {
  return a.state() == b.state() && a.progress().SerializeAsString() == b.progress().SerializeAsString();
}

}  // namespace

grpc::Status AuditorService::UploadModel(grpc::ServerContext*, grpc::ServerReader<v1::UploadModelRequest>* reader,
                                         v1::Model* response) {
  v1::UploadModelRequest message;
  if (!reader->Read(&message) || !message.has_header()) {
    return ToGrpcStatus(absl::InvalidArgumentError("the first upload message must carry the header"));
  }
  const v1::UploadModelHeader header = message.header();
  UploadSession session(blobs_, header.size_bytes(), header.sha256(), limits_.max_model_bytes, "model");
  absl::Status status = session.Begin();
  while (status.ok() && reader->Read(&message)) {
    status = message.has_header() ? absl::InvalidArgumentError("model: a second header arrived mid-upload")
                                  : session.Append(message.chunk());
  }
  if (!status.ok()) return ToGrpcStatus(status);
  auto blob = session.Finish();
  if (!blob.ok()) return ToGrpcStatus(blob.status());
  if (metrics_ != nullptr) metrics_->AddUploadBytes("model", blob->size_bytes);
  auto model = catalog_->RegisterModel(header.name(), *blob);
  LogEvent("model_upload", {{"model", blob->sha256},
                            {"bytes", absl::StrCat(blob->size_bytes)},
                            {"status", model.ok() ? "ok" : model.status().ToString()}});
  return Reply(std::move(model), response);
}

grpc::Status AuditorService::GetModel(grpc::ServerContext*, const v1::GetModelRequest* request,
                                      v1::Model* response) {
  return Reply(store_->GetModel(request->id()), response);
}

grpc::Status AuditorService::ListModels(grpc::ServerContext*, const v1::ListModelsRequest* request,
                                        v1::ListModelsResponse* response) {
  auto page = store_->ListModels(request->page_size(), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (v1::Model& model : page->items) *response->add_models() = std::move(model);
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status AuditorService::DeleteModel(grpc::ServerContext*, const v1::DeleteModelRequest* request,
                                         v1::DeleteModelResponse*) {
  return ToGrpcStatus(store_->DeleteModel(request->id()));
}

grpc::Status AuditorService::UploadDataset(grpc::ServerContext*,
                                           grpc::ServerReader<v1::UploadDatasetRequest>* reader,
                                           v1::Dataset* response) {
  v1::UploadDatasetRequest message;
  if (!reader->Read(&message) || !message.has_header()) {
    return ToGrpcStatus(absl::InvalidArgumentError("the first upload message must carry the header"));
  }
  const v1::UploadDatasetHeader header = message.header();
  if (header.inputs_size_bytes() + header.labels_size_bytes() > limits_.max_dataset_bytes) {
    return ToGrpcStatus(absl::ResourceExhaustedError(
        absl::StrCat("dataset of ", header.inputs_size_bytes() + header.labels_size_bytes(),
                     " bytes exceeds the server's limit of ", limits_.max_dataset_bytes, " bytes")));
  }
  const bool has_labels = header.labels_size_bytes() > 0;
  UploadSession inputs(blobs_, header.inputs_size_bytes(), header.inputs_sha256(), limits_.max_dataset_bytes,
                       "inputs");
  UploadSession labels(blobs_, header.labels_size_bytes(), header.labels_sha256(), limits_.max_dataset_bytes,
                       "labels");
  absl::Status status = inputs.Begin();
  if (status.ok() && has_labels) status = labels.Begin();
  while (status.ok() && reader->Read(&message)) {
    if (message.has_inputs_chunk()) {
      status = inputs.Append(message.inputs_chunk());
    } else if (message.has_labels_chunk() && has_labels) {
      status = labels.Append(message.labels_chunk());
    } else {
      status = absl::InvalidArgumentError(message.has_header() ? "dataset: a second header arrived mid-upload"
                                                               : "dataset: labels sent but labels_size_bytes is 0");
    }
  }
  if (!status.ok()) return ToGrpcStatus(status);
  auto inputs_blob = inputs.Finish();
  if (!inputs_blob.ok()) return ToGrpcStatus(inputs_blob.status());
  BlobInfo labels_blob;
  if (has_labels) {
    auto finished = labels.Finish();
    if (!finished.ok()) return ToGrpcStatus(finished.status());
    labels_blob = *finished;
  }
  if (metrics_ != nullptr) metrics_->AddUploadBytes("dataset", inputs_blob->size_bytes + labels_blob.size_bytes);
  auto dataset = catalog_->RegisterDataset(header.name(), *inputs_blob, labels_blob);
  LogEvent("dataset_upload", {{"inputs", inputs_blob->sha256},
                              {"status", dataset.ok() ? "ok" : dataset.status().ToString()}});
  return Reply(std::move(dataset), response);
}

grpc::Status AuditorService::GetDataset(grpc::ServerContext*, const v1::GetDatasetRequest* request,
                                        v1::Dataset* response) {
  return Reply(store_->GetDataset(request->id()), response);
}

grpc::Status AuditorService::SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest* request,
                                       v1::Job* response) {
  return Reply(jobs_->Submit(*request), response);
}

grpc::Status AuditorService::GetJob(grpc::ServerContext*, const v1::GetJobRequest* request, v1::Job* response) {
  return Reply(store_->GetJob(request->id()), response);
}

grpc::Status AuditorService::ListJobs(grpc::ServerContext*, const v1::ListJobsRequest* request,
                                      v1::ListJobsResponse* response) {
  const JobFilter filter{request->state(), request->engine(), request->model_id()};
  auto page = store_->ListJobs(filter, request->page_size(), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (v1::Job& job : page->items) *response->add_jobs() = std::move(job);
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status AuditorService::CancelJob(grpc::ServerContext*, const v1::CancelJobRequest* request,
                                       v1::Job* response) {
  return Reply(jobs_->Cancel(request->id()), response);
}

grpc::Status AuditorService::WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                                      grpc::ServerWriter<v1::Job>* writer) {
  int64_t generation = jobs_->generation();
  auto job = store_->GetJob(request->id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  if (!writer->Write(*job)) return grpc::Status::OK;
  v1::Job last = *job;
  while (!JobManager::IsTerminal(last.state())) {
    generation = jobs_->WaitForChange(generation, absl::Seconds(1));
    if (context->IsCancelled() || stopping_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down or client gone");
    }
    job = store_->GetJob(request->id());
    if (!job.ok()) return ToGrpcStatus(job.status());
    if (SameProgress(*job, last)) continue;
    if (!writer->Write(*job)) return grpc::Status::OK;
    last = *job;
  }
  return grpc::Status::OK;
}

grpc::Status AuditorService::GetReport(grpc::ServerContext*, const v1::GetReportRequest* request,
                                       v1::Report* response) {
  auto job = store_->GetJob(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  if (job->state() != v1::SUCCEEDED) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        absl::StrCat("job ", job->id(), " is ", v1::JobState_Name(job->state()),
                     job->error().empty() ? "" : absl::StrCat(": ", job->error()), "; a report exists once it SUCCEEDED")));
  }
  *response = job->report();
  return grpc::Status::OK;
}

grpc::Status AuditorService::DownloadArtifact(grpc::ServerContext* context, const v1::DownloadArtifactRequest* request,
                                              grpc::ServerWriter<v1::ArtifactChunk>* writer) {
  auto job = store_->GetJob(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  const v1::Artifact* artifact = nullptr;
  for (const v1::Artifact& a : job->artifacts()) {
    if (a.name() == request->name()) artifact = &a;
  }
  if (artifact == nullptr) {
    return ToGrpcStatus(absl::NotFoundError(absl::StrCat("job ", job->id(), " has no artifact '", request->name(), "'")));
  }
  std::ifstream in(blobs_->PathOf(artifact->sha256()), std::ios::binary);
  if (!in) return ToGrpcStatus(absl::DataLossError(absl::StrCat("artifact '", artifact->name(), "' is missing")));
  std::string buffer(kArtifactChunkBytes, '\0');
  v1::ArtifactChunk chunk;
  while (!context->IsCancelled() && in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() == 0) break;
    chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
    if (!writer->Write(chunk)) break;
  }
  return grpc::Status::OK;
}

}  // namespace crucible
