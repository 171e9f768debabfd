#include "tests/integration/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"

namespace crucible::testing {

std::string NewTempDir() {
  std::string pattern = ::testing::TempDir() + "crucible_it_XXXXXX";
  char* dir = mkdtemp(pattern.data());
  return dir == nullptr ? "" : std::string(dir);
}

ServerProcess::ServerProcess(std::string data_dir, std::vector<std::string> extra_flags)
    : data_dir_(std::move(data_dir)), extra_flags_(std::move(extra_flags)), log_path_(data_dir_ + "/server.log") {}

ServerProcess::~ServerProcess() { Kill(); }

absl::Status ServerProcess::Start() {
  const std::string log_start = Log();
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, STDERR_FILENO);
    std::vector<std::string> args = {CRUCIBLE_SERVER_BINARY, "--listen=127.0.0.1:0", "--data_dir=" + data_dir_};
    args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // The server logs the port it bound: port=N on its server_started line.
  const std::regex started("event=server_started .*port=(\\d+)");
  for (int i = 0; i < 400; ++i) {
    const std::string log = Log().substr(log_start.size());
    std::smatch match;
    if (std::regex_search(log, match, started)) {
      address_ = absl::StrCat("127.0.0.1:", match[1].str());
      // The rest of the server_started line; the HTTP address follows the port.
      const std::string rest = match.suffix().str().substr(0, match.suffix().str().find('\n'));
      std::smatch http;
      http_address_ = std::regex_search(rest, http, std::regex(" http=(\\S+)")) ? http[1].str() : "";
      auto channel = Channel();
      if (channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
        return absl::OkStatus();
      }
      return absl::UnavailableError("server started but does not accept connections");
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("server exited during startup:\n", log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError("server did not start within 20 s");
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int ServerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 400; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
  return -1;
}

std::shared_ptr<grpc::Channel> ServerProcess::Channel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
}

std::string ServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace crucible::testing
