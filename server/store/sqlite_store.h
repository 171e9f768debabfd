// SqliteStore: the Store on one SQLite database file (WAL journal,
// synchronous=NORMAL, foreign keys on, 5 s busy timeout).
//
// Each record is kept as its serialized proto next to the columns that
// queries need: an insertion sequence (listing order, page tokens and the
// FIFO queue), and for jobs the state, engine, spec.model_id and request_id
// (unique where non-empty). The schema is created on Open and versioned in a
// `schema_version` table; a database written by a newer schema is refused.
//
// Thread-safe: one connection behind a mutex. Every write is one IMMEDIATE
// transaction, so several processes may also share the file.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(dir + "/crucible.db"));
//   ASSIGN_OR_RETURN(int requeued, store->RequeueRunningJobs());   // at startup
//   ASSIGN_OR_RETURN(std::optional<v1::Job> next, store->ClaimNextQueuedJob());
#ifndef CRUCIBLE_SERVER_STORE_SQLITE_STORE_H_
#define CRUCIBLE_SERVER_STORE_SQLITE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/store/store.h"

struct sqlite3;

namespace crucible {

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database at `path` and brings its schema
  // up to date.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // An empty id is INVALID_ARGUMENT.
  absl::StatusOr<v1::Model> PutModel(const v1::Model& model) override;
  absl::StatusOr<v1::Model> GetModel(const std::string& id) override;
  // page_size <= 0 means 50; at most 1000.
  absl::StatusOr<Page<v1::Model>> ListModels(int page_size, const std::string& page_token) override;
  absl::Status DeleteModel(const std::string& id) override;

  // Like PutModel: an existing dataset with the same id is returned unchanged.
  absl::StatusOr<v1::Dataset> PutDataset(const v1::Dataset& dataset) override;
  absl::StatusOr<v1::Dataset> GetDataset(const std::string& id) override;

  // Stores the job as given (callers pass state QUEUED). An empty id or a
  // state outside QUEUED..CANCELLED is INVALID_ARGUMENT; an id already used
  // is ALREADY_EXISTS.
  absl::StatusOr<v1::Job> CreateJob(const v1::Job& job) override;
  absl::StatusOr<v1::Job> GetJob(const std::string& id) override;
  // page_size <= 0 means 50; at most 1000.
  absl::StatusOr<Page<v1::Job>> ListJobs(const JobFilter& filter, int page_size,
                                         const std::string& page_token) override;
  // The same state rule as CreateJob.
  absl::Status UpdateJob(const v1::Job& job) override;
  // Oldest by submit order; started_at is the time of the claim.
  absl::StatusOr<std::optional<v1::Job>> ClaimNextQueuedJob() override;
  // Clears progress and started_at of the re-queued jobs, which keep their
  // place in the queue.
  absl::StatusOr<int> RequeueRunningJobs() override;
  // Every state from QUEUED to CANCELLED, in enum order, zeros included.
  absl::StatusOr<std::vector<std::pair<v1::JobState, int64_t>>> CountJobsByState() override;
  absl::StatusOr<int64_t> CountJobs(const JobFilter& filter) override;

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back when it fails.
  absl::Status InTransaction(absl::FunctionRef<absl::Status()> body) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* const db_;  // The connection is used only with mu_ held.
  // A read-only connection for lookups and listings: under WAL they read the
  // last committed state without waiting for writers.
  absl::Mutex read_mu_;
  sqlite3* read_db_ ABSL_GUARDED_BY(read_mu_) = nullptr;
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_STORE_SQLITE_STORE_H_
