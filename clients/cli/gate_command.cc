// `crucible gate`: run the checks of a GatePolicy as jobs on one model (and
// dataset) and judge each report against its bound. A bad policy is rejected
// before anything is uploaded; all jobs are submitted before the first is
// waited for, so the server's workers run them side by side. A check whose job
// cannot be submitted, FAILED or was CANCELLED is an error (exit 2); otherwise
// any bound violated exits 1.
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cli/cli_errors.h"
#include "clients/cli/commands.h"
#include "clients/cli/gate_policy.h"
#include "clients/cli/gate_reports.h"
#include "clients/cli/local_file.h"
#include "clients/cli/progress_bar.h"
#include "clients/cli/proto_json.h"
#include "clients/cli/upload.h"
#include "engines/core/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace crucible {
namespace {

using google::protobuf::util::TimeUtil;

absl::Status WriteWholeFile(const std::string& path, const std::string& contents) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return FileError(errno, "create", path);
  const bool written = std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  const int write_errno = errno;
  if (std::fclose(file) != 0 || !written) return FileError(written ? errno : write_errno, "write", path);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PlannedCheck>> LoadPolicy(const std::string& path) {
  ASSIGN_OR_RETURN(std::string json, ReadWholeFile(path));
  absl::StatusOr<std::vector<PlannedCheck>> checks =
      PlanGate(json, std::filesystem::path(path).parent_path().string());
  if (!checks.ok()) {
    return absl::Status(checks.status().code(), absl::StrCat(path, ": ", checks.status().message()));
  }
  return checks;
}

// "CODE: message", for a status that belongs to one check.
std::string StatusText(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

double JobSeconds(const v1::Job& job) {
  if (!job.has_created_at() || !job.has_finished_at()) return 0;
  return static_cast<double>(TimeUtil::DurationToMilliseconds(job.finished_at() - job.created_at())) / 1000.0;
}

// Follows job `id` to its end and judges it.
v1::GateCheckResult WaitAndJudge(CommandEnv& env, const PlannedCheck& planned, const std::string& id) {
  std::fprintf(env.err, "check '%s': waiting for job %s\n", planned.check.name().c_str(), id.c_str());
  ProgressBar bar(env.err, env.err_is_terminal, env.err_width);
  absl::StatusOr<v1::Job> watched = env.client.WatchJob(id, [&bar](const v1::Job& job) { bar.Update(job); });
  bar.Finish();
  absl::StatusOr<v1::Job> job = watched.ok() ? env.client.GetJob(id) : watched.status();
  v1::GateCheckResult result;
  if (!job.ok()) {
    result = ErrorResult(planned, absl::StrCat("job ", id, ": ", StatusText(job.status())));
  } else if (job->state() == v1::SUCCEEDED) {
    result = JudgeReport(planned, job->report());
  } else if (job->state() == v1::FAILED || job->state() == v1::CANCELLED) {
    result = ErrorResult(planned, absl::StrCat("job ", id, " ", v1::JobState_Name(job->state()),
                                               job->error().empty() ? "" : ": ", job->error()));
  } else {
    result = ErrorResult(planned, absl::StrCat("the watch of job ", id, " ended while it was ",
                                               v1::JobState_Name(job->state())));
  }
  result.set_job_id(id);
  if (job.ok()) result.set_seconds(JobSeconds(*job));
  return result;
}

}  // namespace

absl::StatusOr<int> GateAudit(const ParsedCommand& command, CommandEnv& env) {
  ASSIGN_OR_RETURN(std::vector<PlannedCheck> checks, LoadPolicy(*command.value("--policy")));
  const std::optional<std::string> inputs = command.value("--inputs");
  if (command.has("--labels") && !inputs.has_value()) return UsageError("--labels needs --inputs");
  for (const PlannedCheck& planned : checks) {
    if (planned.needs_dataset && !inputs.has_value()) {
      return UsageError(absl::StrCat("check '", planned.check.name(), "' (engine ", planned.check.engine(),
                                     ") needs --inputs X.npy"));
    }
  }

  ASSIGN_OR_RETURN(UploadedModel model, UploadModelFile(env.client, *command.value("--model"), ""));
  std::fprintf(env.err, "%s model %s\n", model.already_stored ? "using stored" : "uploaded", model.model.id().c_str());
  std::string dataset_id;
  if (inputs.has_value()) {
    ASSIGN_OR_RETURN(v1::Dataset dataset,
                     UploadDatasetFiles(env.client, *inputs, command.value("--labels").value_or(""), ""));
    std::fprintf(env.err, "uploaded dataset %s (%lld examples)\n", dataset.id().c_str(),
                 static_cast<long long>(dataset.num_examples()));
    dataset_id = dataset.id();
  }

  std::vector<absl::StatusOr<v1::Job>> submitted;
  for (const PlannedCheck& planned : checks) {
    v1::SubmitJobRequest request;
    *request.mutable_spec() = planned.spec;
    request.mutable_spec()->set_model_id(model.model.id());
    if (planned.needs_dataset) request.mutable_spec()->set_dataset_id(dataset_id);
    submitted.push_back(env.client.SubmitJob(request));
    if (submitted.back().ok()) {
      std::fprintf(env.err, "check '%s': submitted job %s\n", planned.check.name().c_str(),
                   submitted.back()->id().c_str());
    }
  }

  std::vector<v1::GateCheckResult> results;
  for (size_t i = 0; i < checks.size(); ++i) {
    if (!submitted[i].ok()) {
      results.push_back(
          ErrorResult(checks[i], absl::StrCat("submit: ", StatusText(submitted[i].status()))));
    } else {
      results.push_back(WaitAndJudge(env, checks[i], submitted[i]->id()));
    }
  }

  v1::GateSummary summary = SummarizeGate(std::move(results));
  summary.set_model_id(model.model.id());
  summary.set_dataset_id(dataset_id);
  std::fputs(GateTable(summary).c_str(), env.out);
  if (const std::optional<std::string> path = command.value("--junit")) {
    RETURN_IF_ERROR(WriteWholeFile(*path, GateJUnitXml(summary)));
  }
  if (const std::optional<std::string> path = command.value("--json")) {
    ASSIGN_OR_RETURN(std::string json, ProtoToJson(summary));
    RETURN_IF_ERROR(WriteWholeFile(*path, json));
  }
  if (const std::optional<std::string> path = command.value("--markdown")) {
    RETURN_IF_ERROR(WriteWholeFile(*path, GateMarkdown(summary)));
  }
  return summary.exit_code();
}

}  // namespace crucible
