// The verbs of the `crucible` command (see cli_grammar.h for their grammar):
// each runs one parsed command line against the service and returns the
// process exit status, or an error (exit status kExitError, printed by the
// caller with ErrorText). Results go to `out` (the protobuf JSON with --json,
// aligned text otherwise); progress and notes go to `err`.
//
//   CommandEnv env{.client = client, .out = stdout, .err = stderr,
//                  .err_is_terminal = isatty(2) != 0, .err_width = 80};
//   absl::StatusOr<int> exit_status = RunCommand(parsed, env);
#ifndef CRUCIBLE_CLIENTS_CLI_COMMANDS_H_
#define CRUCIBLE_CLIENTS_CLI_COMMANDS_H_

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clients/cli/auditor_client.h"
#include "clients/cli/command_line.h"
#include "crucible/v1/jobs.pb.h"
#include "google/protobuf/message.h"

namespace crucible {

// Exit statuses (DESIGN.md, "The command line contract").
inline constexpr int kExitOk = 0;               // Done; a job that was waited for SUCCEEDED.
inline constexpr int kExitJobUnsuccessful = 1;  // A job that was waited for FAILED or was CANCELLED.
inline constexpr int kExitError = 2;            // Usage, connection or server error.

struct CommandEnv {
  AuditorClient& client;
  std::FILE* out;
  std::FILE* err;
  bool err_is_terminal;  // Draw progress in place.
  int err_width;         // Terminal columns of `err`.
};

// Runs the command `command.spec()` names. REQUIRES: !command.help().
absl::StatusOr<int> RunCommand(const ParsedCommand& command, CommandEnv& env);

// ---- Shared by the verbs ------------------------------------------------------

// Prints `message` as JSON when the command has --json, else `human_text`.
absl::Status PrintResult(const CommandEnv& env, const ParsedCommand& command,
                         const google::protobuf::Message& message, const std::string& human_text);

// --page-size N as a number in [1, 1000] (0 when absent); a usage error otherwise.
absl::StatusOr<int> PageSizeOption(const ParsedCommand& command);

// Watches job `id` until it ends, with a progress bar on env.err, then prints
// the finished job (fetched again, with report and artifacts) and returns
// kExitOk for SUCCEEDED, kExitJobUnsuccessful for FAILED or CANCELLED.
absl::StatusOr<int> FollowJob(CommandEnv& env, const ParsedCommand& command, const std::string& id);

// ---- The verbs (run_command.cc, gate_command.cc, resource_commands.cc, job_commands.cc) ----------

absl::StatusOr<int> RunAudit(const ParsedCommand& command, CommandEnv& env);
// gate_command.cc: exit 0 when every check passed, 1 when one failed, 2 when one errored.
absl::StatusOr<int> GateAudit(const ParsedCommand& command, CommandEnv& env);

absl::StatusOr<int> ModelUpload(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> ModelList(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> ModelGet(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> ModelDelete(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> DatasetUpload(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> DatasetGet(const ParsedCommand& command, CommandEnv& env);

absl::StatusOr<int> JobSubmit(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> JobGet(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> JobList(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> JobWatch(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> JobCancel(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> JobReport(const ParsedCommand& command, CommandEnv& env);
absl::StatusOr<int> ArtifactDownload(const ParsedCommand& command, CommandEnv& env);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_COMMANDS_H_
