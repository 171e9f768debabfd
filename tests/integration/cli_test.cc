// The `crucible` command line against a real server: `run` end to end with
// its exit codes and --json output, dedup on re-run, and usage errors.
#include <fstream>
#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_job_fixture.h"

namespace crucible {
namespace {

using testing::CommandResult;
using testing::RunCli;
using ::testing::HasSubstr;

std::string Fixture(const std::string& relative) { return testing::FixturePath(relative); }

class CliTest : public testing::CliJobTest {
 protected:
  void SetUp() override {
    CliJobTest::SetUp();
    config_ = WriteConfig("evaluate", R"({"preprocess": {"std": [255]}})");
  }

  std::string RunEvaluate(const std::string& extra) {
    return " run --engine evaluate --model " + Fixture("models/fmnist_lenet.onnx") + " --inputs " +
           Fixture("data/fmnist_test_1000_images.npy") + " --labels " + Fixture("data/fmnist_test_1000_labels.npy") +
           " " + extra;
  }

  std::string config_;
};

TEST_F(CliTest, RunPrintsTheFinishedJobAndExitsZero) {
  const CommandResult json = RunCli(server_->address(), RunEvaluate("--config " + config_ + " --json"));
  ASSERT_EQ(json.exit_code, 0) << json.out;
  EXPECT_THAT(json.out, HasSubstr("\"state\": \"SUCCEEDED\""));
  EXPECT_THAT(json.out, HasSubstr("\"num_correct\": \"874\""));
  EXPECT_THAT(json.out, HasSubstr("\"accuracy\": 0.874"));

  const CommandResult human = RunCli(server_->address(), RunEvaluate("--config " + config_));
  ASSERT_EQ(human.exit_code, 0) << human.out;
  EXPECT_THAT(human.out, HasSubstr("87.40% (874 of 1000)"));
  // The second run found the model by its sha256 and did not upload it again.
  EXPECT_EQ(std::regex_search(server_->Log(), std::regex("event=model_upload[^\\n]*\\n[\\s\\S]*event=model_upload")),
            false);

  const CommandResult list = RunCli(server_->address(), "job list --state SUCCEEDED");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  EXPECT_THAT(list.out, HasSubstr("evaluate"));
}

TEST_F(CliTest, UsageAndServerErrorsExitTwoWithAClearMessage) {
  CommandResult r = RunCli(server_->address(), RunEvaluate("--config /nonexistent.json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("nonexistent.json"));

  std::ofstream(data_dir_ + "/bad.json") << "{\"preprocess\": {\"std\": [255]";
  r = RunCli(server_->address(), RunEvaluate("--config " + data_dir_ + "/bad.json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("error"));

  r = RunCli(server_->address(), RunEvaluate("").replace(0, 22, " run --engine nosuch"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("unknown engine 'nosuch'"));

  r = RunCli(server_->address(), "job get 0123456789abcdef");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("NOT_FOUND"));

  r = RunCli("127.0.0.1:1", "model list");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("UNAVAILABLE"));
}

TEST_F(CliTest, CancelledJobMakesWatchExitOne) {
  const CommandResult upload = RunCli(server_->address(), "model upload " + Fixture("models/fmnist_resnet.onnx") +
                                                              " --json");
  ASSERT_EQ(upload.exit_code, 0) << upload.out;
  std::smatch id;
  ASSERT_TRUE(std::regex_search(upload.out, id, std::regex("\"id\": \"([0-9a-f]{64})\"")));
  const CommandResult data = RunCli(server_->address(), "dataset upload --inputs " +
                                                            Fixture("data/fmnist_test_1000_images.npy") +
                                                            " --labels " + Fixture("data/fmnist_test_1000_labels.npy") +
                                                            " --json");
  ASSERT_EQ(data.exit_code, 0) << data.out;
  std::smatch dataset;
  ASSERT_TRUE(std::regex_search(data.out, dataset, std::regex("\"id\": \"([0-9a-f]{64})\"")));
  // The server runs two jobs at a time: the fifth submitted is still waiting when it is cancelled.
  const std::string spec = data_dir_ + "/spec.json";
  std::ofstream(spec) << "{\"spec\": {\"model_id\": \"" << id[1] << "\", \"dataset_id\": \"" << dataset[1]
                      << "\", \"evaluate\": {\"batch_size\": 1, \"preprocess\": {\"std\": [255]}}}}";
  std::string job_id;
  for (int i = 0; i < 5; ++i) {
    const CommandResult submitted = RunCli(server_->address(), "job submit " + spec + " --json");
    ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
    std::smatch job;
    ASSERT_TRUE(std::regex_search(submitted.out, job, std::regex("\"id\": \"([0-9a-f]{32})\"")));
    job_id = job[1];
  }
  const CommandResult cancelled = RunCli(server_->address(), "job cancel " + job_id);
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.out;
  const CommandResult watched = RunCli(server_->address(), "job watch " + job_id);
  EXPECT_EQ(watched.exit_code, 1) << watched.out;
  EXPECT_THAT(watched.out, HasSubstr("CANCELLED"));
}

}  // namespace
}  // namespace crucible
