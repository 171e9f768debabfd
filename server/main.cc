// crucible-server: the audit service.
//
//   crucible-server --listen 127.0.0.1:50051 --data-dir /var/lib/crucible [--workers 2]
//                   [--http 127.0.0.1:8080]
//
// --http serves the dashboard, the read-only JSON API, /metrics, /healthz and
// /readyz (server/http/http_server.h) from the same store as gRPC.
// State lives in <data-dir>/crucible.db (SQLite, WAL) and <data-dir>/blobs.
// SIGTERM/SIGINT: health turns NOT_SERVING, new calls are refused, running
// jobs are re-queued for the next start, and the process exits 0.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "engines/engine.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "server/auditor_service.h"
#include "server/catalog.h"
#include "server/http/grpc_metrics_interceptor.h"
#include "server/http/http_server.h"
#include "server/http/metrics.h"
#include "server/job_manager.h"
#include "server/log.h"
#include "server/store/blob_store.h"
#include "server/store/sqlite_store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC address to listen on (HOST:PORT)");
ABSL_FLAG(std::string, data_dir, "", "directory for the database and blobs (created if missing)");
ABSL_FLAG(int, workers, 2, "jobs run at the same time");
ABSL_FLAG(std::string, http, "", "HTTP address for the dashboard, API and /metrics (HOST:PORT; empty: off)");
ABSL_FLAG(int, threads_per_job, 0, "threads each job may use (0: cores / workers)");

namespace {

// Calls are small except upload chunks (1 MiB) and watch/report messages.
constexpr int kMaxMessageBytes = 16 << 20;

absl::Notification* shutdown_requested = nullptr;

void OnSignal(int) {
  // Notify() is not async-signal-safe in general; a detached thread does it.
  std::thread([] {
    if (!shutdown_requested->HasBeenNotified()) shutdown_requested->Notify();
  }).detach();
}

// The command-line contract spells flags with dashes (--data-dir); Abseil
// flag names use underscores. Accept both.
std::vector<char*> NormalizeFlagNames(int argc, char** argv, std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  for (std::string& arg : storage) {
    if (arg.rfind("--", 0) != 0) continue;
    const size_t end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + static_cast<std::ptrdiff_t>(end), '-', '_');
  }
  std::vector<char*> pointers;
  for (std::string& arg : storage) pointers.push_back(arg.data());
  return pointers;
}

// The names of the engines this server runs, in the order JobSpec lists them.
std::vector<std::string> EngineNames(const crucible::EngineRegistry& engines) {
  std::vector<std::string> names;
  const google::protobuf::OneofDescriptor* configs = crucible::v1::JobSpec::descriptor()->FindOneofByName("config");
  for (int i = 0; i < configs->field_count(); ++i) {
    if (engines.Find(configs->field(i)->name()) != nullptr) names.push_back(configs->field(i)->name());
  }
  return names;
}

int Fail(const std::string& what) {
  crucible::LogEvent("server_failed", {{"error", what}});
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "crucible-server --listen HOST:PORT --data-dir DIR [--http HOST:PORT] [--workers N]");
  std::vector<std::string> arg_storage;
  std::vector<char*> args = NormalizeFlagNames(argc, argv, arg_storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (data_dir.empty()) {
    std::cerr << "crucible-server: --data-dir is required\n" << absl::ProgramUsageMessage() << "\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Fail(absl::StrCat("cannot create ", data_dir, ": ", ec.message()));

  auto store = crucible::SqliteStore::Open(data_dir + "/crucible.db");
  if (!store.ok()) return Fail(store.status().ToString());
  auto blobs = crucible::BlobStore::Open(data_dir + "/blobs");
  if (!blobs.ok()) return Fail(blobs.status().ToString());
  crucible::Catalog catalog(store->get(), blobs->get());
  const crucible::EngineRegistry engines = crucible::BuiltinEngines();
  crucible::Metrics metrics(EngineNames(engines));
  crucible::JobManager jobs(store->get(), blobs->get(), &catalog, &engines,
                            {.workers = absl::GetFlag(FLAGS_workers),
                             .threads_per_job = absl::GetFlag(FLAGS_threads_per_job),
                             .observer = &metrics});
  crucible::AuditorService service(store->get(), blobs->get(), &catalog, &jobs, crucible::UploadLimits{}, &metrics);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<crucible::GrpcMetricsInterceptorFactory>(&metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return Fail(absl::StrCat("cannot listen on ", absl::GetFlag(FLAGS_listen)));
  if (absl::Status started = jobs.Start(); !started.ok()) return Fail(started.ToString());

  crucible::HttpServer http(store->get(), blobs->get(), &metrics, EngineNames(engines));
  crucible::LogFields http_fields;
  if (const std::string http_address = absl::GetFlag(FLAGS_http); !http_address.empty()) {
    absl::StatusOr<int> http_port = http.Start(http_address);
    if (!http_port.ok()) return Fail(http_port.status().ToString());
    http.SetReady(true);
    // "http", not "http_port": the gRPC port is the line's only "port=" field.
    http_fields.push_back({"http", absl::StrCat(http_address.substr(0, http_address.rfind(':')), ":", *http_port)});
  }

  absl::Notification shutdown;
  shutdown_requested = &shutdown;
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  crucible::LogFields started_fields = {{"listen", absl::GetFlag(FLAGS_listen)},
                                        {"port", absl::StrCat(port)},
                                        {"data_dir", data_dir},
                                        {"workers", absl::StrCat(absl::GetFlag(FLAGS_workers))}};
  started_fields.insert(started_fields.end(), http_fields.begin(), http_fields.end());
  crucible::LogEvent("server_started", started_fields);
  shutdown.WaitForNotification();

  crucible::LogEvent("server_stopping");
  http.SetReady(false);
  server->GetHealthCheckService()->SetServingStatus(false);
  service.StopWatches();
  jobs.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  http.Stop();
  crucible::LogEvent("server_stopped");
  return 0;
}
