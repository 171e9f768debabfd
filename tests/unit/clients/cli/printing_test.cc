#include "clients/cli/printing.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

v1::Model MakeModel(const std::string& id, const std::string& name) {
  v1::Model model;
  model.set_id(id);
  model.set_name(name);
  model.set_size_bytes(2048);
  model.add_input_shape(1);
  model.add_input_shape(28);
  model.add_input_shape(28);
  model.set_num_classes(10);
  model.set_opset(13);
  *model.mutable_created_at() = At(1700000000);
  return model;
}

TEST(PrintingTest, Model) {
  EXPECT_EQ(FormatModel(MakeModel("abc123", "lenet.onnx")),
            "id           abc123\n"
            "name         lenet.onnx\n"
            "input shape  1x28x28\n"
            "classes      10\n"
            "opset        13\n"
            "size         2.0 KiB\n"
            "created      2023-11-14 22:13:20 UTC\n");
}

TEST(PrintingTest, ModelTable) {
  google::protobuf::RepeatedPtrField<v1::Model> models;
  *models.Add() = MakeModel("abc123", "lenet.onnx");
  *models.Add() = MakeModel("def4", "");
  EXPECT_EQ(FormatModelTable(models),
            "ID      NAME        INPUT    CLASSES  OPSET     SIZE  CREATED\n"
            "abc123  lenet.onnx  1x28x28       10     13  2.0 KiB  2023-11-14 22:13:20 UTC\n"
            "def4    -           1x28x28       10     13  2.0 KiB  2023-11-14 22:13:20 UTC\n");
  EXPECT_EQ(FormatModelTable({}), "no models\n");
}

TEST(PrintingTest, Dataset) {
  v1::Dataset dataset;
  dataset.set_id("d1");
  dataset.set_num_examples(1000);
  dataset.add_example_shape(1);
  dataset.add_example_shape(28);
  dataset.add_example_shape(28);
  dataset.set_dtype("uint8");
  dataset.set_size_bytes(784000);
  dataset.set_inputs_sha256("aa");
  const std::string text = FormatDataset(dataset);
  EXPECT_THAT(text, HasSubstr("examples       1000\n"));
  EXPECT_THAT(text, HasSubstr("example shape  1x28x28\n"));
  EXPECT_THAT(text, HasSubstr("labels         no\n"));
  EXPECT_THAT(text, HasSubstr("size           765.6 KiB\n"));
  EXPECT_THAT(text, Not(HasSubstr("labels sha256")));
}

TEST(PrintingTest, FinishedJobWithArtifactsAndReport) {
  v1::Job job;
  job.set_id("job-1");
  job.set_engine("evaluate");
  job.set_state(v1::SUCCEEDED);
  job.mutable_progress()->set_fraction(1);
  job.mutable_progress()->set_stage("done");
  job.mutable_spec()->set_model_id("m1");
  job.mutable_spec()->set_dataset_id("d1");
  *job.mutable_created_at() = At(1700000000);
  *job.mutable_started_at() = At(1700000001);
  *job.mutable_finished_at() = At(1700000013);
  v1::Artifact* artifact = job.add_artifacts();
  artifact->set_name("confusion.json");
  artifact->set_media_type("application/json");
  artifact->set_size_bytes(120);
  artifact->set_sha256("ff");
  job.mutable_report()->mutable_evaluation()->set_accuracy(0.5);
  EXPECT_EQ(FormatJob(job),
            "job       job-1\n"
            "engine    evaluate\n"
            "state     SUCCEEDED\n"
            "progress  100%  done\n"
            "model     m1\n"
            "dataset   d1\n"
            "created   2023-11-14 22:13:20 UTC\n"
            "started   2023-11-14 22:13:21 UTC\n"
            "finished  2023-11-14 22:13:33 UTC (ran 12.0 s)\n"
            "artifacts:\n"
            "  NAME            TYPE               SIZE  SHA256\n"
            "  confusion.json  application/json  120 B  ff\n"
            "report:\n"
            "  accuracy  50.00% (0 of 0)\n");
}

TEST(PrintingTest, FailedJobShowsTheError) {
  v1::Job job;
  job.set_id("job-2");
  job.set_state(v1::FAILED);
  job.set_error("FAILED_PRECONDITION: unsupported op LSTM at node 'lstm_1'");
  const std::string text = FormatJob(job);
  EXPECT_THAT(text, HasSubstr("state     FAILED\n"));
  EXPECT_THAT(text, HasSubstr("error     FAILED_PRECONDITION: unsupported op LSTM at node 'lstm_1'\n"));
  EXPECT_THAT(text, HasSubstr("finished  -\n"));
  EXPECT_THAT(text, Not(HasSubstr("report:")));
}

TEST(PrintingTest, JobTable) {
  google::protobuf::RepeatedPtrField<v1::Job> jobs;
  v1::Job& job = *jobs.Add();
  job.set_id("job-1");
  job.set_engine("pgd");
  job.set_state(v1::RUNNING);
  job.mutable_progress()->set_fraction(0.426);
  job.mutable_progress()->set_message("long message not in the table");
  job.mutable_spec()->set_model_id("0123456789abcdef0123");
  EXPECT_EQ(FormatJobTable(jobs),
            "ID     ENGINE  STATE    PROGRESS  MODEL         CREATED\n"
            "job-1  pgd     RUNNING  42%       0123456789ab  -\n");
  EXPECT_EQ(FormatJobTable({}), "no jobs\n");
}

}  // namespace
}  // namespace crucible
