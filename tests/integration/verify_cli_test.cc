// The verify engine end to end: `crucible run --engine verify --model M.onnx
// --property P.vnnlib` against a real server. VNN-COMP test and ACAS Xu
// instances give their known answers (ground_truth.csv), SAT counterexamples
// are re-checked here by an independent executor forward pass, the human
// report names the result, and a property that does not fit the model is
// rejected at submit naming the line.
#include <fstream>

#include "crucible/v1/jobs.pb.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_job_fixture.h"

namespace crucible {
namespace {

using testing::CommandResult;
using testing::RunCli;
using ::testing::HasSubstr;

std::string Fixture(const std::string& relative) { return testing::FixturePath(relative); }

class VerifyCliTest : public testing::CliJobTest {
 protected:
  void SetUp() override {
    CliJobTest::SetUp();
    config_ = WriteConfig("verify", R"({"timeout_seconds": 60, "threads": 2})");
  }

  CommandResult Run(const std::string& model, const std::string& property, const std::string& extra) {
    return RunCli(server_->address(), "run --engine verify --model " + Fixture(model) + " --property " +
                                          Fixture(property) + " --config " + config_ + " " + extra);
  }

  std::string config_;
};

TEST_F(VerifyCliTest, SatCounterexampleViolatesThePropertyInAnIndependentForwardPass) {
  const CommandResult run = Run("vnncomp/acasxu/ACASXU_run2a_2_1_batch_2000.onnx", "vnncomp/acasxu/vnnlib/prop_2.vnnlib",
                                "--json");
  ASSERT_EQ(run.exit_code, 0) << run.out << server_->Log();
  const v1::Job job = ParseJob(run);
  ASSERT_EQ(job.state(), v1::SUCCEEDED);
  const v1::VerificationReport& report = job.report().verification();
  ASSERT_EQ(report.result(), v1::SAT) << run.out;  // ground_truth.csv: sat
  ASSERT_EQ(report.counterexample().input_size(), 5);
  ASSERT_EQ(report.counterexample().output_size(), 5);
  // prop_2 is violated when Y_0 is the largest output; the input box is the property's.
  auto model = Model::FromOnnxFile(Fixture("vnncomp/acasxu/ACASXU_run2a_2_1_batch_2000.onnx"));
  ASSERT_TRUE(model.ok());
  auto executor = Executor::Create(*model, {.batch_size = 1, .num_threads = 1});
  ASSERT_TRUE(executor.ok());
  std::vector<float> x(report.counterexample().input().begin(), report.counterexample().input().end());
  auto y = (*executor)->Forward(Tensor(model->InputShape(1), x));
  ASSERT_TRUE(y.ok());
  for (int j = 1; j < 5; ++j) EXPECT_GE(y->at(0), y->at(j));
  EXPECT_GE(x[0], 0.6 - 1e-6);
  EXPECT_LE(x[0], 0.679857769 + 1e-6);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(report.counterexample().output(j), y->at(j), 1e-5);
}

TEST_F(VerifyCliTest, UnsatInstancesAreProvedAndPrintedForPeople) {
  CommandResult run = Run("vnncomp/acasxu/ACASXU_run2a_1_2_batch_2000.onnx", "vnncomp/acasxu/vnnlib/prop_1.vnnlib",
                          "--json");
  ASSERT_EQ(run.exit_code, 0) << run.out << server_->Log();
  EXPECT_EQ(ParseJob(run).report().verification().result(), v1::UNSAT) << run.out;  // ground truth: unsat

  run = Run("vnncomp/test/test_unsat.onnx", "vnncomp/test/test_prop.vnnlib", "");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("UNSAT"));
}

TEST_F(VerifyCliTest, PropertyThatDoesNotFitTheModelIsRejectedAtSubmit) {
  // test_tiny.vnnlib declares one input; the ACAS Xu networks take five.
  CommandResult run = Run("vnncomp/acasxu/ACASXU_run2a_1_1_batch_2000.onnx", "vnncomp/test/test_tiny.vnnlib", "");
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_THAT(run.out, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(run.out, HasSubstr("line 1"));
  EXPECT_THAT(run.out, HasSubstr("1 inputs"));

  const std::string broken = data_dir_ + "/broken.vnnlib";
  std::ofstream(broken) << "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= X_0 1)\n";
  run = RunCli(server_->address(), "run --engine verify --model " + Fixture("vnncomp/test/test_nano.onnx") +
                                       " --property " + broken);
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_THAT(run.out, HasSubstr("line 3"));

  run = RunCli(server_->address(), "run --engine verify --model " + Fixture("models/fmnist_lenet.onnx") +
                                       " --property " + Fixture("vnncomp/test/test_nano.vnnlib"));
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_THAT(run.out, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(run.out, HasSubstr("Pool"));
}

}  // namespace
}  // namespace crucible
