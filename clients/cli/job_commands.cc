// `crucible job ...` and `crucible artifact download`.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/cli/cli_errors.h"
#include "clients/cli/commands.h"
#include "clients/cli/engine_config.h"
#include "clients/cli/local_file.h"
#include "clients/cli/printing.h"
#include "clients/cli/proto_json.h"
#include "clients/cli/report_printing.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

absl::StatusOr<v1::JobState> StateOption(const std::string& text) {
  v1::JobState state;
  if (v1::JobState_Parse(absl::AsciiStrToUpper(text), &state) && state != v1::JOB_STATE_UNSPECIFIED) {
    return state;
  }
  std::vector<std::string> names;
  for (int s = v1::JobState_MIN; s <= v1::JobState_MAX; ++s) {
    if (v1::JobState_IsValid(s) && s != v1::JOB_STATE_UNSPECIFIED) {
      names.push_back(v1::JobState_Name(static_cast<v1::JobState>(s)));
    }
  }
  return UsageError(absl::StrCat("unknown job state '", text, "' (states: ", absl::StrJoin(names, ", "), ")"));
}

absl::Status CheckEngineName(const std::string& engine) {
  const std::vector<std::string> engines = EngineNames();
  if (std::find(engines.begin(), engines.end(), engine) != engines.end()) return absl::OkStatus();
  return UsageError(absl::StrCat("unknown engine '", engine, "' (engines: ", absl::StrJoin(engines, ", "), ")"));
}

// Writes the downloaded bytes to `path` through a temporary file that is
// renamed into place only once the whole artifact arrived.
absl::Status DownloadToFile(AuditorClient& client, const std::string& job_id, const std::string& name,
                            const std::string& path, int64_t* bytes) {
  const std::string partial = absl::StrCat(path, ".part");
  std::FILE* file = std::fopen(partial.c_str(), "wb");
  if (file == nullptr) return FileError(errno, "create", partial);
  absl::Status write_status;
  absl::Status status = client.DownloadArtifact(job_id, name, [&](std::string_view chunk) {
    if (std::fwrite(chunk.data(), 1, chunk.size(), file) != chunk.size()) {
      write_status = FileError(errno, "write", partial);
      return false;
    }
    *bytes += static_cast<int64_t>(chunk.size());
    return true;
  });
  if (std::fclose(file) != 0 && write_status.ok()) write_status = FileError(errno, "write", partial);
  if (write_status.ok() && status.ok() && std::rename(partial.c_str(), path.c_str()) != 0) {
    write_status = FileError(errno, "rename to", path);
  }
  if (write_status.ok() && status.ok()) return absl::OkStatus();
  std::remove(partial.c_str());
  return write_status.ok() ? status : write_status;
}

}  // namespace

absl::StatusOr<int> JobSubmit(const ParsedCommand& command, CommandEnv& env) {
  const std::string& path = command.operands()[0];
  ASSIGN_OR_RETURN(std::string json, ReadWholeFile(path));
  v1::SubmitJobRequest request;
  if (absl::Status status = ParseProtoJson(json, &request); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  }
  ASSIGN_OR_RETURN(v1::Job job, env.client.SubmitJob(request));
  if (command.has("--watch")) {
    std::fprintf(env.err, "submitted job %s\n", job.id().c_str());
    return FollowJob(env, command, job.id());
  }
  RETURN_IF_ERROR(PrintResult(env, command, job, FormatJob(job)));
  return kExitOk;
}

absl::StatusOr<int> JobGet(const ParsedCommand& command, CommandEnv& env) {
  ASSIGN_OR_RETURN(v1::Job job, env.client.GetJob(command.operands()[0]));
  RETURN_IF_ERROR(PrintResult(env, command, job, FormatJob(job)));
  return kExitOk;
}

absl::StatusOr<int> JobList(const ParsedCommand& command, CommandEnv& env) {
  v1::ListJobsRequest request;
  ASSIGN_OR_RETURN(int page_size, PageSizeOption(command));
  request.set_page_size(page_size);
  request.set_page_token(command.value("--page-token").value_or(""));
  if (const std::optional<std::string> state = command.value("--state")) {
    ASSIGN_OR_RETURN(v1::JobState parsed, StateOption(*state));
    request.set_state(parsed);
  }
  if (const std::optional<std::string> engine = command.value("--engine")) {
    RETURN_IF_ERROR(CheckEngineName(*engine));
    request.set_engine(*engine);
  }
  request.set_model_id(command.value("--model").value_or(""));
  ASSIGN_OR_RETURN(v1::ListJobsResponse response, env.client.ListJobs(request));
  while (command.has("--all") && !response.next_page_token().empty()) {
    if (response.next_page_token() == request.page_token()) {
      return absl::InternalError("the server returned the same page token twice");
    }
    request.set_page_token(response.next_page_token());
    ASSIGN_OR_RETURN(v1::ListJobsResponse page, env.client.ListJobs(request));
    for (v1::Job& job : *page.mutable_jobs()) *response.add_jobs() = std::move(job);
    response.set_next_page_token(page.next_page_token());
  }
  RETURN_IF_ERROR(PrintResult(env, command, response, FormatJobTable(response.jobs())));
  if (!command.has("--json") && !response.next_page_token().empty()) {
    std::fprintf(env.err, "more jobs: --page-token %s (or --all)\n", response.next_page_token().c_str());
  }
  return kExitOk;
}

absl::StatusOr<int> JobWatch(const ParsedCommand& command, CommandEnv& env) {
  return FollowJob(env, command, command.operands()[0]);
}

absl::StatusOr<int> JobCancel(const ParsedCommand& command, CommandEnv& env) {
  ASSIGN_OR_RETURN(v1::Job job, env.client.CancelJob(command.operands()[0]));
  RETURN_IF_ERROR(PrintResult(env, command, job, FormatJob(job)));
  return kExitOk;
}

absl::StatusOr<int> JobReport(const ParsedCommand& command, CommandEnv& env) {
  ASSIGN_OR_RETURN(v1::Report report, env.client.GetReport(command.operands()[0]));
  RETURN_IF_ERROR(PrintResult(env, command, report, FormatReport(report)));
  return kExitOk;
}

absl::StatusOr<int> ArtifactDownload(const ParsedCommand& command, CommandEnv& env) {
  const std::string& job_id = command.operands()[0];
  const std::string& name = command.operands()[1];
  std::string path = command.value("--output").value_or("");
  if (path.empty()) {
    // Only the last component of the name: an artifact never writes outside the current directory.
    path = std::filesystem::path(name).filename().string();
    if (path.empty() || path == "." || path == "..") {
      return UsageError(absl::StrCat("cannot name a file after artifact '", name, "': give -o FILE"));
    }
  }
  if (path == "-") {
    RETURN_IF_ERROR(env.client.DownloadArtifact(job_id, name, [&](std::string_view chunk) {
      return std::fwrite(chunk.data(), 1, chunk.size(), env.out) == chunk.size();
    }));
    return kExitOk;
  }
  int64_t bytes = 0;
  RETURN_IF_ERROR(DownloadToFile(env.client, job_id, name, path, &bytes));
  std::fprintf(env.err, "saved %s (%lld bytes) to %s\n", name.c_str(), static_cast<long long>(bytes),
               path.c_str());
  return kExitOk;
}

}  // namespace crucible
