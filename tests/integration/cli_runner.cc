#include "tests/integration/cli_runner.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace crucible::testing {

CommandResult RunShell(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult RunCli(const std::string& server, const std::string& args, const std::string& stderr_redirect) {
  return RunShell(std::string(CRUCIBLE_CLI_BINARY) + " --server " + server + " " + args + " " + stderr_redirect);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::string FixturePath(const std::string& relative) { return std::string(CRUCIBLE_FIXTURES_DIR) + "/" + relative; }

}  // namespace crucible::testing
