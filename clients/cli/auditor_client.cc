#include "clients/cli/auditor_client.h"

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cli/local_file.h"

namespace crucible {
namespace {

constexpr std::chrono::seconds kUnaryDeadline(30);

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

template <typename Response, typename Request, typename Method>
absl::StatusOr<Response> CallUnary(v1::AuditorService::Stub& stub, Method method,
                                   const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kUnaryDeadline);
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

// Writes `header`, then the bytes of each file in `paths` as chunk requests
// that `fill_chunk(file_index, bytes, request)` makes, then finishes the call.
// A local read error cancels the call and is what is returned.
template <typename Request>
absl::Status StreamUpload(grpc::ClientContext& context, grpc::ClientWriter<Request>& writer,
                          const Request& header, const std::vector<std::string>& paths,
                          absl::FunctionRef<void(size_t, std::string_view, Request&)> fill_chunk) {
  bool open = writer.Write(header);
  Request request;
  for (size_t file = 0; file < paths.size() && open; ++file) {
    absl::Status read_status =
        ReadFileChunks(paths[file], AuditorClient::kUploadChunkBytes, [&](std::string_view bytes) {
          fill_chunk(file, bytes, request);
          open = writer.Write(request);
          return open;
        });
    if (!read_status.ok()) {
      context.TryCancel();
      writer.Finish();
      return read_status;
    }
  }
  if (open) writer.WritesDone();
  return FromGrpc(writer.Finish());
}

}  // namespace

std::shared_ptr<grpc::Channel> AuditorClient::OpenChannel(const std::string& target) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), arguments);
}

AuditorClient::AuditorClient(std::shared_ptr<grpc::ChannelInterface> channel)
    : stub_(v1::AuditorService::NewStub(channel)) {}

absl::StatusOr<v1::Model> AuditorClient::GetModel(const std::string& id) {
  v1::GetModelRequest request;
  request.set_id(id);
  return CallUnary<v1::Model>(*stub_, &v1::AuditorService::Stub::GetModel, request);
}

absl::StatusOr<v1::ListModelsResponse> AuditorClient::ListModels(const v1::ListModelsRequest& request) {
  return CallUnary<v1::ListModelsResponse>(*stub_, &v1::AuditorService::Stub::ListModels, request);
}

absl::Status AuditorClient::DeleteModel(const std::string& id) {
  v1::DeleteModelRequest request;
  request.set_id(id);
  return CallUnary<v1::DeleteModelResponse>(*stub_, &v1::AuditorService::Stub::DeleteModel, request)
      .status();
}

absl::StatusOr<v1::Model> AuditorClient::UploadModel(const v1::UploadModelHeader& header,
                                                     const std::string& path) {
  grpc::ClientContext context;
  v1::Model model;
  std::unique_ptr<grpc::ClientWriter<v1::UploadModelRequest>> writer = stub_->UploadModel(&context, &model);
  v1::UploadModelRequest header_request;
  *header_request.mutable_header() = header;
  absl::Status status = StreamUpload<v1::UploadModelRequest>(
      context, *writer, header_request, {path},
      [](size_t, std::string_view bytes, v1::UploadModelRequest& request) {
        request.mutable_chunk()->assign(bytes.data(), bytes.size());
      });
  if (!status.ok()) return status;
  return model;
}

absl::StatusOr<v1::Dataset> AuditorClient::GetDataset(const std::string& id) {
  v1::GetDatasetRequest request;
  request.set_id(id);
  return CallUnary<v1::Dataset>(*stub_, &v1::AuditorService::Stub::GetDataset, request);
}

absl::StatusOr<v1::Dataset> AuditorClient::UploadDataset(const v1::UploadDatasetHeader& header,
                                                         const std::string& inputs_path,
                                                         const std::string& labels_path) {
  grpc::ClientContext context;
  v1::Dataset dataset;
  std::unique_ptr<grpc::ClientWriter<v1::UploadDatasetRequest>> writer =
      stub_->UploadDataset(&context, &dataset);
  v1::UploadDatasetRequest header_request;
  *header_request.mutable_header() = header;
  std::vector<std::string> paths = {inputs_path};
  if (!labels_path.empty()) paths.push_back(labels_path);
  absl::Status status = StreamUpload<v1::UploadDatasetRequest>(
      context, *writer, header_request, paths,
      [](size_t file, std::string_view bytes, v1::UploadDatasetRequest& request) {
        std::string* chunk = file == 0 ? request.mutable_inputs_chunk() : request.mutable_labels_chunk();
        chunk->assign(bytes.data(), bytes.size());
      });
  if (!status.ok()) return status;
  return dataset;
}

absl::StatusOr<v1::Job> AuditorClient::SubmitJob(const v1::SubmitJobRequest& request) {
  return CallUnary<v1::Job>(*stub_, &v1::AuditorService::Stub::SubmitJob, request);
}

absl::StatusOr<v1::Job> AuditorClient::GetJob(const std::string& id) {
  v1::GetJobRequest request;
  request.set_id(id);
  return CallUnary<v1::Job>(*stub_, &v1::AuditorService::Stub::GetJob, request);
}

absl::StatusOr<v1::ListJobsResponse> AuditorClient::ListJobs(const v1::ListJobsRequest& request) {
  return CallUnary<v1::ListJobsResponse>(*stub_, &v1::AuditorService::Stub::ListJobs, request);
}

absl::StatusOr<v1::Job> AuditorClient::CancelJob(const std::string& id) {
  v1::CancelJobRequest request;
  request.set_id(id);
  return CallUnary<v1::Job>(*stub_, &v1::AuditorService::Stub::CancelJob, request);
}

absl::StatusOr<v1::Report> AuditorClient::GetReport(const std::string& job_id) {
  v1::GetReportRequest request;
  request.set_job_id(job_id);
  return CallUnary<v1::Report>(*stub_, &v1::AuditorService::Stub::GetReport, request);
}

absl::StatusOr<v1::Job> AuditorClient::WatchJob(const std::string& id,
                                                absl::FunctionRef<void(const v1::Job&)> on_update) {
  grpc::ClientContext context;
  v1::WatchJobRequest request;
  request.set_id(id);
  std::unique_ptr<grpc::ClientReader<v1::Job>> reader = stub_->WatchJob(&context, request);
  std::optional<v1::Job> last;
  v1::Job job;
  while (reader->Read(&job)) {
    on_update(job);
    last = job;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return FromGrpc(status);
  if (!last.has_value()) {
    return absl::UnavailableError(absl::StrCat("the watch of job '", id, "' ended without an update"));
  }
  return *std::move(last);
}

absl::Status AuditorClient::DownloadArtifact(const std::string& job_id, const std::string& name,
                                             absl::FunctionRef<bool(std::string_view)> sink) {
  grpc::ClientContext context;
  v1::DownloadArtifactRequest request;
  request.set_job_id(job_id);
  request.set_name(name);
  std::unique_ptr<grpc::ClientReader<v1::ArtifactChunk>> reader =
      stub_->DownloadArtifact(&context, request);
  v1::ArtifactChunk chunk;
  while (reader->Read(&chunk)) {
    if (!sink(chunk.data())) {
      context.TryCancel();
      break;
    }
  }
  return FromGrpc(reader->Finish());
}

}  // namespace crucible
