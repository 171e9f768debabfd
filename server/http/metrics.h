// Metrics: the server's counters for /metrics, rendered in the Prometheus
// text exposition format (version 0.0.4).
//
// Counters are fed from where things happen: the JobManager reports submits
// and finished jobs (JobObserver), the gRPC interceptor reports every call's
// method and status code, the upload handlers report bytes received. Gauges
// (jobs by state, queue depth, running jobs) are read from the Store when the
// page is rendered, so they agree with what ListJobs shows; resident memory is
// read from /proc/self/statm. Counters start at zero for every engine given
// to the constructor, so a series exists before its first event.
// Thread-safe.
//
//   Metrics metrics({"evaluate", "fgsm"});
//   JobManager jobs(..., {.observer = &metrics});
//   ASSIGN_OR_RETURN(std::string text, metrics.Render(*store));
#ifndef CRUCIBLE_SERVER_HTTP_METRICS_H_
#define CRUCIBLE_SERVER_HTTP_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crucible/v1/jobs.pb.h"
#include "server/job_observer.h"
#include "server/store/store.h"

namespace crucible {

class Metrics final : public JobObserver {
 public:
  // Upper bounds (seconds) of the job duration histogram's buckets; +Inf is implied.
  static constexpr std::array<double, 12> kDurationBuckets = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200};

  explicit Metrics(std::vector<std::string> engines);

  void JobSubmitted(const v1::Job& job) override;
  void JobFinished(const v1::Job& job, absl::Duration ran_for) override;

  // `method` is the full gRPC method name ("/crucible.v1.AuditorService/GetJob");
  // `code` the status code's name ("OK", "NOT_FOUND", ...).
  void RecordGrpcRequest(const std::string& method, const std::string& code);
  // `kind`: "model" or "dataset".
  void AddUploadBytes(const std::string& kind, int64_t bytes);

  // The whole exposition; the Store supplies the job gauges.
  absl::StatusOr<std::string> Render(Store& store) const;

 private:
  struct EngineCounters {
    int64_t submitted = 0;
    int64_t succeeded = 0;
    int64_t failed = 0;
    int64_t cancelled = 0;
    std::array<int64_t, kDurationBuckets.size()> duration_buckets{};  // Not cumulative.
    int64_t duration_count = 0;
    double duration_sum = 0;
  };

  EngineCounters& CountersFor(const std::string& engine) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, EngineCounters> engines_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, int64_t> grpc_requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> upload_bytes_ ABSL_GUARDED_BY(mu_);
};

// Resident set size of this process in bytes (0 if /proc is unavailable).
int64_t ResidentMemoryBytes();

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_HTTP_METRICS_H_
