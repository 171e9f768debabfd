#include "tests/integration/cli_job_fixture.h"

#include <fstream>

#include "google/protobuf/util/json_util.h"

namespace crucible::testing {

void CliJobTest::SetUp() {
  data_dir_ = NewTempDir();
  server_ = std::make_unique<ServerProcess>(data_dir_);
  ASSERT_TRUE(server_->Start().ok()) << server_->Log();
}

CommandResult CliJobTest::Cli(const std::string& args, const std::string& stderr_redirect) const {
  return RunCli(server_->address(), args, stderr_redirect);
}

v1::Job CliJobTest::RunJob(const std::string& args) const {
  const CommandResult run = Cli("run " + args + " --json");
  EXPECT_EQ(run.exit_code, 0) << run.out << server_->Log();
  const v1::Job job = ParseJob(run);
  EXPECT_EQ(job.state(), v1::SUCCEEDED) << run.out;
  return job;
}

v1::Job CliJobTest::ParseJob(const CommandResult& run) {
  v1::Job job;
  const size_t start = run.out.find("{\n");
  EXPECT_NE(start, std::string::npos) << run.out;
  if (start == std::string::npos) return job;
  const auto parsed = google::protobuf::util::JsonStringToMessage(run.out.substr(start), &job);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << run.out;
  return job;
}

std::string CliJobTest::WriteConfig(const std::string& name, const std::string& json) const {
  const std::string path = data_dir_ + "/" + name + ".json";
  std::ofstream(path) << json;
  return path;
}

std::string CliJobTest::Download(const v1::Job& job, const std::string& name) const {
  const std::string path = data_dir_ + "/" + job.id() + "_" + name;
  const CommandResult download = Cli("artifact download " + job.id() + " " + name + " --output " + path);
  EXPECT_EQ(download.exit_code, 0) << download.out;
  return ReadFile(path);
}

}  // namespace crucible::testing
