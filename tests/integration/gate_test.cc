// `crucible gate` against a real server with the fixture LeNet and 1000
// Fashion-MNIST test images: exit 0 for a policy the model passes, 1 for one it
// fails, 2 for a malformed policy, a check whose job cannot run, and an
// unreachable server. The JUnit XML is read back with Python's XML parser
// (xml.etree), and the measured accuracy is the PyTorch one
// (tests/fixtures/golden/accuracy.json: 874 of 1000).
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/server_process.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using testing::CommandResult;
using testing::ReadFile;

// `command` with stderr merged into stdout.
CommandResult RunShell(const std::string& command) { return testing::RunShell(command + " 2>&1"); }

std::string Fixture(const std::string& relative) { return testing::FixturePath(relative); }

// Parses a JUnit file with Python's xml.etree and prints the suite's counts
// ("suite TESTS FAILURES ERRORS"), then one line per test case: "case NAME
// PASS|FAIL|ERROR MESSAGE".
constexpr char kJUnitReader[] = R"PY(
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root.find("testsuite")
print("suite", suite.get("tests"), suite.get("failures"), suite.get("errors"))
for case in suite.iter("testcase"):
    failure, error = case.find("failure"), case.find("error")
    problem = failure if failure is not None else error
    print("case", case.get("name"), "FAIL" if failure is not None else "ERROR" if error is not None else "PASS",
          problem.get("message") if problem is not None else "")
)PY";

class GateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::NewTempDir();
    server_ = std::make_unique<testing::ServerProcess>(dir_);
    ASSERT_TRUE(server_->Start().ok()) << server_->Log();
    std::ofstream(dir_ + "/junit_reader.py") << kJUnitReader;
  }

  std::string WritePolicy(const std::string& name, const std::string& json) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << json;
    return path;
  }

  CommandResult Gate(const std::string& server, const std::string& policy, const std::string& extra = "") {
    return RunShell(std::string(CRUCIBLE_CLI_BINARY) + " --server " + server + " gate --policy " + policy +
               " --model " + Fixture("models/fmnist_lenet.onnx") + " --inputs " +
               Fixture("data/fmnist_test_1000_images.npy") + " --labels " +
               Fixture("data/fmnist_test_1000_labels.npy") + " " + extra);
  }

  CommandResult ParseJUnit(const std::string& path) {
    return RunShell("/usr/bin/python3 " + dir_ + "/junit_reader.py " + path);
  }

  std::string dir_;
  std::unique_ptr<testing::ServerProcess> server_;
};

// The fixture images are uint8; the model takes [0, 1].
constexpr char kEvaluate[] =
    R"({"name": "clean accuracy", "engine": "evaluate", "config": {"preprocess": {"scale": 0.003921569}},
        "metric": "accuracy", "min": 0.8})";

TEST_F(GateTest, PassingPolicyExitsZeroAndWritesEveryReport) {
  const std::string policy = WritePolicy("pass.json", absl::StrCat(R"({"checks": [)", kEvaluate, R"(,
      {"name": "evaluated all", "engine": "evaluate", "config": {"preprocess": {"scale": 0.003921569}},
       "metric": "num_examples", "min": 1000, "max": 1000}]})"));
  const std::string junit = dir_ + "/pass.xml", json = dir_ + "/pass.json.out", md = dir_ + "/pass.md";
  const CommandResult gate =
      Gate(server_->address(), policy, "--junit " + junit + " --json " + json + " --markdown " + md);
  ASSERT_EQ(gate.exit_code, 0) << gate.out;
  EXPECT_THAT(gate.out, HasSubstr("clean accuracy  evaluate  accuracy      0.874  >= 0.8"));
  EXPECT_THAT(gate.out, HasSubstr("passed 2, failed 0, errors 0"));

  const CommandResult parsed = ParseJUnit(junit);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out;
  EXPECT_EQ(parsed.out, "suite 2 0 0\ncase clean accuracy PASS \ncase evaluated all PASS \n");

  const std::string summary = ReadFile(json);
  EXPECT_THAT(summary, HasSubstr("\"value\": 0.874"));
  EXPECT_THAT(summary, HasSubstr("\"exit_code\": 0"));
  EXPECT_THAT(summary, HasSubstr("\"outcome\": \"GATE_PASSED\""));
  EXPECT_THAT(ReadFile(md), HasSubstr("### Crucible gate passed: 2 passed, 0 failed, 0 errors"));
}

TEST_F(GateTest, FailingCheckExitsOneAndJUnitNamesIt) {
  const std::string policy = WritePolicy("fail.json", absl::StrCat(R"({"checks": [)", kEvaluate, R"(,
      {"name": "fgsm <0.1> robust", "engine": "fgsm",
       "config": {"epsilon": 0.1, "preprocess": {"scale": 0.003921569}},
       "metric": "robust_accuracy", "min": 0.99}]})"));
  const std::string junit = dir_ + "/fail.xml";
  const CommandResult gate = Gate(server_->address(), policy, "--junit " + junit);
  ASSERT_EQ(gate.exit_code, 1) << gate.out;
  EXPECT_THAT(gate.out, HasSubstr("FAIL"));
  EXPECT_THAT(gate.out, HasSubstr("passed 1, failed 1, errors 0"));

  const CommandResult parsed = ParseJUnit(junit);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out;
  EXPECT_THAT(parsed.out, HasSubstr("suite 2 1 0\n"));
  EXPECT_THAT(parsed.out, HasSubstr("case clean accuracy PASS \n"));
  EXPECT_THAT(parsed.out, HasSubstr("case fgsm <0.1> robust FAIL robust_accuracy = 0."));
  EXPECT_THAT(parsed.out, HasSubstr(", required >= 0.99\n"));
}

TEST_F(GateTest, MalformedPolicyExitsTwoBeforeAnyJob) {
  struct Case {
    std::string json;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {R"({"checks": [)", "not valid JSON"},
      {R"({"checks": [{"name": "x", "engine": "evaluate", "metric": "acuracy", "min": 0.8}]})",
       "check 'x': unknown metric 'acuracy' for engine evaluate"},
      {R"({"checks": [{"name": "x", "engine": "fgsn", "metric": "robust_accuracy", "min": 0.8}]})",
       "check 'x': unknown engine 'fgsn'"},
      {R"({"checks": [{"name": "x", "engine": "fgsm", "config": {"eps": 1}, "metric": "robust_accuracy",
           "min": 0.8}]})",
       "check 'x'"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string junit = absl::StrCat(dir_, "/bad", i, ".xml");
    const CommandResult gate =
        Gate(server_->address(), WritePolicy(absl::StrCat("bad", i, ".json"), cases[i].json), "--junit " + junit);
    EXPECT_EQ(gate.exit_code, 2) << gate.out;
    EXPECT_THAT(gate.out, HasSubstr(cases[i].expected));
    EXPECT_FALSE(std::ifstream(junit).good()) << "no report for a policy that never ran";
  }
  const CommandResult jobs =
      RunShell(std::string(CRUCIBLE_CLI_BINARY) + " --server " + server_->address() + " job list");
  EXPECT_THAT(jobs.out, HasSubstr("no jobs"));
}

TEST_F(GateTest, CheckThatCannotRunExitsTwoWithAnErrorTestCase) {
  const std::string policy = WritePolicy("error.json", absl::StrCat(R"({"checks": [)", kEvaluate, R"(,
      {"name": "wrong channels", "engine": "evaluate", "config": {"preprocess": {"mean": [0, 0, 0]}},
       "metric": "accuracy", "min": 0.8}]})"));
  const std::string junit = dir_ + "/error.xml";
  const CommandResult gate = Gate(server_->address(), policy, "--junit " + junit);
  ASSERT_EQ(gate.exit_code, 2) << gate.out;
  EXPECT_THAT(gate.out, HasSubstr("error in 'wrong channels'"));
  const CommandResult parsed = ParseJUnit(junit);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out;
  EXPECT_THAT(parsed.out, HasSubstr("suite 2 0 1\n"));
  EXPECT_THAT(parsed.out, HasSubstr("case wrong channels ERROR "));
  EXPECT_THAT(parsed.out, HasSubstr("preprocess.mean"));
}

TEST_F(GateTest, CancelledJobExitsTwoWithAnErrorTestCase) {
  const std::string policy = WritePolicy("slow.json", R"({"checks": [{"name": "slow pgd", "engine": "pgd",
      "config": {"epsilon": 0.1, "steps": 100000, "step_size": 0.001, "preprocess": {"scale": 0.003921569}},
      "metric": "robust_accuracy", "min": 0.5}]})");
  const std::string junit = dir_ + "/slow.xml", rc = dir_ + "/slow.rc";
  const std::string cli = std::string(CRUCIBLE_CLI_BINARY) + " --server " + server_->address();
  const std::string gate = cli + " gate --policy " + policy + " --model " + Fixture("models/fmnist_lenet.onnx") +
                           " --inputs " + Fixture("data/fmnist_test_1000_images.npy") + " --labels " +
                           Fixture("data/fmnist_test_1000_labels.npy") + " --junit " + junit;
  // In the background, its output away from RunShell's pipe (which would otherwise stay open).
  RunShell("(" + gate + " > " + dir_ + "/slow.out 2>&1; echo $? > " + rc + ") > /dev/null 2>&1 &");

  std::smatch running;
  std::string listing;
  for (int i = 0; i < 200 && !std::regex_search(listing, running, std::regex("([0-9a-f]{32})")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    listing = RunShell(cli + " job list --state RUNNING").out;
  }
  ASSERT_TRUE(running.size() > 1) << listing;
  const CommandResult cancel = RunShell(cli + " job cancel " + running[1].str());
  ASSERT_EQ(cancel.exit_code, 0) << cancel.out;

  for (int i = 0; i < 300 && ReadFile(rc).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ReadFile(rc), "2\n") << ReadFile(dir_ + "/slow.out");
  EXPECT_THAT(ReadFile(dir_ + "/slow.out"), HasSubstr("CANCELLED"));
  const CommandResult parsed = ParseJUnit(junit);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out;
  EXPECT_THAT(parsed.out, HasSubstr("case slow pgd ERROR job " + running[1].str() + " CANCELLED"));
}

TEST_F(GateTest, UnreachableServerExitsTwo) {
  const std::string policy = WritePolicy("pass.json", absl::StrCat(R"({"checks": [)", kEvaluate, "]}"));
  const CommandResult gate = Gate("127.0.0.1:1", policy);
  EXPECT_EQ(gate.exit_code, 2) << gate.out;
  EXPECT_THAT(gate.out, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(gate.out, Not(HasSubstr("PASS")));
}

}  // namespace
}  // namespace crucible
