// The `crucible` command: a client of the Crucible audit service.
//
//   crucible [--server HOST:PORT] run --engine E --model M.onnx [--inputs X.npy] [--labels Y.npy]
//            [--property P.vnnlib] [--naps NAPS.json] [--config C.json] [--json]
//
// and the model, dataset, job and artifact verbs (`crucible help`). Exit
// status: 0 done (a job waited for SUCCEEDED), 1 a job FAILED or was
// CANCELLED, 2 usage, connection or server error.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "clients/cli/auditor_client.h"
#include "clients/cli/cli_errors.h"
#include "clients/cli/cli_grammar.h"
#include "clients/cli/command_line.h"
#include "clients/cli/commands.h"

namespace crucible {
namespace {

constexpr int kDefaultWidth = 80;

int TerminalWidth(int fd) {
  struct winsize size;
  if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return kDefaultWidth;
}

std::string ServerAddress(const ParsedCommand& command) {
  if (command.server().has_value()) return *command.server();
  const char* env = std::getenv("CRUCIBLE_SERVER");
  return env != nullptr && *env != '\0' ? env : kDefaultServer;
}

int Main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<ParsedCommand> command = ParseCommandLine(args, CrucibleCommands());
  if (!command.ok()) {
    std::fprintf(stderr, "%s\nrun 'crucible help' for usage\n", ErrorText(command.status()).c_str());
    return kExitError;
  }
  if (command->help()) {
    std::fputs(CrucibleUsage(command->words()).c_str(), stdout);
    return kExitOk;
  }

  AuditorClient client(AuditorClient::OpenChannel(ServerAddress(*command)));
  CommandEnv env{.client = client,
                 .out = stdout,
                 .err = stderr,
                 .err_is_terminal = ::isatty(STDERR_FILENO) != 0,
                 .err_width = TerminalWidth(STDERR_FILENO)};
  absl::StatusOr<int> exit_status = RunCommand(*command, env);
  if (!exit_status.ok()) {
    std::fprintf(stderr, "%s\n", ErrorText(exit_status.status()).c_str());
    if (IsUsageError(exit_status.status())) {
      std::fprintf(stderr, "usage: crucible %s\n", command->spec()->UsageLine().c_str());
    }
    return kExitError;
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "error: cannot write the output: %s\n", std::strerror(errno));
    return kExitError;
  }
  return *exit_status;
}

}  // namespace
}  // namespace crucible

int main(int argc, char** argv) { return crucible::Main(argc, argv); }
