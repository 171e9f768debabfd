// The dlv engine end to end: `crucible run --engine dlv` against a real
// server on the fixture MLP. A small box is reported SAFE with the statement
// of what was proved and per-layer Z3 statistics; a large box yields
// adversarial examples that an independent forward pass here (Executor on the
// reported pixels) confirms are inside the box and misclassified. Bad configs
// and an unsupported model (the LeNet's MaxPool) fail at submit.
#include <algorithm>
#include <cmath>

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

using testing::CommandResult;
using ::testing::HasSubstr;

std::string Fixture(const std::string& relative) { return testing::FixturePath(relative); }

class DlvCliTest : public testing::CliJobTest {
 protected:
  // Error messages are on stderr: kept in `out`.
  CommandResult Run(const std::string& model, const std::string& config_json) {
    const std::string config = WriteConfig("dlv" + std::to_string(configs_++), config_json);
    return Cli("run --engine dlv --model " + Fixture("models/" + model) + " --inputs " + Fixture("attacks/inputs.npy") +
                   " --config " + config + " --json",
               "2>&1");
  }

  int configs_ = 0;
};

TEST_F(DlvCliTest, SmallBoxIsProvedSafeWithLayerStatistics) {
  const CommandResult run = Run("fmnist_mlp.onnx", R"({"epsilon": 0.002, "input_index": 1, "timeout_seconds": 120})");
  ASSERT_EQ(run.exit_code, 0) << run.out << server_->Log();
  const v1::Job job = ParseJob(run);
  ASSERT_EQ(job.state(), v1::SUCCEEDED);
  const v1::DlvReport& report = job.report().dlv();
  EXPECT_EQ(report.result(), v1::UNSAT);
  EXPECT_EQ(report.adversarial_examples_size(), 0);
  ASSERT_EQ(report.analyses_size(), 1);
  EXPECT_THAT(report.analyses(0).proved(), HasSubstr("SAFE"));
  EXPECT_THAT(report.analyses(0).proved(), HasSubstr("radius 0.002"));
  ASSERT_EQ(report.layers_size(), 3);  // input and the MLP's two hidden ReLU layers
  EXPECT_EQ(report.layers(0).layer(), "input");
  EXPECT_GT(report.layers(0).manipulations(), 0);
  EXPECT_TRUE(report.layers(1).covered());
  EXPECT_GE(report.layers(1).z3_calls(), 1);
  EXPECT_GT(report.layers(1).z3_seconds(), 0.0);
}

TEST_F(DlvCliTest, LargeBoxAdversarialExamplesHoldUpToAnIndependentForwardPass) {
  const CommandResult run = Run("fmnist_mlp.onnx",
                                R"({"epsilon": 0.1, "input_index": -1, "max_features": 16, "feature_size": 49,
                                    "steps": 2, "max_manipulations": 5000, "max_examples": 2,
                                    "input_layer_only": true})");
  ASSERT_EQ(run.exit_code, 0) << run.out << server_->Log();
  const v1::Job job = ParseJob(run);
  const v1::DlvReport& report = job.report().dlv();
  ASSERT_EQ(report.result(), v1::SAT) << run.out;
  ASSERT_EQ(report.analyses_size(), 16);
  ASSERT_GE(report.adversarial_examples_size(), 1);

  auto model = Model::FromOnnxFile(Fixture("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto executor = Executor::Create(*model, {.batch_size = 1, .num_threads = 1});
  ASSERT_TRUE(executor.ok()) << executor.status();
  auto inputs = ReadNpyFile(Fixture("attacks/inputs.npy"));
  ASSERT_TRUE(inputs.ok());
  // The examples are in the analyses' order, adversarial_examples of them per input.
  int next = 0;
  for (const v1::DlvAnalysis& analysis : report.analyses()) {
    const Tensor x = ToFloatTensor(*inputs).Slice(analysis.input_index(), analysis.input_index() + 1);
    auto clean = (*executor)->Forward(x);
    ASSERT_TRUE(clean.ok());
    EXPECT_EQ(analysis.label(), ArgMaxRows(*clean)[0]);
    EXPECT_EQ(analysis.result() == v1::SAT, analysis.adversarial_examples() > 0);
    for (int64_t e = 0; e < analysis.adversarial_examples(); ++e, ++next) {
      ASSERT_LT(next, report.adversarial_examples_size());
      const v1::Counterexample& example = report.adversarial_examples(next);
      ASSERT_EQ(example.input_size(), 784);
      std::vector<float> pixels(example.input().begin(), example.input().end());
      for (int p = 0; p < 784; ++p) {
        EXPECT_LE(std::fabs(pixels[p] - x.at(p)), 0.1f + 1e-6f) << p;
        EXPECT_GE(pixels[p], 0.0f);
        EXPECT_LE(pixels[p], 1.0f);
      }
      auto logits = (*executor)->Forward(Tensor({1, 1, 28, 28}, pixels));
      ASSERT_TRUE(logits.ok());
      EXPECT_NE(ArgMaxRows(*logits)[0], analysis.label()) << "input " << analysis.input_index();
    }
  }
  EXPECT_EQ(next, report.adversarial_examples_size());
}

TEST_F(DlvCliTest, BadConfigsAndUnsupportedModelsFailAtSubmit) {
  CommandResult run = Run("fmnist_mlp.onnx", R"({"epsilon": 0})");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("dlv.epsilon"));
  run = Run("fmnist_mlp.onnx", R"({"epsilon": 0.01, "input_index": 99})");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("dlv.input_index"));
  run = Run("fmnist_lenet.onnx", R"({"epsilon": 0.01})");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("MaxPool"));
}

}  // namespace
}  // namespace crucible
