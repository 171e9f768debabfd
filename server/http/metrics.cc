#include "server/http/metrics.h"

#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

// Label values escape backslash, double quote and newline.
std::string LabelValue(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double value) { return absl::StrFormat("%.17g", value); }

void Header(std::string& out, const char* name, const char* type, const char* help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

Metrics::Metrics(std::vector<std::string> engines) {
  absl::MutexLock lock(&mu_);
  for (const std::string& engine : engines) engines_[engine];
  upload_bytes_["model"];
  upload_bytes_["dataset"];
}

Metrics::EngineCounters& Metrics::CountersFor(const std::string& engine) { return engines_[engine]; }

void Metrics::JobSubmitted(const v1::Job& job) {
  absl::MutexLock lock(&mu_);
  ++CountersFor(job.engine()).submitted;
}

void Metrics::JobFinished(const v1::Job& job, absl::Duration ran_for) {
  absl::MutexLock lock(&mu_);
  EngineCounters& counters = CountersFor(job.engine());
  switch (job.state()) {
    case v1::SUCCEEDED:
      ++counters.succeeded;
      break;
    case v1::FAILED:
      ++counters.failed;
      break;
    case v1::CANCELLED:
      ++counters.cancelled;
      break;
    default:
      return;
  }
  // A job cancelled while queued never ran: it has no duration.
  if (!job.has_started_at()) return;
  const double seconds = absl::ToDoubleSeconds(ran_for);
  ++counters.duration_count;
  counters.duration_sum += seconds;
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    if (seconds <= kDurationBuckets[i]) {
      ++counters.duration_buckets[i];
      break;
    }
  }
}

void Metrics::RecordGrpcRequest(const std::string& method, const std::string& code) {
  absl::MutexLock lock(&mu_);
  ++grpc_requests_[{method, code}];
}

void Metrics::AddUploadBytes(const std::string& kind, int64_t bytes) {
  absl::MutexLock lock(&mu_);
  upload_bytes_[kind] += bytes;
}

absl::StatusOr<std::string> Metrics::Render(Store& store) const {
  ASSIGN_OR_RETURN(const auto by_state, store.CountJobsByState());
  std::map<v1::JobState, int64_t> jobs_in_state;
  for (int state = v1::QUEUED; state <= v1::CANCELLED; ++state) jobs_in_state[static_cast<v1::JobState>(state)] = 0;
  for (const auto& [state, count] : by_state) jobs_in_state[state] = count;

  std::string out;
  Header(out, "crucible_jobs", "gauge", "Jobs in the store by state.");
  for (const auto& [state, count] : jobs_in_state) {
    absl::StrAppend(&out, "crucible_jobs{state=\"", v1::JobState_Name(state), "\"} ", count, "\n");
  }
  Header(out, "crucible_queue_depth", "gauge", "Jobs waiting for a worker (QUEUED).");
  absl::StrAppend(&out, "crucible_queue_depth ", jobs_in_state[v1::QUEUED], "\n");
  Header(out, "crucible_running_jobs", "gauge", "Jobs a worker is running (RUNNING).");
  absl::StrAppend(&out, "crucible_running_jobs ", jobs_in_state[v1::RUNNING], "\n");

  absl::MutexLock lock(&mu_);
  const struct {
    const char* name;
    const char* help;
    int64_t EngineCounters::*field;
  } job_counters[] = {
      {"crucible_jobs_submitted_total", "Jobs accepted by SubmitJob since the server started.",
       &EngineCounters::submitted},
      {"crucible_jobs_succeeded_total", "Jobs that ended SUCCEEDED since the server started.",
       &EngineCounters::succeeded},
      {"crucible_jobs_failed_total", "Jobs that ended FAILED since the server started.", &EngineCounters::failed},
      {"crucible_jobs_cancelled_total", "Jobs that ended CANCELLED since the server started.",
       &EngineCounters::cancelled},
  };
  for (const auto& counter : job_counters) {
    Header(out, counter.name, "counter", counter.help);
    for (const auto& [engine, counters] : engines_) {
      absl::StrAppend(&out, counter.name, "{engine=\"", LabelValue(engine), "\"} ", counters.*counter.field, "\n");
    }
  }

  Header(out, "crucible_job_duration_seconds", "histogram", "Wall time of jobs that ran, from start to end.");
  for (const auto& [engine, counters] : engines_) {
    const std::string label = LabelValue(engine);
    int64_t cumulative = 0;
    for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
      cumulative += counters.duration_buckets[i];
      absl::StrAppend(&out, "crucible_job_duration_seconds_bucket{engine=\"", label, "\",le=\"",
                      Number(kDurationBuckets[i]), "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "crucible_job_duration_seconds_bucket{engine=\"", label, "\",le=\"+Inf\"} ",
                    counters.duration_count, "\n");
    absl::StrAppend(&out, "crucible_job_duration_seconds_sum{engine=\"", label, "\"} ", Number(counters.duration_sum),
                    "\n");
    absl::StrAppend(&out, "crucible_job_duration_seconds_count{engine=\"", label, "\"} ", counters.duration_count,
                    "\n");
  }

  Header(out, "crucible_grpc_requests_total", "counter", "gRPC calls handled, by method and status code.");
  for (const auto& [key, count] : grpc_requests_) {
    absl::StrAppend(&out, "crucible_grpc_requests_total{method=\"", LabelValue(key.first), "\",code=\"",
                    LabelValue(key.second), "\"} ", count, "\n");
  }
  Header(out, "crucible_upload_bytes_total", "counter", "Bytes of models and datasets uploaded and stored.");
  for (const auto& [kind, bytes] : upload_bytes_) {
    absl::StrAppend(&out, "crucible_upload_bytes_total{kind=\"", LabelValue(kind), "\"} ", bytes, "\n");
  }
  Header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  absl::StrAppend(&out, "process_resident_memory_bytes ", ResidentMemoryBytes(), "\n");
  return out;
}

int64_t ResidentMemoryBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace crucible
