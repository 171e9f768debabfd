#include "server/job_manager.h"

#include <exception>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "engines/core/status_macros.h"
#include "server/current_timestamp.h"
#include "server/log.h"

namespace crucible {
namespace {

std::string NewJobId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(*gen), absl::Uniform<uint64_t>(*gen));
}

}  // namespace

// What an engine sees of its job: loaded inputs, progress, cancellation,
// artifacts. Progress and artifacts are written through to the store.
class JobManager::Context final : public JobContext {
 public:
  Context(JobManager* manager, v1::Job* job, std::shared_ptr<const Model> model,
          std::shared_ptr<const Dataset> dataset, std::shared_ptr<std::atomic<bool>> cancelled, absl::Time deadline,
          int threads)
      : manager_(manager), job_(job), model_(std::move(model)), dataset_(std::move(dataset)),
        cancelled_(std::move(cancelled)), deadline_(deadline), threads_(threads) {}

  const Model& model() const override { return *model_; }
  const Dataset* dataset() const override { return dataset_.get(); }
  bool Cancelled() const override { return cancelled_->load() || absl::Now() > deadline_; }
  absl::Time deadline() const override { return deadline_; }
  int threads() const override { return threads_; }

  void ReportProgress(double fraction, std::string_view stage, std::string_view message) override {
    absl::MutexLock lock(&mu_);
    v1::Progress* progress = job_->mutable_progress();
    progress->set_fraction(std::clamp(fraction, 0.0, 1.0));
    progress->set_stage(std::string(stage));
    progress->set_message(std::string(message));
    const absl::Time now = absl::Now();
    if (now - last_saved_ < manager_->options_.progress_interval && fraction < 1.0) return;
    last_saved_ = now;
    if (manager_->store_->UpdateJob(*job_).ok()) manager_->Bump();
  }

  absl::Status WriteArtifact(const std::string& name, const std::string& media_type,
                             std::string_view bytes) override {
    ASSIGN_OR_RETURN(const BlobInfo blob, manager_->blobs_->Put(bytes));
    absl::MutexLock lock(&mu_);
    v1::Artifact* artifact = job_->add_artifacts();
    artifact->set_name(name);
    artifact->set_media_type(media_type);
    artifact->set_size_bytes(blob.size_bytes);
    artifact->set_sha256(blob.sha256);
    return absl::OkStatus();
  }

 private:
  JobManager* manager_;
  absl::Mutex mu_;
  v1::Job* job_ ABSL_PT_GUARDED_BY(mu_);
  absl::Time last_saved_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::shared_ptr<const Model> model_;
  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<std::atomic<bool>> cancelled_;
  absl::Time deadline_;
  int threads_;
};

JobManager::JobManager(Store* store, BlobStore* blobs, Catalog* catalog, const EngineRegistry* engines,
                       Options options)
    : store_(store), blobs_(blobs), catalog_(catalog), engines_(engines), options_(options) {
  if (options_.workers < 1) options_.workers = 1;
  if (options_.threads_per_job <= 0) {
    options_.threads_per_job = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / options_.workers);
  }
}

JobManager::~JobManager() { Shutdown(); }

bool JobManager::IsTerminal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

absl::Status JobManager::Start() {
  ASSIGN_OR_RETURN(const int requeued, store_->RequeueRunningJobs());
  if (requeued > 0) LogEvent("jobs_requeued", {{"count", absl::StrCat(requeued)}});
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  return absl::OkStatus();
}

void JobManager::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    for (auto& [id, flag] : running_) flag->store(true);
    work_available_.SignalAll();
  }
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void JobManager::Bump() {
  absl::MutexLock lock(&mu_);
  ++generation_;
  changed_.SignalAll();
}

int64_t JobManager::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

int64_t JobManager::WaitForChange(int64_t seen, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const absl::Time until = absl::Now() + timeout;
  while (generation_ == seen && !stopping_) {
    if (changed_.WaitWithDeadline(&mu_, until)) break;
  }
  return generation_;
}

absl::StatusOr<v1::Job> JobManager::Submit(const v1::SubmitJobRequest& request) {
  const v1::JobSpec& spec = request.spec();
  const std::string engine_name = EngineName(spec);
  if (engine_name.empty()) {
    return absl::InvalidArgumentError("spec names no engine: set exactly one engine config (e.g. spec.evaluate)");
  }
  const Engine* engine = engines_->Find(engine_name);
  if (engine == nullptr) {
    return absl::UnimplementedError(absl::StrCat("engine '", engine_name, "' is not built into this server"));
  }
  if (spec.model_id().empty()) return absl::InvalidArgumentError("spec.model_id is required");
  ASSIGN_OR_RETURN(const std::shared_ptr<const Model> model, catalog_->LoadModel(spec.model_id()));
  std::shared_ptr<const Dataset> dataset;
  if (!spec.dataset_id().empty()) {
    ASSIGN_OR_RETURN(dataset, catalog_->LoadDataset(spec.dataset_id()));
  }
  RETURN_IF_ERROR(engine->Validate(spec, *model, dataset.get()));

  v1::Job job;
  job.set_id(NewJobId());
  job.set_engine(engine_name);
  *job.mutable_spec() = spec;
  job.set_state(v1::QUEUED);
  job.set_request_id(request.request_id());
  *job.mutable_created_at() = CurrentTimestamp();
  ASSIGN_OR_RETURN(v1::Job stored, store_->CreateJob(job));
  if (stored.id() == job.id()) {
    LogEvent("job_submitted", {{"job", job.id()}, {"engine", engine_name}, {"model", spec.model_id()}});
    // Counted before a worker can see it, so a job never ends before it was submitted.
    if (options_.observer != nullptr) options_.observer->JobSubmitted(stored);
    absl::MutexLock lock(&mu_);
    ++generation_;
    changed_.SignalAll();
    work_available_.Signal();
  }
  return stored;
}

absl::StatusOr<v1::Job> JobManager::Cancel(const std::string& id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(v1::Job job, store_->GetJob(id));
  if (IsTerminal(job.state())) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", id, " already ended (", v1::JobState_Name(job.state()), ")"));
  }
  if (auto running = running_.find(id); running != running_.end()) {
    running->second->store(true);
    LogEvent("job_cancel_requested", {{"job", id}});
    return job;
  }
  job.set_state(v1::CANCELLED);
  *job.mutable_finished_at() = CurrentTimestamp();
  RETURN_IF_ERROR(store_->UpdateJob(job));
  ++generation_;
  changed_.SignalAll();
  LogEvent("job_cancelled", {{"job", id}, {"while", "queued"}});
  if (options_.observer != nullptr) options_.observer->JobFinished(job, absl::ZeroDuration());
  return job;
}

void JobManager::WorkerLoop() {
  while (true) {
    std::optional<v1::Job> job;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      auto claimed = store_->ClaimNextQueuedJob();
      if (!claimed.ok()) {
        LogEvent("claim_failed", {{"error", claimed.status().ToString()}});
      } else if (claimed->has_value()) {
        job = std::move(**claimed);
        running_[job->id()] = std::make_shared<std::atomic<bool>>(false);
        ++generation_;
        changed_.SignalAll();
      }
      if (!job) {
        work_available_.WaitWithTimeout(&mu_, absl::Seconds(1));
        continue;
      }
    }
    RunJob(*std::move(job));
  }
}

void JobManager::RunJob(v1::Job job) {
  std::shared_ptr<std::atomic<bool>> cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = running_.at(job.id());
  }
  LogEvent("job_started", {{"job", job.id()}, {"engine", job.engine()}});
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::Report> result = absl::InternalError("job did not run");
  const Engine* engine = engines_->Find(job.engine());
  auto model = catalog_->LoadModel(job.spec().model_id());
  std::shared_ptr<const Dataset> dataset;
  absl::Status loaded = model.status();
  if (loaded.ok() && !job.spec().dataset_id().empty()) {
    auto data = catalog_->LoadDataset(job.spec().dataset_id());
    loaded = data.status();
    if (data.ok()) dataset = *std::move(data);
  }
  if (engine == nullptr) {
    result = absl::UnimplementedError(absl::StrCat("engine '", job.engine(), "' is not built into this server"));
  } else if (!loaded.ok()) {
    result = loaded;
  } else {
    Context context(this, &job, *std::move(model), std::move(dataset), cancelled, start + options_.job_timeout,
                    options_.threads_per_job);
    try {
      result = engine->Run(job.spec(), context);
    } catch (const std::exception& e) {
      result = absl::InternalError(absl::StrCat("engine '", job.engine(), "' failed: ", e.what()));
    }
  }
  bool interrupted;
  {
    absl::MutexLock lock(&mu_);
    interrupted = stopping_;
    running_.erase(job.id());
  }
  const bool cancelled_by_user = cancelled->load() && !interrupted;
  if (!result.ok() && !cancelled->load() && absl::Now() > start + options_.job_timeout) {
    result = absl::DeadlineExceededError(
        absl::StrCat("job exceeded its time limit of ", absl::FormatDuration(options_.job_timeout)));
  }
  Finish(job, result, cancelled_by_user, interrupted && cancelled->load(), absl::Now() - start);
}

void JobManager::Finish(v1::Job& job, const absl::StatusOr<v1::Report>& result, bool cancelled_by_user,
                        bool interrupted, absl::Duration ran_for) {
  if (interrupted) {
    // Server shutdown: the job runs again after the restart.
    job.set_state(v1::QUEUED);
    job.clear_progress();
    job.clear_started_at();
    job.clear_artifacts();
  } else {
    *job.mutable_finished_at() = CurrentTimestamp();
    if (cancelled_by_user) {
      job.set_state(v1::CANCELLED);
    } else if (result.ok()) {
      job.set_state(v1::SUCCEEDED);
      *job.mutable_report() = *result;
      job.mutable_progress()->set_fraction(1.0);
    } else {
      job.set_state(v1::FAILED);
      job.set_error(result.status().ToString());
    }
  }
  // Logged and counted before the store says so: whoever sees the final state
  // finds the line and the metrics.
  if (!interrupted && options_.observer != nullptr) options_.observer->JobFinished(job, ran_for);
  LogEvent("job_finished", {{"job", job.id()},
                            {"state", v1::JobState_Name(job.state())},
                            {"seconds", absl::StrFormat("%.3f", absl::ToDoubleSeconds(ran_for))}});
  if (absl::Status saved = store_->UpdateJob(job); !saved.ok()) {
    LogEvent("job_save_failed", {{"job", job.id()}, {"error", saved.ToString()}});
  }
  Bump();
}

}  // namespace crucible
