// Store: durable records of models, datasets and jobs (with their progress,
// reports and artifact lists). SQLite implements it (sqlite_store.h); a
// PostgreSQL implementation can follow behind the same interface.
//
// Contract: every method is thread-safe and atomic. Records are the API
// protos themselves. Unknown ids are NOT_FOUND naming the id. Page tokens are
// opaque strings produced by the store; a malformed token is INVALID_ARGUMENT.
// Listing order: models and datasets newest first; jobs by submit order,
// newest first.
#ifndef CRUCIBLE_SERVER_STORE_STORE_H_
#define CRUCIBLE_SERVER_STORE_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crucible/v1/jobs.pb.h"
#include "crucible/v1/resources.pb.h"

namespace crucible {

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // Empty on the last page.
};

struct JobFilter {
  v1::JobState state = v1::JOB_STATE_UNSPECIFIED;  // Unspecified: any.
  std::string engine;                              // Empty: any.
  std::string model_id;                            // Empty: any.
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts the model; if one with the same id exists, returns that one
  // unchanged (content addressing: same bytes, same model).
  virtual absl::StatusOr<v1::Model> PutModel(const v1::Model& model) = 0;
  virtual absl::StatusOr<v1::Model> GetModel(const std::string& id) = 0;
  virtual absl::StatusOr<Page<v1::Model>> ListModels(int page_size, const std::string& page_token) = 0;
  // FAILED_PRECONDITION while a QUEUED or RUNNING job uses the model.
  virtual absl::Status DeleteModel(const std::string& id) = 0;

  virtual absl::StatusOr<v1::Dataset> PutDataset(const v1::Dataset& dataset) = 0;
  virtual absl::StatusOr<v1::Dataset> GetDataset(const std::string& id) = 0;

  // Inserts a QUEUED job (job.id set by the caller). When job.request_id is
  // non-empty and a job with that request id exists, returns the existing job
  // instead and inserts nothing.
  virtual absl::StatusOr<v1::Job> CreateJob(const v1::Job& job) = 0;
  virtual absl::StatusOr<v1::Job> GetJob(const std::string& id) = 0;
  virtual absl::StatusOr<Page<v1::Job>> ListJobs(const JobFilter& filter, int page_size,
                                                 const std::string& page_token) = 0;
  // Replaces the stored job with `job` (same id).
  virtual absl::Status UpdateJob(const v1::Job& job) = 0;
  // The oldest QUEUED job, atomically switched to RUNNING (started_at set);
  // nullopt when none is queued.
  virtual absl::StatusOr<std::optional<v1::Job>> ClaimNextQueuedJob() = 0;
  // Startup recovery: every RUNNING job back to QUEUED (progress cleared).
  // Returns how many were re-queued.
  virtual absl::StatusOr<int> RequeueRunningJobs() = 0;
  // Number of jobs per state, for metrics and the queue depth.
  virtual absl::StatusOr<std::vector<std::pair<v1::JobState, int64_t>>> CountJobsByState() = 0;
  // Number of jobs ListJobs(filter, ...) would list over all its pages.
  virtual absl::StatusOr<int64_t> CountJobs(const JobFilter& filter) = 0;
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_STORE_STORE_H_
