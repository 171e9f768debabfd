#include "clients/cli/commands.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/cli_errors.h"
#include "clients/cli/printing.h"
#include "clients/cli/progress_bar.h"
#include "clients/cli/proto_json.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr int kMaxPageSize = 1000;

using Verb = absl::StatusOr<int> (*)(const ParsedCommand&, CommandEnv&);

const std::map<std::string, Verb>& Verbs() {
  static const auto* const verbs = new std::map<std::string, Verb>{
      {"run", RunAudit},
      {"gate", GateAudit},
      {"model upload", ModelUpload},
      {"model list", ModelList},
      {"model get", ModelGet},
      {"model delete", ModelDelete},
      {"dataset upload", DatasetUpload},
      {"dataset get", DatasetGet},
      {"job submit", JobSubmit},
      {"job get", JobGet},
      {"job list", JobList},
      {"job watch", JobWatch},
      {"job cancel", JobCancel},
      {"job report", JobReport},
      {"artifact download", ArtifactDownload},
  };
  return *verbs;
}

bool IsTerminal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

}  // namespace

absl::StatusOr<int> RunCommand(const ParsedCommand& command, CommandEnv& env) {
  const std::string name = command.spec()->Name();
  auto verb = Verbs().find(name);
  if (verb == Verbs().end()) return absl::InternalError(absl::StrCat("no implementation of '", name, "'"));
  return verb->second(command, env);
}

absl::Status PrintResult(const CommandEnv& env, const ParsedCommand& command,
                         const google::protobuf::Message& message, const std::string& human_text) {
  if (command.has("--json")) {
    ASSIGN_OR_RETURN(std::string json, ProtoToJson(message));
    std::fputs(json.c_str(), env.out);
  } else {
    std::fputs(human_text.c_str(), env.out);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PageSizeOption(const ParsedCommand& command) {
  std::optional<std::string> text = command.value("--page-size");
  if (!text.has_value()) return 0;
  int size = 0;
  if (!absl::SimpleAtoi(*text, &size) || size < 1 || size > kMaxPageSize) {
    return UsageError(absl::StrCat("--page-size must be a number from 1 to ", kMaxPageSize, ", not '",
                                   *text, "'"));
  }
  return size;
}

absl::StatusOr<int> FollowJob(CommandEnv& env, const ParsedCommand& command, const std::string& id) {
  ProgressBar bar(env.err, env.err_is_terminal, env.err_width);
  absl::StatusOr<v1::Job> last = env.client.WatchJob(id, [&bar](const v1::Job& job) { bar.Update(job); });
  bar.Finish();
  if (!last.ok()) return last.status();
  if (!IsTerminal(last->state())) {
    return absl::UnavailableError(absl::StrCat("the watch of job '", id, "' ended while it was ",
                                               v1::JobState_Name(last->state())));
  }
  ASSIGN_OR_RETURN(v1::Job job, env.client.GetJob(id));
  RETURN_IF_ERROR(PrintResult(env, command, job, FormatJob(job)));
  return job.state() == v1::SUCCEEDED ? kExitOk : kExitJobUnsuccessful;
}

}  // namespace crucible
