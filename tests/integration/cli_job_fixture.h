// CliJobTest: the fixture of the end-to-end engine tests — a real
// crucible-server on a fresh data directory, driven by the `crucible` CLI.
// Runs jobs and parses their --json output, writes config files, downloads
// artifacts.
//
//   class MyEngineCliTest : public testing::CliJobTest {};
//   TEST_F(MyEngineCliTest, Works) {
//     const v1::Job job = RunJob("--engine fgsm --model " + FixturePath("models/fmnist_mlp.onnx") + ...);
//     const std::string npy = Download(job, "adversarial_examples.npy");
//   }
#ifndef CRUCIBLE_TESTS_INTEGRATION_CLI_JOB_FIXTURE_H_
#define CRUCIBLE_TESTS_INTEGRATION_CLI_JOB_FIXTURE_H_

#include <memory>
#include <string>

#include "crucible/v1/jobs.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/server_process.h"

namespace crucible::testing {

class CliJobTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // `crucible ARGS` against the server; by default stdout only (progress on stderr
  // is dropped), "2>&1" to see error messages too.
  CommandResult Cli(const std::string& args, const std::string& stderr_redirect = "2>/dev/null") const;
  // `crucible run ARGS --json`, expecting exit code 0 and a SUCCEEDED job.
  v1::Job RunJob(const std::string& args) const;
  // The Job a `crucible ... --json` run printed (after any progress lines).
  static v1::Job ParseJob(const CommandResult& run);
  // Writes `json` to NAME.json in the data directory; returns its path.
  std::string WriteConfig(const std::string& name, const std::string& json) const;
  // `crucible artifact download`: the artifact's bytes.
  std::string Download(const v1::Job& job, const std::string& name) const;

  std::string data_dir_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace crucible::testing

#endif  // CRUCIBLE_TESTS_INTEGRATION_CLI_JOB_FIXTURE_H_
