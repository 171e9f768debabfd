// Running the `crucible` command (or any shell command) from an integration
// test and capturing what it printed and its exit code.
//
//   CommandResult run = RunCli(server.address(), "job list --json");
//   EXPECT_EQ(run.exit_code, 0) << run.out;
//   CommandResult quiet = RunCli(server.address(), "run ...", "2>/dev/null");  // stdout only
#ifndef CRUCIBLE_TESTS_INTEGRATION_CLI_RUNNER_H_
#define CRUCIBLE_TESTS_INTEGRATION_CLI_RUNNER_H_

#include <string>

namespace crucible::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the command did not exit normally.
  std::string out;     // What it wrote to stdout (and stderr, if redirected there).
};

// Runs `command` with /bin/sh and captures its stdout.
CommandResult RunShell(const std::string& command);

// `crucible --server SERVER ARGS`, with stderr handled by `stderr_redirect`
// (default: merged into `out`).
CommandResult RunCli(const std::string& server, const std::string& args,
                     const std::string& stderr_redirect = "2>&1");

// The whole file at `path` (empty when it cannot be read).
std::string ReadFile(const std::string& path);

// Absolute path of a file under tests/fixtures.
std::string FixturePath(const std::string& relative);

}  // namespace crucible::testing

#endif  // CRUCIBLE_TESTS_INTEGRATION_CLI_RUNNER_H_
