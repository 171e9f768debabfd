// The verbs against an in-process fake of AuditorService: what the client
// sends (upload framing, dedup, specs, filters), what it prints, and its exit
// statuses.
#include "clients/cli/commands.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "clients/cli/auditor_client.h"
#include "clients/cli/cli_errors.h"
#include "clients/cli/cli_grammar.h"
#include "clients/cli/command_line.h"
#include "clients/cli/proto_json.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/store/sha256.h"
#include "tests/unit/clients/cli/memory_file.h"

namespace crucible {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Records what it receives; answers from the state the test sets up.
class FakeAuditor final : public v1::AuditorService::Service {
 public:
  grpc::Status UploadModel(grpc::ServerContext*, grpc::ServerReader<v1::UploadModelRequest>* reader,
                           v1::Model* response) override {
    std::lock_guard lock(mu);
    v1::UploadModelRequest request;
    if (!reader->Read(&request) || !request.has_header()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "header first");
    }
    model_headers.push_back(request.header());
    std::string bytes;
    while (reader->Read(&request)) {
      if (!request.has_chunk()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "chunk expected");
      model_chunk_sizes.push_back(request.chunk().size());
      bytes += request.chunk();
    }
    if (static_cast<int64_t>(bytes.size()) != model_headers.back().size_bytes()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "size_bytes does not match");
    }
    if (Sha256Hex(bytes) != model_headers.back().sha256()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "sha256 does not match");
    }
    v1::Model& model = models[Sha256Hex(bytes)];
    model.set_id(Sha256Hex(bytes));
    model.set_name(model_headers.back().name());
    model.set_size_bytes(static_cast<int64_t>(bytes.size()));
    *response = model;
    return grpc::Status::OK;
  }

  grpc::Status GetModel(grpc::ServerContext*, const v1::GetModelRequest* request, v1::Model* response) override {
    std::lock_guard lock(mu);
    model_lookups.push_back(request->id());
    auto it = models.find(request->id());
    if (it == models.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no model '" + request->id() + "'");
    *response = it->second;
    return grpc::Status::OK;
  }

  grpc::Status ListModels(grpc::ServerContext*, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override {
    std::lock_guard lock(mu);
    list_models_requests.push_back(*request);
    // Pages of page_size models in id order; the token is the next index.
    const int size = request->page_size() > 0 ? request->page_size() : 50;
    const int start = request->page_token().empty() ? 0 : std::stoi(request->page_token());
    int index = 0;
    for (const auto& [id, model] : models) {
      if (index >= start && index < start + size) *response->add_models() = model;
      ++index;
    }
    if (start + size < index) response->set_next_page_token(std::to_string(start + size));
    return grpc::Status::OK;
  }

  grpc::Status DeleteModel(grpc::ServerContext*, const v1::DeleteModelRequest* request,
                           v1::DeleteModelResponse*) override {
    std::lock_guard lock(mu);
    if (models.erase(request->id()) == 0) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no model");
    return grpc::Status::OK;
  }

  grpc::Status UploadDataset(grpc::ServerContext*, grpc::ServerReader<v1::UploadDatasetRequest>* reader,
                             v1::Dataset* response) override {
    std::lock_guard lock(mu);
    v1::UploadDatasetRequest request;
    if (!reader->Read(&request) || !request.has_header()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "header first");
    }
    dataset_header = request.header();
    inputs_bytes.clear();
    labels_bytes.clear();
    while (reader->Read(&request)) {
      if (request.has_inputs_chunk()) {
        if (!labels_bytes.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "inputs after labels");
        inputs_bytes += request.inputs_chunk();
      } else if (request.has_labels_chunk()) {
        labels_bytes += request.labels_chunk();
      }
    }
    ++dataset_uploads;
    response->set_id("dataset-" + std::to_string(dataset_uploads));
    response->set_num_examples(3);
    response->set_has_labels(!labels_bytes.empty());
    return grpc::Status::OK;
  }

  grpc::Status GetDataset(grpc::ServerContext*, const v1::GetDatasetRequest* request,
                          v1::Dataset* response) override {
    response->set_id(request->id());
    return grpc::Status::OK;
  }

  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest* request, v1::Job* response) override {
    std::lock_guard lock(mu);
    submitted.push_back(*request);
    if (!submit_error.ok()) return submit_error;
    response->set_id(final_job.id());
    response->set_state(v1::QUEUED);
    *response->mutable_spec() = request->spec();
    return grpc::Status::OK;
  }

  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest* request, v1::Job* response) override {
    std::lock_guard lock(mu);
    if (request->id() != final_job.id()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no job");
    *response = final_job;
    return grpc::Status::OK;
  }

  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override {
    std::lock_guard lock(mu);
    list_jobs_requests.push_back(*request);
    *response->add_jobs() = final_job;
    return grpc::Status::OK;
  }

  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest* request, v1::Job* response) override {
    response->set_id(request->id());
    response->set_state(v1::CANCELLED);
    return grpc::Status::OK;
  }

  grpc::Status WatchJob(grpc::ServerContext*, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::Job>* writer) override {
    std::lock_guard lock(mu);
    if (request->id() != final_job.id()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no job");
    for (const v1::Job& update : watch_updates) writer->Write(update);
    return grpc::Status::OK;
  }

  grpc::Status GetReport(grpc::ServerContext*, const v1::GetReportRequest* request, v1::Report* response) override {
    std::lock_guard lock(mu);
    if (request->job_id() != final_job.id()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no job");
    *response = final_job.report();
    return grpc::Status::OK;
  }

  grpc::Status DownloadArtifact(grpc::ServerContext*, const v1::DownloadArtifactRequest* request,
                                grpc::ServerWriter<v1::ArtifactChunk>* writer) override {
    std::lock_guard lock(mu);
    auto it = artifacts.find(request->name());
    if (request->job_id() != final_job.id() || it == artifacts.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no artifact '" + request->name() + "'");
    }
    v1::ArtifactChunk chunk;
    for (size_t offset = 0; offset < it->second.size(); offset += 3) {
      chunk.set_data(it->second.substr(offset, 3));
      writer->Write(chunk);
    }
    return grpc::Status::OK;
  }

  std::mutex mu;
  std::map<std::string, v1::Model> models;
  std::vector<std::string> model_lookups;
  std::vector<v1::UploadModelHeader> model_headers;
  std::vector<size_t> model_chunk_sizes;
  std::vector<v1::ListModelsRequest> list_models_requests;
  v1::UploadDatasetHeader dataset_header;
  std::string inputs_bytes;
  std::string labels_bytes;
  int dataset_uploads = 0;
  std::vector<v1::SubmitJobRequest> submitted;
  grpc::Status submit_error;
  std::vector<v1::ListJobsRequest> list_jobs_requests;
  std::vector<v1::Job> watch_updates;
  v1::Job final_job;
  std::map<std::string, std::string> artifacts;
};

v1::Job JobIn(v1::JobState state, double fraction, const std::string& stage) {
  v1::Job job;
  job.set_id("job-1");
  job.set_engine("evaluate");
  job.set_state(state);
  job.mutable_progress()->set_fraction(fraction);
  job.mutable_progress()->set_stage(stage);
  return job;
}

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    client_ = std::make_unique<AuditorClient>(server_->InProcessChannel(grpc::ChannelArguments()));
    dir_ = std::filesystem::temp_directory_path() / ("crucible_commands_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);

    fake_.watch_updates = {JobIn(v1::QUEUED, 0, ""), JobIn(v1::RUNNING, 0.5, "evaluate"),
                           JobIn(v1::SUCCEEDED, 1, "done")};
    fake_.final_job = JobIn(v1::SUCCEEDED, 1, "done");
    fake_.final_job.mutable_report()->mutable_evaluation()->set_accuracy(0.75);
  }

  void TearDown() override {
    server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  absl::StatusOr<int> Run(const std::vector<std::string>& args) {
    absl::StatusOr<ParsedCommand> command = ParseCommandLine(args, CrucibleCommands());
    if (!command.ok()) return command.status();
    CommandEnv env{.client = *client_, .out = out_.file(), .err = err_.file(), .err_is_terminal = false,
                   .err_width = 80};
    return RunCommand(*command, env);
  }

  FakeAuditor fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AuditorClient> client_;
  std::filesystem::path dir_;
  MemoryFile out_;
  MemoryFile err_;
};

// 2.5 MiB of varied bytes.
std::string ModelBytes() {
  std::string bytes((5 << 20) / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919) >> 5);
  return bytes;
}

TEST_F(CommandsTest, RunUploadsSubmitsWatchesAndPrintsTheJobAsJson) {
  const std::string model = ModelBytes();
  const std::string model_path = Write("lenet.onnx", model);
  const std::string inputs_path = Write("x.npy", "inputs-bytes");
  const std::string labels_path = Write("y.npy", "labels");
  const std::string config_path = Write("c.json", R"({"threads": 3, "preprocess": {"scale": 255}})");

  absl::StatusOr<int> exit_status = Run({"run", "--engine", "evaluate", "--model", model_path, "--inputs",
                                         inputs_path, "--labels", labels_path, "--config", config_path, "--json"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(*exit_status, kExitOk);

  const std::string sha = Sha256Hex(model);
  EXPECT_THAT(fake_.model_lookups, ElementsAre(sha));
  ASSERT_EQ(fake_.model_headers.size(), 1u);
  EXPECT_EQ(fake_.model_headers[0].name(), "lenet.onnx");
  EXPECT_EQ(fake_.model_headers[0].size_bytes(), static_cast<int64_t>(model.size()));
  EXPECT_EQ(fake_.model_headers[0].sha256(), sha);
  EXPECT_THAT(fake_.model_chunk_sizes, ElementsAre(1u << 20, 1u << 20, 1u << 19));

  EXPECT_EQ(fake_.dataset_header.name(), "x.npy");
  EXPECT_EQ(fake_.dataset_header.inputs_size_bytes(), 12);
  EXPECT_EQ(fake_.dataset_header.inputs_sha256(), Sha256Hex("inputs-bytes"));
  EXPECT_EQ(fake_.dataset_header.labels_size_bytes(), 6);
  EXPECT_EQ(fake_.dataset_header.labels_sha256(), Sha256Hex("labels"));
  EXPECT_EQ(fake_.inputs_bytes, "inputs-bytes");
  EXPECT_EQ(fake_.labels_bytes, "labels");

  ASSERT_EQ(fake_.submitted.size(), 1u);
  const v1::JobSpec& spec = fake_.submitted[0].spec();
  EXPECT_EQ(spec.model_id(), sha);
  EXPECT_EQ(spec.dataset_id(), "dataset-1");
  ASSERT_TRUE(spec.has_evaluate());
  EXPECT_EQ(spec.evaluate().threads(), 3);
  EXPECT_EQ(spec.evaluate().preprocess().scale(), 255.0f);

  v1::Job printed;
  ASSERT_TRUE(ParseProtoJson(out_.text(), &printed).ok()) << out_.text();
  EXPECT_EQ(printed.SerializeAsString(), fake_.final_job.SerializeAsString());
  EXPECT_THAT(out_.text(), HasSubstr(R"("accuracy": 0.75)"));

  EXPECT_EQ(err_.text(),
            "uploaded model " + sha + "\n"
            "uploaded dataset dataset-1 (3 examples)\n"
            "submitted job job-1\n"
            "job job-1: QUEUED 0%\n"
            "job job-1: RUNNING 50%  evaluate\n"
            "job job-1: SUCCEEDED 100%  done\n");
}

TEST_F(CommandsTest, RunDoesNotUploadAModelTheServerHas) {
  const std::string model = ModelBytes();
  fake_.models[Sha256Hex(model)].set_id(Sha256Hex(model));
  absl::StatusOr<int> exit_status =
      Run({"run", "--engine", "evaluate", "--model", Write("m.onnx", model), "--inputs", Write("x.npy", "x")});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(*exit_status, kExitOk);
  EXPECT_TRUE(fake_.model_headers.empty());
  EXPECT_EQ(fake_.dataset_header.labels_size_bytes(), 0);
  EXPECT_EQ(fake_.dataset_header.labels_sha256(), "");
  EXPECT_EQ(fake_.submitted.at(0).spec().model_id(), Sha256Hex(model));
  EXPECT_THAT(err_.text(), HasSubstr("using stored model " + Sha256Hex(model) + "\n"));
  // Human form on stdout.
  EXPECT_THAT(out_.text(), HasSubstr("state     SUCCEEDED\n"));
  EXPECT_THAT(out_.text(), HasSubstr("report:\n  accuracy  75.00%"));
}

TEST_F(CommandsTest, RunExitsWithOneWhenTheJobFailsOrIsCancelled) {
  for (v1::JobState state : {v1::FAILED, v1::CANCELLED}) {
    fake_.final_job = JobIn(state, 0.3, "");
    fake_.final_job.set_error("engine error");
    fake_.watch_updates = {JobIn(v1::RUNNING, 0.3, ""), fake_.final_job};
    absl::StatusOr<int> exit_status =
        Run({"run", "--engine", "evaluate", "--model", Write("m.onnx", "m"), "--inputs", Write("x.npy", "x")});
    ASSERT_TRUE(exit_status.ok()) << exit_status.status();
    EXPECT_EQ(*exit_status, kExitJobUnsuccessful);
    EXPECT_THAT(out_.text(), HasSubstr("error     engine error\n"));
  }
}

TEST_F(CommandsTest, RunVerifySendsThePropertyText) {
  const std::string property = "(declare-const X_0 Real)\n(assert (>= X_0 0.5))\n";
  absl::StatusOr<int> exit_status =
      Run({"run", "--engine", "verify", "--model", Write("acas.onnx", "net"), "--property",
           Write("prop.vnnlib", property), "--config", Write("c.json", R"({"timeout_seconds": 116})")});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  ASSERT_EQ(fake_.submitted.size(), 1u);
  const v1::JobSpec& spec = fake_.submitted[0].spec();
  EXPECT_EQ(spec.verify().property(), property);
  EXPECT_EQ(spec.verify().timeout_seconds(), 116);
  EXPECT_EQ(spec.dataset_id(), "");
  EXPECT_EQ(fake_.dataset_uploads, 0);
}

TEST_F(CommandsTest, RunNapSendsTheSuppliedPatternsAndNeedsNoData) {
  const std::string naps = R"({"delta": 0.95, "patterns": [{"label": 3, "neurons": [{"layer": 1, "neuron": 7,
                              "state": "INACTIVE"}]}]})";
  absl::StatusOr<int> exit_status = Run({"run", "--engine", "nap", "--model", Write("mlp.onnx", "net"), "--naps",
                                         Write("nap.json", naps), "--config", Write("c.json", R"({"exclusivity": true})")});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  ASSERT_EQ(fake_.submitted.size(), 1u);
  const v1::NapConfig& config = fake_.submitted[0].spec().nap();
  EXPECT_TRUE(config.exclusivity());
  EXPECT_FLOAT_EQ(config.patterns().delta(), 0.95f);
  ASSERT_EQ(config.patterns().patterns_size(), 1);
  EXPECT_EQ(config.patterns().patterns(0).label(), 3);
  ASSERT_EQ(config.patterns().patterns(0).neurons_size(), 1);
  EXPECT_EQ(config.patterns().patterns(0).neurons(0).neuron(), 7);
  EXPECT_EQ(config.patterns().patterns(0).neurons(0).state(), v1::NapNeuron::INACTIVE);
  EXPECT_EQ(fake_.submitted[0].spec().dataset_id(), "");

  const std::string bad = Write("bad_nap.json", R"({"patterns": [{"lable": 3}]})");
  exit_status = Run({"run", "--engine", "nap", "--model", Write("mlp.onnx", "net"), "--naps", bad});
  ASSERT_FALSE(exit_status.ok());
  EXPECT_EQ(exit_status.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(exit_status.status().message(), HasSubstr(bad + ": not valid JSON of crucible.v1.NapSet"));
  EXPECT_EQ(fake_.submitted.size(), 1u);
}

TEST_F(CommandsTest, RunChecksItsOptionsBeforeCallingTheServer) {
  const std::string model = Write("m.onnx", "m");
  const std::string inputs = Write("x.npy", "x");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"run", "--engine", "evaluat", "--model", model, "--inputs", inputs}, "unknown engine 'evaluat'"},
      {{"run", "--engine", "fgsm", "--model", model, "--inputs", inputs, "--property", inputs},
       "--property is only for --engine verify"},
      {{"run", "--engine", "verify", "--model", model}, "--engine verify needs --property P.vnnlib"},
      {{"run", "--engine", "evaluate", "--model", model, "--inputs", inputs, "--naps", inputs},
       "--naps is only for --engine nap"},
      {{"run", "--engine", "nap", "--model", model}, "--engine nap needs --inputs X.npy"},
      {{"run", "--engine", "pgd", "--model", model}, "--engine pgd needs --inputs X.npy"},
      {{"run", "--engine", "verify", "--model", model, "--property", inputs, "--labels", inputs},
       "--labels needs --inputs"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<int> exit_status = Run(c.args);
    ASSERT_FALSE(exit_status.ok()) << c.message;
    EXPECT_TRUE(IsUsageError(exit_status.status())) << exit_status.status();
    EXPECT_THAT(exit_status.status().message(), HasSubstr(c.message));
  }

  const std::string bad_config = Write("bad.json", R"({"threads": "many"})");
  absl::StatusOr<int> exit_status =
      Run({"run", "--engine", "evaluate", "--model", model, "--inputs", inputs, "--config", bad_config});
  ASSERT_FALSE(exit_status.ok());
  EXPECT_FALSE(IsUsageError(exit_status.status()));
  EXPECT_EQ(exit_status.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(exit_status.status().message(), HasSubstr(bad_config + ": not valid JSON of crucible.v1.EvaluateConfig"));

  exit_status = Run({"run", "--engine", "evaluate", "--model", (dir_ / "missing.onnx").string(), "--inputs", inputs});
  ASSERT_FALSE(exit_status.ok());
  EXPECT_EQ(exit_status.status().code(), absl::StatusCode::kNotFound);

  EXPECT_THAT(fake_.model_lookups, IsEmpty());
  EXPECT_TRUE(fake_.submitted.empty());
}

TEST_F(CommandsTest, ServerErrorsKeepTheirCode) {
  fake_.submit_error = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "spec.pgd.epsilon must be positive");
  absl::StatusOr<int> exit_status =
      Run({"run", "--engine", "pgd", "--model", Write("m.onnx", "m"), "--inputs", Write("x.npy", "x")});
  ASSERT_FALSE(exit_status.ok());
  EXPECT_EQ(exit_status.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorText(exit_status.status()), "error: INVALID_ARGUMENT: spec.pgd.epsilon must be positive");
}

TEST_F(CommandsTest, AWatchThatEndsBeforeTheJobIsAnError) {
  fake_.watch_updates = {JobIn(v1::RUNNING, 0.2, "")};
  absl::StatusOr<int> exit_status = Run({"job", "watch", "job-1"});
  ASSERT_FALSE(exit_status.ok());
  EXPECT_EQ(exit_status.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(exit_status.status().message(), HasSubstr("ended while it was RUNNING"));

  fake_.watch_updates.clear();
  exit_status = Run({"job", "watch", "job-1"});
  EXPECT_EQ(exit_status.status().code(), absl::StatusCode::kUnavailable);

  exit_status = Run({"job", "watch", "job-2"});
  EXPECT_EQ(exit_status.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CommandsTest, JobSubmitFromASpecFile) {
  const std::string spec = Write("spec.json", R"({"spec": {"model_id": "m", "dataset_id": "d",
      "fgsm": {"epsilon": 0.1}}, "request_id": "ci-42"})");
  absl::StatusOr<int> exit_status = Run({"job", "submit", spec, "--json"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(*exit_status, kExitOk);
  ASSERT_EQ(fake_.submitted.size(), 1u);
  EXPECT_EQ(fake_.submitted[0].request_id(), "ci-42");
  EXPECT_EQ(fake_.submitted[0].spec().fgsm().epsilon(), 0.1f);
  EXPECT_THAT(out_.text(), HasSubstr(R"("state": "QUEUED")"));

  fake_.final_job.set_state(v1::FAILED);
  fake_.watch_updates = {fake_.final_job};
  exit_status = Run({"job", "submit", spec, "--watch"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(*exit_status, kExitJobUnsuccessful);

  exit_status = Run({"job", "submit", Write("bad.json", R"({"spec": {"fgsm": {"epsilon": "x"}}})")});
  ASSERT_FALSE(exit_status.ok());
  EXPECT_THAT(exit_status.status().message(), HasSubstr("bad.json: not valid JSON of crucible.v1.SubmitJobRequest"));
}

TEST_F(CommandsTest, ModelListFollowsEveryPageWithAll) {
  for (const char* id : {"a", "b", "c"}) fake_.models[id].set_id(id);
  absl::StatusOr<int> exit_status = Run({"model", "list", "--page-size", "2", "--all", "--json"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  ASSERT_EQ(fake_.list_models_requests.size(), 2u);
  EXPECT_EQ(fake_.list_models_requests[0].page_size(), 2);
  EXPECT_EQ(fake_.list_models_requests[1].page_token(), "2");
  v1::ListModelsResponse printed;
  ASSERT_TRUE(ParseProtoJson(out_.text(), &printed).ok()) << out_.text();
  EXPECT_EQ(printed.models_size(), 3);
  EXPECT_EQ(printed.next_page_token(), "");
}

TEST_F(CommandsTest, ModelListShowsOnePageAndTheNextToken) {
  for (const char* id : {"a", "b", "c"}) fake_.models[id].set_id(id);
  absl::StatusOr<int> exit_status = Run({"model", "list", "--page-size", "2"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_THAT(out_.text(), HasSubstr("\na "));
  EXPECT_THAT(out_.text(), Not(HasSubstr("\nc ")));
  EXPECT_EQ(err_.text(), "more models: --page-token 2 (or --all)\n");

  for (const char* size : {"0", "1001", "ten", "-1"}) {
    exit_status = Run({"model", "list", "--page-size", size});
    ASSERT_FALSE(exit_status.ok()) << size;
    EXPECT_TRUE(IsUsageError(exit_status.status()));
  }
}

TEST_F(CommandsTest, ModelUploadGetAndDelete) {
  const std::string path = Write("net.onnx", "net-bytes");
  absl::StatusOr<int> exit_status = Run({"model", "upload", path, "--name", "my net"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  ASSERT_EQ(fake_.model_headers.size(), 1u);
  EXPECT_EQ(fake_.model_headers[0].name(), "my net");
  EXPECT_THAT(out_.text(), HasSubstr("name         my net\n"));

  exit_status = Run({"model", "upload", path, "--name", "again"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(fake_.model_headers.size(), 1u);
  EXPECT_THAT(err_.text(), HasSubstr("the server already has this model; --name is ignored\n"));

  const std::string id = Sha256Hex("net-bytes");
  exit_status = Run({"model", "get", id, "--json"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_THAT(out_.text(), HasSubstr("\"id\": \"" + id + "\""));

  exit_status = Run({"model", "delete", id});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_THAT(out_.text(), HasSubstr("deleted model " + id + "\n"));
  EXPECT_EQ(Run({"model", "delete", id}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CommandsTest, JobListSendsTheFilters) {
  absl::StatusOr<int> exit_status =
      Run({"job", "list", "--state", "running", "--engine", "pgd", "--model", "m1", "--page-token", "t"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  ASSERT_EQ(fake_.list_jobs_requests.size(), 1u);
  EXPECT_EQ(fake_.list_jobs_requests[0].state(), v1::RUNNING);
  EXPECT_EQ(fake_.list_jobs_requests[0].engine(), "pgd");
  EXPECT_EQ(fake_.list_jobs_requests[0].model_id(), "m1");
  EXPECT_EQ(fake_.list_jobs_requests[0].page_token(), "t");
  EXPECT_THAT(out_.text(), HasSubstr("job-1  evaluate  SUCCEEDED"));

  exit_status = Run({"job", "list", "--state", "DONE"});
  ASSERT_FALSE(exit_status.ok());
  EXPECT_TRUE(IsUsageError(exit_status.status()));
  EXPECT_THAT(exit_status.status().message(),
              HasSubstr("unknown job state 'DONE' (states: QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)"));
  exit_status = Run({"job", "list", "--engine", "deepfool"});
  EXPECT_TRUE(IsUsageError(exit_status.status()));
}

TEST_F(CommandsTest, JobReportAndCancel) {
  absl::StatusOr<int> exit_status = Run({"job", "report", "job-1"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(out_.text(), "accuracy  75.00% (0 of 0)\n");

  exit_status = Run({"job", "cancel", "job-9"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(*exit_status, kExitOk);
  EXPECT_THAT(out_.text(), HasSubstr("state     CANCELLED\n"));
}

TEST_F(CommandsTest, ArtifactDownload) {
  fake_.artifacts["images/fool_3.png"] = "PNG-bytes-0123456789";
  const std::string target = (dir_ / "out.png").string();
  absl::StatusOr<int> exit_status = Run({"artifact", "download", "job-1", "images/fool_3.png", "-o", target});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  std::ifstream file(target, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(file), {}), "PNG-bytes-0123456789");
  EXPECT_FALSE(std::filesystem::exists(target + ".part"));
  EXPECT_THAT(err_.text(), HasSubstr("saved images/fool_3.png (20 bytes) to " + target + "\n"));

  exit_status = Run({"artifact", "download", "job-1", "images/fool_3.png", "-o", "-"});
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(out_.text(), "PNG-bytes-0123456789");

  const std::string missing = (dir_ / "missing.png").string();
  exit_status = Run({"artifact", "download", "job-1", "nope.png", "-o", missing});
  EXPECT_EQ(exit_status.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(missing));
  EXPECT_FALSE(std::filesystem::exists(missing + ".part"));

  exit_status = Run({"artifact", "download", "job-1", "images/"});
  EXPECT_TRUE(IsUsageError(exit_status.status()));
}

TEST_F(CommandsTest, EveryVerbIsImplemented) {
  for (const CommandSpec& spec : CrucibleCommands()) {
    std::vector<std::string> args = spec.words;
    for (size_t i = 0; i < spec.operands.size(); ++i) args.push_back((dir_ / "missing").string());
    for (const OptionSpec& option : spec.options) {
      if (option.required) args.insert(args.end(), {option.name, (dir_ / "missing").string()});
    }
    absl::StatusOr<int> exit_status = Run(args);
    EXPECT_THAT(exit_status.status().message(), Not(HasSubstr("no implementation"))) << spec.Name();
  }
}

TEST(AuditorClientTest, AnUnreachableServerIsUnavailable) {
  AuditorClient client(AuditorClient::OpenChannel("127.0.0.1:1"));
  EXPECT_EQ(client.GetJob("j").status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace crucible
