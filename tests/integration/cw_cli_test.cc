// The cw engine end to end: `crucible run --engine cw` against a real server, the report
// read from --json, the adversarial examples downloaded with `crucible artifact download`
// and re-classified here by a forward pass of the same ONNX model; a bad config is
// rejected at submit naming its field.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>

#include "crucible/v1/jobs.pb.h"
#include "engines/core/batched_forward.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/server_process.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kExamples = 20;

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout only.
  std::string err;
};

CommandResult RunCli(const std::string& server, const std::string& args, const std::string& err_path) {
  const std::string command =
      std::string(CRUCIBLE_CLI_BINARY) + " --server " + server + " " + args + " 2>" + err_path;
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  result.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  return result;
}

std::string Fixture(const std::string& relative) { return std::string(CRUCIBLE_FIXTURES_DIR) + "/" + relative; }

class CwCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::NewTempDir();
    server_ = std::make_unique<testing::ServerProcess>(dir_);
    ASSERT_TRUE(server_->Start().ok()) << server_->Log();
    // The first kExamples bundled images (uint8) and labels.
    auto images = ReadNpyFile(Fixture("data/fmnist_test_1000_images.npy"));
    ASSERT_TRUE(images.ok());
    images_ = ToFloatTensor(*images).Slice(0, kExamples);
    NdArray head = *images;
    head.shape[0] = kExamples;
    head.bytes.resize(kExamples * 28 * 28);
    ASSERT_TRUE(WriteNpyFile(dir_ + "/inputs.npy", head).ok());
    labels_ = *ToLabels(*ReadNpyFile(Fixture("data/fmnist_test_1000_labels.npy")));
    labels_.resize(kExamples);
    ASSERT_TRUE(WriteNpyFile(dir_ + "/labels.npy", FromLabels(labels_)).ok());
  }

  std::string Run(const std::string& config_json) {
    std::ofstream(dir_ + "/cw.json") << config_json;
    return "run --engine cw --model " + Fixture("models/fmnist_lenet.onnx") + " --inputs " + dir_ +
           "/inputs.npy --labels " + dir_ + "/labels.npy --config " + dir_ + "/cw.json --json";
  }

  std::string dir_;
  Tensor images_;
  std::vector<int64_t> labels_;
  std::unique_ptr<testing::ServerProcess> server_;
};

TEST_F(CwCliTest, RunReportsAndTheDownloadedAdversarialsAreAdversarial) {
  const CommandResult run = RunCli(server_->address(),
                                   Run(R"({"norm": "L2", "binary_search_steps": 5, "max_iterations": 100,
                                           "initial_const": 0.1, "preprocess": {"scale": 0.003921569}})"),
                                   dir_ + "/run.err");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  v1::Job job;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &job).ok()) << run.out;
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

  const std::string saved = dir_ + "/adversarial.npy";
  const CommandResult download = RunCli(
      server_->address(), "artifact download " + job.id() + " adversarial_examples.npy -o " + saved, dir_ + "/dl.err");
  ASSERT_EQ(download.exit_code, 0) << download.out << download.err;
  auto adversarial_array = ReadNpyFile(saved);
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
  CommandResult run = RunCli(server_->address(), Run(R"({"confidence": -1})"), dir_ + "/bad.err");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(run.err, HasSubstr("cw.confidence"));
  run = RunCli(server_->address(), Run(R"({"targeted": true, "target_class": 10})"), dir_ + "/bad.err");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.err, HasSubstr("cw.target_class"));
}

}  // namespace
}  // namespace crucible
