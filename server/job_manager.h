// JobManager: the job lifecycle QUEUED -> RUNNING -> SUCCEEDED | FAILED |
// CANCELLED over a Store, with a bounded pool of worker threads.
//
// - Submit validates the whole spec before queuing (unknown engine:
//   UNIMPLEMENTED; unknown model or dataset: NOT_FOUND; bad config:
//   INVALID_ARGUMENT from the engine) and is idempotent per request_id.
// - Workers take queued jobs in submit order, N at a time.
// - Cancel of a queued job is immediate; a running engine sees its
//   cancellation flag at its next check (engines check every ~100 ms).
// - Progress is stored at most every `progress_interval`; watchers are woken
//   on every state or progress change.
// - Start() re-queues jobs left RUNNING by a previous process; Shutdown()
//   stops the workers and re-queues the jobs they were running.
// Thread-safe.
#ifndef CRUCIBLE_SERVER_JOB_MANAGER_H_
#define CRUCIBLE_SERVER_JOB_MANAGER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crucible/v1/jobs.pb.h"
#include "engines/engine.h"
#include "server/catalog.h"
#include "server/job_observer.h"
#include "server/store/blob_store.h"
#include "server/store/store.h"

namespace crucible {

class JobManager {
 public:
  struct Options {
    int workers = 2;
    int threads_per_job = 0;  // 0: the machine's cores divided among the workers.
    absl::Duration progress_interval = absl::Milliseconds(200);
    absl::Duration job_timeout = absl::Hours(24);
    JobObserver* observer = nullptr;  // Optional; must outlive the JobManager.
  };

  JobManager(Store* store, BlobStore* blobs, Catalog* catalog, const EngineRegistry* engines, Options options);
  ~JobManager();  // Shutdown().

  absl::Status Start();
  void Shutdown();

  absl::StatusOr<v1::Job> Submit(const v1::SubmitJobRequest& request);
  // FAILED_PRECONDITION for a job that already ended.
  absl::StatusOr<v1::Job> Cancel(const std::string& id);

  // A counter bumped on every job state or progress change.
  int64_t generation() const;
  // Blocks until generation() differs from `seen` or `timeout` passes;
  // returns the current generation.
  int64_t WaitForChange(int64_t seen, absl::Duration timeout) const;

  static bool IsTerminal(v1::JobState state);

 private:
  class Context;

  void WorkerLoop();
  void RunJob(v1::Job job);
  void Finish(v1::Job& job, const absl::StatusOr<v1::Report>& result, bool cancelled_by_user, bool interrupted,
              absl::Duration ran_for);
  void Bump();

  Store* store_;
  BlobStore* blobs_;
  Catalog* catalog_;
  const EngineRegistry* engines_;
  Options options_;

  mutable absl::Mutex mu_;
  mutable absl::CondVar changed_;
  absl::CondVar work_available_;
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Cancellation flags of running jobs.
  absl::flat_hash_map<std::string, std::shared_ptr<std::atomic<bool>>> running_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_JOB_MANAGER_H_
