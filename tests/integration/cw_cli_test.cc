// The cw engine end to end: `crucible run --engine cw` against a real server, the report
// read from --json, the adversarial examples downloaded with `crucible artifact download`
// and re-classified here by a forward pass of the same ONNX model; a bad config is
// rejected at submit naming its field.

#include "crucible/v1/jobs.pb.h"
#include "engines/core/batched_forward.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_job_fixture.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kExamples = 20;

using testing::CommandResult;

std::string Fixture(const std::string& relative) { return testing::FixturePath(relative); }

class CwCliTest : public testing::CliJobTest {
 protected:
  void SetUp() override {
    CliJobTest::SetUp();
    // The first kExamples bundled images (uint8) and labels.
    auto images = ReadNpyFile(Fixture("data/fmnist_test_1000_images.npy"));
    ASSERT_TRUE(images.ok());
    images_ = ToFloatTensor(*images).Slice(0, kExamples);
    NdArray head = *images;
    head.shape[0] = kExamples;
    head.bytes.resize(kExamples * 28 * 28);
    ASSERT_TRUE(WriteNpyFile(data_dir_ + "/inputs.npy", head).ok());
    labels_ = *ToLabels(*ReadNpyFile(Fixture("data/fmnist_test_1000_labels.npy")));
    labels_.resize(kExamples);
    ASSERT_TRUE(WriteNpyFile(data_dir_ + "/labels.npy", FromLabels(labels_)).ok());
  }

  CommandResult Run(const std::string& config_json, const std::string& stderr_redirect) {
    return Cli("run --engine cw --model " + Fixture("models/fmnist_lenet.onnx") + " --inputs " + data_dir_ +
                   "/inputs.npy --labels " + data_dir_ + "/labels.npy --config " + WriteConfig("cw", config_json) +
                   " --json",
               stderr_redirect);
  }

  Tensor images_;
  std::vector<int64_t> labels_;
};

TEST_F(CwCliTest, RunReportsAndTheDownloadedAdversarialsAreAdversarial) {
  const CommandResult run = Run(R"({"norm": "L2", "binary_search_steps": 5, "max_iterations": 100,
                                    "initial_const": 0.1, "preprocess": {"scale": 0.003921569}})",
                                "2>/dev/null");
  ASSERT_EQ(run.exit_code, 0) << run.out << server_->Log();
  const v1::Job job = ParseJob(run);
  EXPECT_EQ(job.state(), v1::SUCCEEDED);
  const v1::AttackReport& report = job.report().attack();
  ASSERT_EQ(report.examples_size(), kExamples);
  EXPECT_GT(report.clean_accuracy(), 0.7);
  EXPECT_GE(report.success_rate(), 0.9);
  EXPECT_GT(report.mean_l2(), 0.05);
  EXPECT_LT(report.mean_l2(), 3.0);
  EXPECT_GT(report.median_l2(), 0.0);
  EXPECT_GT(report.mean_linf(), 0.0);
  EXPECT_FALSE(report.per_class().empty());
  // The JSON keeps default-valued fields, so a CI gate can always read them.
  EXPECT_THAT(run.out, HasSubstr("\"robust_accuracy\""));
  EXPECT_THAT(run.out, HasSubstr("\"success_rate\""));
  std::vector<std::string> names;
  for (const v1::Artifact& artifact : job.artifacts()) names.push_back(artifact.name());
  EXPECT_THAT(names, ::testing::Contains("adversarial_examples.npy"));

  auto adversarial_array = ParseNpy(Download(job, "adversarial_examples.npy"));
  ASSERT_TRUE(adversarial_array.ok()) << adversarial_array.status();
  const Tensor adversarial = ToFloatTensor(*adversarial_array);
  ASSERT_EQ(adversarial.shape(), (Shape{kExamples, 1, 28, 28}));

  auto model = Model::FromOnnxFile(Fixture("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(model.ok());
  auto executor = Executor::Create(*model, {.batch_size = kExamples, .num_threads = 2});
  ASSERT_TRUE(executor.ok());
  const std::vector<int64_t> predicted = ArgMaxRows(*(*executor)->Forward(adversarial));
  Tensor clean = images_;
  for (float& v : clean.values()) v *= 0.003921569f;
  int64_t successes = 0;
  for (const v1::AttackExample& example : report.examples()) {
    const int64_t i = example.index();
    EXPECT_EQ(example.label(), labels_[i]);
    EXPECT_EQ(example.adversarial_prediction(), predicted[i]) << i;
    EXPECT_EQ(example.success(), example.clean_prediction() == labels_[i] && predicted[i] != labels_[i]) << i;
    successes += example.success();
    double l2 = 0;
    for (int64_t j = i * 784; j < (i + 1) * 784; ++j) {
      ASSERT_GE(adversarial.at(j), 0.0f);
      ASSERT_LE(adversarial.at(j), 1.0f);
      l2 += (double(adversarial.at(j)) - clean.at(j)) * (double(adversarial.at(j)) - clean.at(j));
    }
    EXPECT_NEAR(example.l2(), std::sqrt(l2), 1e-5) << i;
  }
  EXPECT_NEAR(report.success_rate(), double(successes) / std::round(report.clean_accuracy() * kExamples), 1e-9);
}

TEST_F(CwCliTest, BadConfigIsRejectedAtSubmitNamingTheField) {
  CommandResult run = Run(R"({"confidence": -1})", "2>&1");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(run.out, HasSubstr("cw.confidence"));
  run = Run(R"({"targeted": true, "target_class": 10})", "2>&1");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("cw.target_class"));
}

}  // namespace
}  // namespace crucible
