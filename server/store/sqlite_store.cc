#include "server/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <limits>
#include <map>
#include <span>
#include <variant>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "engines/core/status_macros.h"
#include "server/current_timestamp.h"

namespace crucible {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;
constexpr absl::string_view kPageTokenPrefix = "seq:";

// Schema migrations: kMigrations[v] takes the database from version v to v+1.
// Append new steps; never edit a released one.
constexpr const char* kMigrations[] = {
    R"sql(
      CREATE TABLE models (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        record BLOB NOT NULL);
      CREATE TABLE datasets (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        record BLOB NOT NULL);
      CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        state INTEGER NOT NULL,
        engine TEXT NOT NULL,
        model_id TEXT NOT NULL,
        request_id TEXT UNIQUE,  -- NULL when the submit carried none.
        record BLOB NOT NULL);
      CREATE INDEX jobs_by_state ON jobs (state, seq);
      CREATE INDEX jobs_by_engine ON jobs (engine, seq);
      CREATE INDEX jobs_by_model ON jobs (model_id, seq);
    )sql",
};
constexpr int64_t kSchemaVersion = std::size(kMigrations);

using Statement = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;
// A bound parameter: NULL, INTEGER, TEXT (string_view) or BLOB (bytes).
using Param = std::variant<std::nullptr_t, int64_t, absl::string_view, std::span<const std::byte>>;

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  const std::string message =
      absl::StrCat("sqlite: ", what, ": ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

// Runs parameterless SQL (one or more statements).
absl::Status ExecScript(sqlite3* db, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, sql);
  return absl::OkStatus();
}

absl::StatusOr<Statement> Prepare(sqlite3* db, absl::string_view sql, const std::vector<Param>& params) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  Statement statement(raw, &sqlite3_finalize);
  if (rc != SQLITE_OK) return SqliteError(db, rc, absl::StrCat("prepare ", sql));
  for (size_t i = 0; i < params.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    const int bound = std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            return sqlite3_bind_null(raw, index);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            return sqlite3_bind_int64(raw, index, value);
          } else if constexpr (std::is_same_v<T, absl::string_view>) {
            return sqlite3_bind_text64(raw, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
          } else {
            return sqlite3_bind_blob64(raw, index, value.data(), value.size(), SQLITE_TRANSIENT);
          }
        },
        params[i]);
    if (bound != SQLITE_OK) return SqliteError(db, bound, absl::StrCat("bind parameter ", index, " of ", sql));
  }
  return statement;
}

// True when a row is ready, false when the statement is done.
absl::StatusOr<bool> Step(sqlite3* db, sqlite3_stmt* statement) {
  const int rc = sqlite3_step(statement);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db, rc, sqlite3_sql(statement));
}

absl::Status Exec(sqlite3* db, absl::string_view sql, const std::vector<Param>& params) {
  ASSIGN_OR_RETURN(Statement statement, Prepare(db, sql, params));
  ASSIGN_OR_RETURN(const bool row, Step(db, statement.get()));
  (void)row;  // Only statements without results go through Exec.
  return absl::OkStatus();
}

std::span<const std::byte> Bytes(const std::string& bytes) { return std::as_bytes(std::span(bytes)); }

std::string ColumnBytes(sqlite3_stmt* statement, int column) {
  const void* data = sqlite3_column_blob(statement, column);
  const int size = sqlite3_column_bytes(statement, column);
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

template <typename Proto>
absl::StatusOr<Proto> ColumnRecord(sqlite3_stmt* statement, int column) {
  Proto record;
  if (!record.ParseFromString(ColumnBytes(statement, column))) {
    return absl::DataLossError(absl::StrCat("stored ", Proto::descriptor()->name(), " record does not parse"));
  }
  return record;
}

template <typename Proto>
absl::StatusOr<Proto> GetRecord(sqlite3* db, absl::string_view table, absl::string_view kind, const std::string& id) {
  ASSIGN_OR_RETURN(Statement statement, Prepare(db, absl::StrCat("SELECT record FROM ", table, " WHERE id = ?"), {id}));
  ASSIGN_OR_RETURN(const bool found, Step(db, statement.get()));
  if (!found) return absl::NotFoundError(absl::StrCat(kind, " ", id, " not found"));
  return ColumnRecord<Proto>(statement.get(), 0);
}

// Inserts `record` unless its id exists; returns what is stored under the id.
// REQUIRES: inside a transaction.
template <typename Proto>
absl::StatusOr<Proto> PutRecord(sqlite3* db, absl::string_view table, absl::string_view kind, const Proto& record) {
  RETURN_IF_ERROR(Exec(db,
                       absl::StrCat("INSERT INTO ", table, " (id, record) VALUES (?, ?) ON CONFLICT (id) DO NOTHING"),
                       {record.id(), Bytes(record.SerializeAsString())}));
  return GetRecord<Proto>(db, table, kind, record.id());
}

std::string EncodePageToken(int64_t seq) { return absl::WebSafeBase64Escape(absl::StrCat(kPageTokenPrefix, seq)); }

// The sequence number that the page starts below; an empty token starts at the newest record.
absl::StatusOr<int64_t> DecodePageToken(const std::string& token) {
  if (token.empty()) return std::numeric_limits<int64_t>::max();
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(token, &decoded)) return absl::InvalidArgumentError("invalid page_token");
  absl::string_view digits = decoded;
  int64_t seq = 0;
  if (!absl::ConsumePrefix(&digits, kPageTokenPrefix) || !absl::SimpleAtoi(digits, &seq) || seq <= 0) {
    return absl::InvalidArgumentError("invalid page_token");
  }
  return seq;
}

// One page of `table`, newest first, of the rows matching every condition in `where`.
template <typename Proto>
absl::StatusOr<Page<Proto>> ReadPage(sqlite3* db, absl::string_view table, std::vector<std::string> where,
                                     std::vector<Param> params, int page_size, const std::string& page_token) {
  ASSIGN_OR_RETURN(const int64_t before, DecodePageToken(page_token));
  const int64_t limit = page_size <= 0 ? kDefaultPageSize : std::min(page_size, kMaxPageSize);
  where.push_back("seq < ?");
  params.push_back(before);
  params.push_back(limit + 1);  // One more row tells whether there is a next page.
  ASSIGN_OR_RETURN(Statement statement,
                   Prepare(db,
                           absl::StrCat("SELECT seq, record FROM ", table, " WHERE ", absl::StrJoin(where, " AND "),
                                        " ORDER BY seq DESC LIMIT ?"),
                           params));
  Page<Proto> page;
  int64_t last_seq = 0;
  while (true) {
    ASSIGN_OR_RETURN(const bool row, Step(db, statement.get()));
    if (!row) break;
    if (static_cast<int64_t>(page.items.size()) == limit) {
      page.next_page_token = EncodePageToken(last_seq);
      break;
    }
    last_seq = sqlite3_column_int64(statement.get(), 0);
    ASSIGN_OR_RETURN(Proto record, ColumnRecord<Proto>(statement.get(), 1));
    page.items.push_back(std::move(record));
  }
  return page;
}

absl::Status CheckJobState(const v1::Job& job) {
  if (job.state() >= v1::QUEUED && job.state() <= v1::CANCELLED) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("job ", job.id(), " has no valid state (", job.state(), ")"));
}

// The indexed columns of a job, in the order state, engine, model_id, request_id, record.
std::vector<Param> JobColumns(const v1::Job& job, const std::string& record) {
  Param request_id = nullptr;
  if (!job.request_id().empty()) request_id = absl::string_view(job.request_id());
  return {int64_t{job.state()}, absl::string_view(job.engine()), absl::string_view(job.spec().model_id()), request_id,
          Bytes(record)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteError(db, rc, absl::StrCat("open ", path));
    sqlite3_close_v2(db);
    return status;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  {
    absl::MutexLock lock(&store->mu_);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    RETURN_IF_ERROR(
        ExecScript(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"));
    RETURN_IF_ERROR(store->Migrate());
  }
  absl::MutexLock lock(&store->read_mu_);
  const int read_rc = sqlite3_open_v2(path.c_str(), &store->read_db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                      nullptr);
  if (read_rc != SQLITE_OK) return SqliteError(store->read_db_, read_rc, absl::StrCat("open ", path, " for reading"));
  sqlite3_busy_timeout(store->read_db_, kBusyTimeoutMs);
  return store;
}

SqliteStore::~SqliteStore() {
  sqlite3_close_v2(read_db_);
  sqlite3_close_v2(db_);
}

absl::Status SqliteStore::InTransaction(absl::FunctionRef<absl::Status()> body) {
  RETURN_IF_ERROR(ExecScript(db_, "BEGIN IMMEDIATE"));
  absl::Status status = body();
  if (status.ok()) status = ExecScript(db_, "COMMIT");
  // A failed COMMIT may leave the transaction open; a failed body always does.
  if (!status.ok() && sqlite3_get_autocommit(db_) == 0) (void)ExecScript(db_, "ROLLBACK");
  return status;
}

absl::Status SqliteStore::Migrate() {
  return InTransaction([&]() -> absl::Status {
    RETURN_IF_ERROR(ExecScript(db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    ASSIGN_OR_RETURN(Statement statement, Prepare(db_, "SELECT version FROM schema_version", {}));
    ASSIGN_OR_RETURN(const bool found, Step(db_, statement.get()));
    const int64_t version = found ? sqlite3_column_int64(statement.get(), 0) : 0;
    statement.reset();
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("database schema version ", version, " is newer than this server's (", kSchemaVersion, ")"));
    }
    if (version == kSchemaVersion) return absl::OkStatus();
    for (int64_t v = version; v < kSchemaVersion; ++v) RETURN_IF_ERROR(ExecScript(db_, kMigrations[v]));
    if (found) return Exec(db_, "UPDATE schema_version SET version = ?", {kSchemaVersion});
    return Exec(db_, "INSERT INTO schema_version (version) VALUES (?)", {kSchemaVersion});
  });
}

absl::StatusOr<v1::Model> SqliteStore::PutModel(const v1::Model& model) {
  if (model.id().empty()) return absl::InvalidArgumentError("model id is empty");
  absl::MutexLock lock(&mu_);
  v1::Model stored;
  RETURN_IF_ERROR(InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(stored, PutRecord(db_, "models", "model", model));
    return absl::OkStatus();
  }));
  return stored;
}

absl::StatusOr<v1::Model> SqliteStore::GetModel(const std::string& id) {
  absl::MutexLock lock(&read_mu_);
  return GetRecord<v1::Model>(read_db_, "models", "model", id);
}

absl::StatusOr<Page<v1::Model>> SqliteStore::ListModels(int page_size, const std::string& page_token) {
  absl::MutexLock lock(&read_mu_);
  return ReadPage<v1::Model>(read_db_, "models", {}, {}, page_size, page_token);
}

absl::Status SqliteStore::DeleteModel(const std::string& id) {
  absl::MutexLock lock(&mu_);
  return InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Statement model, Prepare(db_, "SELECT 1 FROM models WHERE id = ?", {id}));
    ASSIGN_OR_RETURN(const bool exists, Step(db_, model.get()));
    if (!exists) return absl::NotFoundError(absl::StrCat("model ", id, " not found"));
    ASSIGN_OR_RETURN(Statement user, Prepare(db_,
                                             "SELECT id FROM jobs WHERE model_id = ? AND state IN (?, ?) "
                                             "ORDER BY seq LIMIT 1",
                                             {id, int64_t{v1::QUEUED}, int64_t{v1::RUNNING}}));
    ASSIGN_OR_RETURN(const bool used, Step(db_, user.get()));
    if (used) {
      return absl::FailedPreconditionError(
          absl::StrCat("model ", id, " is used by queued or running job ", ColumnBytes(user.get(), 0)));
    }
    return Exec(db_, "DELETE FROM models WHERE id = ?", {id});
  });
}

absl::StatusOr<v1::Dataset> SqliteStore::PutDataset(const v1::Dataset& dataset) {
  if (dataset.id().empty()) return absl::InvalidArgumentError("dataset id is empty");
  absl::MutexLock lock(&mu_);
  v1::Dataset stored;
  RETURN_IF_ERROR(InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(stored, PutRecord(db_, "datasets", "dataset", dataset));
    return absl::OkStatus();
  }));
  return stored;
}

absl::StatusOr<v1::Dataset> SqliteStore::GetDataset(const std::string& id) {
  absl::MutexLock lock(&read_mu_);
  return GetRecord<v1::Dataset>(read_db_, "datasets", "dataset", id);
}

absl::StatusOr<v1::Job> SqliteStore::CreateJob(const v1::Job& job) {
  if (job.id().empty()) return absl::InvalidArgumentError("job id is empty");
  RETURN_IF_ERROR(CheckJobState(job));
  const std::string record = job.SerializeAsString();
  absl::MutexLock lock(&mu_);
  v1::Job stored;
  RETURN_IF_ERROR(InTransaction([&]() -> absl::Status {
    if (!job.request_id().empty()) {
      ASSIGN_OR_RETURN(Statement previous,
                       Prepare(db_, "SELECT record FROM jobs WHERE request_id = ?", {job.request_id()}));
      ASSIGN_OR_RETURN(const bool found, Step(db_, previous.get()));
      if (found) {
        ASSIGN_OR_RETURN(stored, ColumnRecord<v1::Job>(previous.get(), 0));
        return absl::OkStatus();
      }
    }
    ASSIGN_OR_RETURN(Statement same_id, Prepare(db_, "SELECT 1 FROM jobs WHERE id = ?", {job.id()}));
    ASSIGN_OR_RETURN(const bool taken, Step(db_, same_id.get()));
    if (taken) return absl::AlreadyExistsError(absl::StrCat("job ", job.id(), " already exists"));
    std::vector<Param> params = JobColumns(job, record);
    params.insert(params.begin(), absl::string_view(job.id()));
    RETURN_IF_ERROR(Exec(db_,
                         "INSERT INTO jobs (id, state, engine, model_id, request_id, record) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         params));
    stored = job;
    return absl::OkStatus();
  }));
  return stored;
}

absl::StatusOr<v1::Job> SqliteStore::GetJob(const std::string& id) {
  absl::MutexLock lock(&read_mu_);
  return GetRecord<v1::Job>(read_db_, "jobs", "job", id);
}

namespace {

// The WHERE conditions (joined with AND) and their parameters selecting the
// jobs `filter` matches. The parameters point into `filter`.
void JobFilterConditions(const JobFilter& filter, std::vector<std::string>& where, std::vector<Param>& params) {
  if (filter.state != v1::JOB_STATE_UNSPECIFIED) {
    where.push_back("state = ?");
    params.push_back(int64_t{filter.state});
  }
  if (!filter.engine.empty()) {
    where.push_back("engine = ?");
    params.push_back(absl::string_view(filter.engine));
  }
  if (!filter.model_id.empty()) {
    where.push_back("model_id = ?");
    params.push_back(absl::string_view(filter.model_id));
  }
}

}  // namespace

absl::StatusOr<Page<v1::Job>> SqliteStore::ListJobs(const JobFilter& filter, int page_size,
                                                    const std::string& page_token) {
  std::vector<std::string> where;
  std::vector<Param> params;
  JobFilterConditions(filter, where, params);
  absl::MutexLock lock(&read_mu_);
  return ReadPage<v1::Job>(read_db_, "jobs", std::move(where), std::move(params), page_size, page_token);
}

absl::Status SqliteStore::UpdateJob(const v1::Job& job) {
  RETURN_IF_ERROR(CheckJobState(job));
  const std::string record = job.SerializeAsString();
  std::vector<Param> params = JobColumns(job, record);
  params.push_back(absl::string_view(job.id()));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Exec(db_,
                       "UPDATE jobs SET state = ?, engine = ?, model_id = ?, request_id = ?, record = ? "
                       "WHERE id = ?",
                       params));
  if (sqlite3_changes(db_) == 0) return absl::NotFoundError(absl::StrCat("job ", job.id(), " not found"));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Job>> SqliteStore::ClaimNextQueuedJob() {
  absl::MutexLock lock(&mu_);
  std::optional<v1::Job> claimed;
  RETURN_IF_ERROR(InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Statement oldest, Prepare(db_, "SELECT seq, record FROM jobs WHERE state = ? ORDER BY seq LIMIT 1",
                                               {int64_t{v1::QUEUED}}));
    ASSIGN_OR_RETURN(const bool found, Step(db_, oldest.get()));
    if (!found) return absl::OkStatus();
    const int64_t seq = sqlite3_column_int64(oldest.get(), 0);
    ASSIGN_OR_RETURN(v1::Job job, ColumnRecord<v1::Job>(oldest.get(), 1));
    oldest.reset();
    job.set_state(v1::RUNNING);
    *job.mutable_started_at() = CurrentTimestamp();
    RETURN_IF_ERROR(Exec(db_, "UPDATE jobs SET state = ?, record = ? WHERE seq = ?",
                         {int64_t{v1::RUNNING}, Bytes(job.SerializeAsString()), seq}));
    claimed = std::move(job);
    return absl::OkStatus();
  }));
  return claimed;
}

absl::StatusOr<int> SqliteStore::RequeueRunningJobs() {
  absl::MutexLock lock(&mu_);
  int requeued = 0;
  RETURN_IF_ERROR(InTransaction([&]() -> absl::Status {
    std::vector<std::pair<int64_t, v1::Job>> running;
    {
      ASSIGN_OR_RETURN(Statement select,
                       Prepare(db_, "SELECT seq, record FROM jobs WHERE state = ?", {int64_t{v1::RUNNING}}));
      while (true) {
        ASSIGN_OR_RETURN(const bool row, Step(db_, select.get()));
        if (!row) break;
        ASSIGN_OR_RETURN(v1::Job job, ColumnRecord<v1::Job>(select.get(), 1));
        running.emplace_back(sqlite3_column_int64(select.get(), 0), std::move(job));
      }
    }
    for (auto& [seq, job] : running) {
      job.set_state(v1::QUEUED);
      job.clear_progress();
      job.clear_started_at();
      RETURN_IF_ERROR(Exec(db_, "UPDATE jobs SET state = ?, record = ? WHERE seq = ?",
                           {int64_t{v1::QUEUED}, Bytes(job.SerializeAsString()), seq}));
    }
    requeued = static_cast<int>(running.size());
    return absl::OkStatus();
  }));
  return requeued;
}

absl::StatusOr<std::vector<std::pair<v1::JobState, int64_t>>> SqliteStore::CountJobsByState() {
  std::map<int64_t, int64_t> counts;
  {
    absl::MutexLock lock(&read_mu_);
    ASSIGN_OR_RETURN(Statement statement, Prepare(read_db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state", {}));
    while (true) {
      ASSIGN_OR_RETURN(const bool row, Step(read_db_, statement.get()));
      if (!row) break;
      counts[sqlite3_column_int64(statement.get(), 0)] = sqlite3_column_int64(statement.get(), 1);
    }
  }
  std::vector<std::pair<v1::JobState, int64_t>> result;
  for (const v1::JobState state : {v1::QUEUED, v1::RUNNING, v1::SUCCEEDED, v1::FAILED, v1::CANCELLED}) {
    result.emplace_back(state, counts[state]);
  }
  return result;
}

absl::StatusOr<int64_t> SqliteStore::CountJobs(const JobFilter& filter) {
  std::vector<std::string> where;
  std::vector<Param> params;
  JobFilterConditions(filter, where, params);
  const std::string sql = absl::StrCat("SELECT COUNT(*) FROM jobs",
                                       where.empty() ? "" : absl::StrCat(" WHERE ", absl::StrJoin(where, " AND ")));
  absl::MutexLock lock(&read_mu_);
  ASSIGN_OR_RETURN(Statement statement, Prepare(read_db_, sql, params));
  ASSIGN_OR_RETURN(const bool row, Step(read_db_, statement.get()));
  if (!row) return absl::InternalError("COUNT(*) returned no row");
  return sqlite3_column_int64(statement.get(), 0);
}

}  // namespace crucible
