// ServerProcess: a real crucible-server child process for integration tests,
// on a free loopback port with its own data directory.
//
//   ServerProcess server(data_dir);
//   ASSERT_TRUE(server.Start().ok());
//   auto stub = v1::AuditorService::NewStub(server.Channel());
//   server.Kill();          // SIGKILL, as a crash
//   server.Start();         // again, on the same data dir
//
// With "--http=127.0.0.1:0" among the extra flags, http_address() is the
// dashboard's bound address (the server logs it as http=HOST:PORT).
#ifndef CRUCIBLE_TESTS_INTEGRATION_SERVER_PROCESS_H_
#define CRUCIBLE_TESTS_INTEGRATION_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/channel.h"

namespace crucible::testing {

class ServerProcess {
 public:
  explicit ServerProcess(std::string data_dir, std::vector<std::string> extra_flags = {});
  ~ServerProcess();  // Kill().

  // Starts the server and waits until it accepts calls (up to 20 s).
  absl::Status Start();
  // SIGKILL and reap.
  void Kill();
  // SIGTERM; returns the exit code (or -1 if it did not exit within 20 s).
  int Terminate();

  const std::string& address() const { return address_; }
  // "127.0.0.1:PORT" of the HTTP server; empty when it was not started with --http.
  const std::string& http_address() const { return http_address_; }
  std::shared_ptr<grpc::Channel> Channel() const;
  // Everything the server wrote to stderr so far.
  std::string Log() const;

 private:
  std::string data_dir_;
  std::vector<std::string> extra_flags_;
  std::string log_path_;
  std::string address_;
  std::string http_address_;
  pid_t pid_ = -1;
};

// A directory under the test's temp dir, unique per call.
std::string NewTempDir();

}  // namespace crucible::testing

#endif  // CRUCIBLE_TESTS_INTEGRATION_SERVER_PROCESS_H_
