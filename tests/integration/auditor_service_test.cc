// The audit service end to end: a real crucible-server process driven through
// a C++ gRPC client. Uploads, dedup, jobs and their lifecycle, the evaluate
// report against PyTorch's accuracy on the bundled data, pagination,
// idempotency, cancellation, bad input, and a kill -9 restart.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crucible/v1/service.grpc.pb.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"
#include "server/store/sha256.h"
#include "tests/integration/server_process.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;
using testing::ServerProcess;

absl::Time Time(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string Fixture(const std::string& relative) {
  std::ifstream in(std::string(CRUCIBLE_FIXTURES_DIR) + "/" + relative, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::unique_ptr<grpc::ClientContext> Context(int seconds = 30) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

struct UploadOptions {
  size_t chunk = 1 << 20;
  int64_t declared_size = -1;  // -1: the real size.
  std::string sha256 = "";     // "auto": the real one.
};

grpc::Status UploadModel(v1::AuditorService::Stub& stub, const std::string& name, const std::string& bytes,
                         v1::Model* model, UploadOptions options = {}) {
  auto context = Context(60);
  auto writer = stub.UploadModel(context.get(), model);
  v1::UploadModelRequest header;
  header.mutable_header()->set_name(name);
  header.mutable_header()->set_size_bytes(options.declared_size < 0 ? bytes.size() : options.declared_size);
  header.mutable_header()->set_sha256(options.sha256 == "auto" ? Sha256Hex(bytes) : options.sha256);
  writer->Write(header);
  for (size_t at = 0; at < bytes.size(); at += options.chunk) {
    v1::UploadModelRequest chunk;
    chunk.set_chunk(bytes.substr(at, options.chunk));
    if (!writer->Write(chunk)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

grpc::Status UploadDataset(v1::AuditorService::Stub& stub, const std::string& inputs, const std::string& labels,
                           v1::Dataset* dataset) {
  auto context = Context(60);
  auto writer = stub.UploadDataset(context.get(), dataset);
  v1::UploadDatasetRequest header;
  header.mutable_header()->set_name("fmnist");
  header.mutable_header()->set_inputs_size_bytes(inputs.size());
  header.mutable_header()->set_labels_size_bytes(labels.size());
  writer->Write(header);
  for (size_t at = 0; at < inputs.size(); at += 1 << 20) {
    v1::UploadDatasetRequest chunk;
    chunk.set_inputs_chunk(inputs.substr(at, 1 << 20));
    writer->Write(chunk);
  }
  v1::UploadDatasetRequest chunk;
  chunk.set_labels_chunk(labels);
  if (!labels.empty()) writer->Write(chunk);
  writer->WritesDone();
  return writer->Finish();
}

v1::SubmitJobRequest EvaluateRequest(const std::string& model_id, const std::string& dataset_id,
                                     int32_t batch_size = 0) {
  v1::SubmitJobRequest request;
  request.mutable_spec()->set_model_id(model_id);
  request.mutable_spec()->set_dataset_id(dataset_id);
  v1::EvaluateConfig* config = request.mutable_spec()->mutable_evaluate();
  config->mutable_preprocess()->add_std(255.0f);  // uint8 images -> [0, 1]
  config->set_batch_size(batch_size);
  return request;
}

// Follows WatchJob to the end; returns every update it saw.
std::vector<v1::Job> Watch(v1::AuditorService::Stub& stub, const std::string& id) {
  auto context = Context(120);
  v1::WatchJobRequest request;
  request.set_id(id);
  auto reader = stub.WatchJob(context.get(), request);
  std::vector<v1::Job> updates;
  v1::Job job;
  while (reader->Read(&job)) updates.push_back(job);
  EXPECT_TRUE(reader->Finish().ok());
  return updates;
}

// A labelled dataset of `copies` x the 1,000 bundled images.
std::pair<std::string, std::string> ReplicatedDataset(int copies) {
  NdArray images = *ParseNpy(Fixture("data/fmnist_test_1000_images.npy"));
  NdArray labels = *ParseNpy(Fixture("data/fmnist_test_1000_labels.npy"));
  NdArray big_images = images, big_labels = labels;
  big_images.shape[0] *= copies;
  big_labels.shape[0] *= copies;
  big_images.bytes.clear();
  big_labels.bytes.clear();
  for (int i = 0; i < copies; ++i) {
    big_images.bytes += images.bytes;
    big_labels.bytes += labels.bytes;
  }
  return {SerializeNpy(big_images), SerializeNpy(big_labels)};
}

// An MLP whose first layer alone is ~9.4 MB: uploads in many chunks.
std::string LargeMlp() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("large_mlp");
  auto value = [](onnx::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  value(g->add_input(), "x", {1, 1, 28, 28});
  value(g->add_output(), "y", {1, 10});
  auto weight = [&](const std::string& name, int64_t rows, int64_t cols) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(rows);
    t->add_dims(cols);
    std::vector<float> values(rows * cols);
    for (size_t i = 0; i < values.size(); ++i) values[i] = float((i * 2654435761u) % 1000) / 1e6f - 5e-4f;
    t->set_raw_data(values.data(), values.size() * sizeof(float));
  };
  weight("w1", 3000, 784);
  weight("w2", 10, 3000);
  auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    for (auto& i : in) n->add_input(i);
    n->add_output(out);
    if (op == "Gemm") {
      auto* a = n->add_attribute();
      a->set_name("transB");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(1);
    }
  };
  node("Flatten", {"x"}, "f");
  node("Gemm", {"f", "w1"}, "h");
  node("Relu", {"h"}, "r");
  node("Gemm", {"r", "w2"}, "y");
  return model.SerializeAsString();
}

class AuditorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = testing::NewTempDir();
    server_ = std::make_unique<ServerProcess>(data_dir_,
                                              std::vector<std::string>{"--workers=1", "--threads_per_job=1"});
    ASSERT_TRUE(server_->Start().ok()) << server_->Log();
    stub_ = v1::AuditorService::NewStub(server_->Channel());
  }

  v1::Model UploadLenet() {
    v1::Model model;
    EXPECT_TRUE(UploadModel(*stub_, "lenet", Fixture("models/fmnist_lenet.onnx"), &model).ok());
    return model;
  }
  v1::Dataset UploadFixtureData() {
    v1::Dataset dataset;
    const grpc::Status status = UploadDataset(*stub_, Fixture("data/fmnist_test_1000_images.npy"),
                                              Fixture("data/fmnist_test_1000_labels.npy"), &dataset);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return dataset;
  }
  v1::Job Submit(const v1::SubmitJobRequest& request) {
    v1::Job job;
    const grpc::Status status = stub_->SubmitJob(Context().get(), request, &job);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return job;
  }
  v1::Job Get(const std::string& id) {
    v1::GetJobRequest request;
    request.set_id(id);
    v1::Job job;
    EXPECT_TRUE(stub_->GetJob(Context().get(), request, &job).ok());
    return job;
  }

  std::string data_dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::AuditorService::Stub> stub_;
};

TEST_F(AuditorServiceTest, UploadsAreValidatedAndDeduplicated) {
  const v1::Model first = UploadLenet();
  EXPECT_EQ(first.id(), Sha256Hex(Fixture("models/fmnist_lenet.onnx")));
  EXPECT_THAT(first.input_shape(), ::testing::ElementsAre(1, 28, 28));
  EXPECT_EQ(first.num_classes(), 10);
  const v1::Model second = UploadLenet();
  EXPECT_EQ(second.id(), first.id());

  v1::Model large;
  const std::string big = LargeMlp();
  ASSERT_GT(big.size(), size_t{8} << 20);
  const grpc::Status status = UploadModel(*stub_, "large", big, &large, {.chunk = 1 << 20, .sha256 = "auto"});
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(large.size_bytes(), static_cast<int64_t>(big.size()));

  v1::ListModelsResponse list;
  ASSERT_TRUE(stub_->ListModels(Context().get(), v1::ListModelsRequest(), &list).ok());
  EXPECT_EQ(list.models_size(), 2);

  v1::GetModelRequest get;
  get.set_id(first.id());
  v1::Model fetched;
  ASSERT_TRUE(stub_->GetModel(Context().get(), get, &fetched).ok());
  EXPECT_EQ(fetched.name(), "lenet");
}

TEST_F(AuditorServiceTest, EvaluateJobReportsPyTorchsAccuracy) {
  const absl::Time before_upload = absl::Now();
  const v1::Model model = UploadLenet();
  const v1::Dataset dataset = UploadFixtureData();
  EXPECT_EQ(dataset.num_examples(), 1000);
  EXPECT_TRUE(dataset.has_labels());
  const v1::Job job = Submit(EvaluateRequest(model.id(), dataset.id(), 64));
  EXPECT_EQ(job.state(), v1::QUEUED);
  EXPECT_EQ(job.engine(), "evaluate");
  const std::vector<v1::Job> updates = Watch(*stub_, job.id());
  ASSERT_FALSE(updates.empty());
  const v1::Job& done = updates.back();
  ASSERT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  // Record times are the server's clock to sub-second resolution, in order.
  const std::vector<absl::Time> times = {before_upload,           Time(model.created_at()), Time(done.created_at()),
                                         Time(done.started_at()), Time(done.finished_at()), absl::Now()};
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end())) << absl::StrJoin(times, ", ", absl::StreamFormatter());
  const v1::EvaluationReport& report = done.report().evaluation();
  EXPECT_EQ(report.num_correct(), 874);  // tests/fixtures/golden/accuracy.json
  EXPECT_DOUBLE_EQ(report.accuracy(), 0.874);
  ASSERT_EQ(report.per_class_accuracy_size(), 10);
  ASSERT_EQ(report.confusion_matrix().rows_size(), 10);
  int64_t total = 0;
  for (const auto& row : report.confusion_matrix().rows()) {
    for (int64_t c : row.counts()) total += c;
  }
  EXPECT_EQ(total, 1000);
  v1::GetReportRequest get_report;
  get_report.set_job_id(job.id());
  v1::Report fetched;
  ASSERT_TRUE(stub_->GetReport(Context().get(), get_report, &fetched).ok());
  EXPECT_EQ(fetched.evaluation().num_correct(), 874);
  EXPECT_THAT(server_->Log(), HasSubstr("event=job_finished job=" + job.id()));

  // The predictions artifact, streamed back, agrees with the report.
  ASSERT_EQ(done.artifacts_size(), 1);
  EXPECT_EQ(done.artifacts(0).name(), "predictions.npy");
  v1::DownloadArtifactRequest download;
  download.set_job_id(job.id());
  download.set_name("predictions.npy");
  auto context = Context();
  auto reader = stub_->DownloadArtifact(context.get(), download);
  std::string bytes;
  v1::ArtifactChunk chunk;
  while (reader->Read(&chunk)) bytes += chunk.data();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(Sha256Hex(bytes), done.artifacts(0).sha256());
  auto predictions = ParseNpy(bytes);
  ASSERT_TRUE(predictions.ok()) << predictions.status();
  const std::vector<int64_t> predicted = *ToLabels(*predictions);
  const std::vector<int64_t> labels = *ToLabels(*ParseNpy(Fixture("data/fmnist_test_1000_labels.npy")));
  ASSERT_EQ(predicted.size(), labels.size());
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
  EXPECT_EQ(correct, 874);
  download.set_name("no-such-artifact");
  auto missing_context = Context();
  auto missing = stub_->DownloadArtifact(missing_context.get(), download);
  while (missing->Read(&chunk)) {
  }
  EXPECT_EQ(missing->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AuditorServiceTest, SubmitIsIdempotentAndListingPaginates) {
  const v1::Model model = UploadLenet();
  const v1::Dataset dataset = UploadFixtureData();
  v1::SubmitJobRequest request = EvaluateRequest(model.id(), dataset.id());
  request.set_request_id("retry-me");
  const v1::Job first = Submit(request);
  const v1::Job again = Submit(request);
  EXPECT_EQ(first.id(), again.id());
  std::set<std::string> submitted = {first.id()};
  for (int i = 0; i < 6; ++i) submitted.insert(Submit(EvaluateRequest(model.id(), dataset.id())).id());
  ASSERT_EQ(submitted.size(), 7u);

  std::set<std::string> listed;
  v1::ListJobsRequest list;
  list.set_page_size(3);
  int pages = 0;
  do {
    v1::ListJobsResponse page;
    ASSERT_TRUE(stub_->ListJobs(Context().get(), list, &page).ok());
    EXPECT_LE(page.jobs_size(), 3);
    for (const v1::Job& job : page.jobs()) listed.insert(job.id());
    list.set_page_token(page.next_page_token());
    ++pages;
  } while (!list.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listed, submitted);

  v1::ListJobsRequest by_engine;
  by_engine.set_engine("pgd");
  v1::ListJobsResponse none;
  ASSERT_TRUE(stub_->ListJobs(Context().get(), by_engine, &none).ok());
  EXPECT_EQ(none.jobs_size(), 0);
  for (const std::string& id : submitted) Watch(*stub_, id);
  v1::ListJobsRequest succeeded;
  succeeded.set_state(v1::SUCCEEDED);
  succeeded.set_model_id(model.id());
  v1::ListJobsResponse all_done;
  ASSERT_TRUE(stub_->ListJobs(Context().get(), succeeded, &all_done).ok());
  EXPECT_EQ(all_done.jobs_size(), 7);
}

TEST_F(AuditorServiceTest, CancelReachesQueuedAndRunningJobs) {
  const v1::Model model = UploadLenet();
  auto [images, labels] = ReplicatedDataset(60);  // 60,000 images at batch 1: many seconds of work.
  v1::Dataset dataset;
  ASSERT_TRUE(UploadDataset(*stub_, images, labels, &dataset).ok());
  const v1::Job running = Submit(EvaluateRequest(model.id(), dataset.id(), 1));
  const v1::Job queued = Submit(EvaluateRequest(model.id(), dataset.id(), 1));  // One worker: waits.
  for (int i = 0; i < 200 && Get(running.id()).state() != v1::RUNNING; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(Get(running.id()).state(), v1::RUNNING);

  v1::CancelJobRequest cancel;
  cancel.set_id(queued.id());
  v1::Job reply;
  ASSERT_TRUE(stub_->CancelJob(Context().get(), cancel, &reply).ok());
  EXPECT_EQ(reply.state(), v1::CANCELLED);

  cancel.set_id(running.id());
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(stub_->CancelJob(Context().get(), cancel, &reply).ok());
  const std::vector<v1::Job> updates = Watch(*stub_, running.id());
  EXPECT_EQ(updates.back().state(), v1::CANCELLED);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(1));

  const grpc::Status again = stub_->CancelJob(Context().get(), cancel, &reply);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(again.error_message(), HasSubstr("CANCELLED"));
}

TEST_F(AuditorServiceTest, BadInputGetsTheRightStatusAndTheServerKeepsServing) {
  const std::string lenet = Fixture("models/fmnist_lenet.onnx");
  v1::Model model;
  grpc::Status s = UploadModel(*stub_, "short", lenet, &model, {.declared_size = int64_t(lenet.size()) + 10});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("truncated"));
  s = UploadModel(*stub_, "long", lenet, &model, {.declared_size = 100});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = UploadModel(*stub_, "huge", lenet, &model, {.declared_size = int64_t{3} << 30});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  s = UploadModel(*stub_, "sha", lenet, &model, {.sha256 = std::string(64, 'a')});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("sha256 mismatch"));
  s = UploadModel(*stub_, "corrupt", lenet.substr(0, lenet.size() / 2), &model);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("ONNX"));

  onnx::ModelProto unsupported;
  ASSERT_TRUE(unsupported.ParseFromString(lenet));
  unsupported.mutable_graph()->mutable_node(1)->set_op_type("Erf");
  s = UploadModel(*stub_, "erf", unsupported.SerializeAsString(), &model);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("Erf"));

  v1::GetJobRequest get;
  get.set_id("no-such-job");
  v1::Job job;
  EXPECT_EQ(stub_->GetJob(Context().get(), get, &job).error_code(), grpc::StatusCode::NOT_FOUND);

  const v1::Model lenet_model = UploadLenet();
  const v1::Dataset dataset = UploadFixtureData();
  v1::SubmitJobRequest no_engine;
  no_engine.mutable_spec()->set_model_id(lenet_model.id());
  EXPECT_EQ(stub_->SubmitJob(Context().get(), no_engine, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::SubmitJobRequest unknown_model = EvaluateRequest(std::string(64, 'b'), dataset.id());
  EXPECT_EQ(stub_->SubmitJob(Context().get(), unknown_model, &job).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::Model acas;
  ASSERT_TRUE(UploadModel(*stub_, "acas", Fixture("vnncomp/acasxu/ACASXU_run2a_1_1_batch_2000.onnx"), &acas).ok());
  const grpc::Status mismatch = stub_->SubmitJob(Context().get(), EvaluateRequest(acas.id(), dataset.id()), &job);
  EXPECT_EQ(mismatch.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(mismatch.error_message(), HasSubstr("[1000,1,28,28]"));
  EXPECT_THAT(mismatch.error_message(), HasSubstr("[1,1,5]"));

  v1::SubmitJobRequest bad_config = EvaluateRequest(lenet_model.id(), dataset.id());
  bad_config.mutable_spec()->mutable_evaluate()->mutable_preprocess()->add_std(0.0f);
  const grpc::Status bad = stub_->SubmitJob(Context().get(), bad_config, &job);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("preprocess.std"));

  // A report before the job ends: one worker is busy with a long job, so the
  // second stays queued.
  auto [images, labels] = ReplicatedDataset(20);
  v1::Dataset big;
  ASSERT_TRUE(UploadDataset(*stub_, images, labels, &big).ok());
  const v1::Job busy = Submit(EvaluateRequest(lenet_model.id(), big.id(), 1));
  const v1::Job queued = Submit(EvaluateRequest(lenet_model.id(), dataset.id()));
  v1::GetReportRequest report_request;
  report_request.set_job_id(queued.id());
  v1::Report report;
  const grpc::Status early = stub_->GetReport(Context().get(), report_request, &report);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(early.error_message(), HasSubstr("QUEUED"));
  v1::CancelJobRequest cancel;
  cancel.set_id(busy.id());
  ASSERT_TRUE(stub_->CancelJob(Context().get(), cancel, &job).ok());

  // Still serving.
  v1::GetModelRequest ok;
  ok.set_id(lenet_model.id());
  EXPECT_TRUE(stub_->GetModel(Context().get(), ok, &model).ok());
  EXPECT_EQ(Watch(*stub_, queued.id()).back().state(), v1::SUCCEEDED);
}

TEST_F(AuditorServiceTest, DeletingAModelInUseIsRefused) {
  const v1::Model model = UploadLenet();
  auto [images, labels] = ReplicatedDataset(20);
  v1::Dataset dataset;
  ASSERT_TRUE(UploadDataset(*stub_, images, labels, &dataset).ok());
  const v1::Job job = Submit(EvaluateRequest(model.id(), dataset.id(), 1));
  v1::DeleteModelRequest del;
  del.set_id(model.id());
  v1::DeleteModelResponse deleted;
  const grpc::Status refused = stub_->DeleteModel(Context().get(), del, &deleted);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr(job.id()));
  v1::CancelJobRequest cancel;
  cancel.set_id(job.id());
  v1::Job reply;
  ASSERT_TRUE(stub_->CancelJob(Context().get(), cancel, &reply).ok());
  Watch(*stub_, job.id());
  EXPECT_TRUE(stub_->DeleteModel(Context().get(), del, &deleted).ok());
  v1::GetModelRequest get;
  get.set_id(model.id());
  v1::Model gone;
  EXPECT_EQ(stub_->GetModel(Context().get(), get, &gone).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AuditorServiceTest, KillNineWhileJobsRunLosesNothing) {
  const v1::Model model = UploadLenet();
  auto [images, labels] = ReplicatedDataset(30);
  v1::Dataset dataset;
  ASSERT_TRUE(UploadDataset(*stub_, images, labels, &dataset).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Submit(EvaluateRequest(model.id(), dataset.id(), 1)).id());
  for (int i = 0; i < 200 && Get(ids[0]).state() != v1::RUNNING; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(Get(ids[0]).state(), v1::RUNNING);
  server_->Kill();

  ASSERT_TRUE(server_->Start().ok()) << server_->Log();
  stub_ = v1::AuditorService::NewStub(server_->Channel());
  EXPECT_THAT(server_->Log(), HasSubstr("event=jobs_requeued"));
  for (const std::string& id : ids) {
    const std::vector<v1::Job> updates = Watch(*stub_, id);
    ASSERT_FALSE(updates.empty());
    EXPECT_EQ(updates.back().state(), v1::SUCCEEDED) << id;
    EXPECT_EQ(updates.back().report().evaluation().num_correct(), 30 * 874);
  }
}

TEST_F(AuditorServiceTest, SigtermShutsDownCleanlyAndRequeuesRunningJobs) {
  const v1::Model model = UploadLenet();
  auto [images, labels] = ReplicatedDataset(30);
  v1::Dataset dataset;
  ASSERT_TRUE(UploadDataset(*stub_, images, labels, &dataset).ok());
  const v1::Job job = Submit(EvaluateRequest(model.id(), dataset.id(), 1));
  for (int i = 0; i < 200 && Get(job.id()).state() != v1::RUNNING; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(server_->Terminate(), 0);
  EXPECT_THAT(server_->Log(), HasSubstr("event=server_stopped"));
  ASSERT_TRUE(server_->Start().ok()) << server_->Log();
  stub_ = v1::AuditorService::NewStub(server_->Channel());
  EXPECT_EQ(Watch(*stub_, job.id()).back().state(), v1::SUCCEEDED);
}

}  // namespace
}  // namespace crucible
