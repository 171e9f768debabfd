// HttpServer: crucible-server's HTTP surface, served next to gRPC from the
// same Store and BlobStore the gRPC service reads:
//
//   /                          jobs table (live, filterable, paginated)
//   /jobs/{id}                 one job: config, progress, report, pictures
//   /jobs/{id}/artifacts/{n}   an artifact's bytes (also under /api/v1)
//   /models                    uploaded models
//   /api/v1/jobs[/{id}]        ListJobs / GetJob as protobuf JSON; ?state=
//                              &engine= &model_id= &page_size= &page_token=
//                              filter and page the list (header X-Total-Count:
//                              jobs on all pages), ?view=summary drops reports
//   /api/v1/models[/{id}]      ListModels / GetModel as protobuf JSON
//   /metrics                   Prometheus text (Metrics::Render)
//   /healthz, /readyz          liveness; readiness (SetReady and a store query)
//
// Read-only: only GET (and HEAD). Unknown ids are 404, malformed filters 400,
// with a JSON body {"code": ..., "message": ...} under /api and an HTML page
// elsewhere. Requests are served on the server's own thread pool.
//
//   HttpServer http(store, blobs, &metrics, engine_names);
//   ASSIGN_OR_RETURN(int port, http.Start("127.0.0.1:8080"));  // port 0: any free port
//   http.SetReady(true);
//   ...
//   http.Stop();
#ifndef CRUCIBLE_SERVER_HTTP_HTTP_SERVER_H_
#define CRUCIBLE_SERVER_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "server/http/dashboard_pages.h"
#include "server/http/metrics.h"
#include "server/store/blob_store.h"
#include "server/store/store.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace crucible {

class HttpServer {
 public:
  HttpServer(Store* store, BlobStore* blobs, Metrics* metrics, std::vector<std::string> engines);
  ~HttpServer();  // Stop().

  // Binds HOST:PORT and starts serving on a background thread; returns the
  // bound port. INVALID_ARGUMENT for a malformed address, UNAVAILABLE when the
  // port cannot be bound.
  absl::StatusOr<int> Start(const std::string& host_port);
  void Stop();

  // What /readyz answers (besides the store check); false until set.
  void SetReady(bool ready) { ready_ = ready; }

 private:
  void RegisterRoutes();

  Store* store_;
  BlobStore* blobs_;
  Metrics* metrics_;
  DashboardPages pages_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> ready_{false};
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_HTTP_HTTP_SERVER_H_
