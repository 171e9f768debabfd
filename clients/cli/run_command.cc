// `crucible run`: build the job spec locally (so that a bad engine name or
// config fails before anything is uploaded), upload the model unless the
// server has it, upload the dataset, submit, and follow the job to its end.
#include <cstdio>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cli/cli_errors.h"
#include "clients/cli/commands.h"
#include "clients/cli/engine_config.h"
#include "clients/cli/local_file.h"
#include "clients/cli/proto_json.h"
#include "clients/cli/upload.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

// The spec from --engine, --config, --property and --naps, without model and dataset.
absl::StatusOr<v1::JobSpec> SpecFromOptions(const ParsedCommand& command) {
  const std::string engine = *command.value("--engine");
  std::string config_json;
  const std::optional<std::string> config_path = command.value("--config");
  if (config_path.has_value()) {
    ASSIGN_OR_RETURN(config_json, ReadWholeFile(*config_path));
  }
  absl::StatusOr<v1::JobSpec> spec = JobSpecForEngine(engine, config_json);
  if (!spec.ok()) {
    if (IsUsageError(spec.status())) return spec.status();
    return absl::Status(spec.status().code(), absl::StrCat(*config_path, ": ", spec.status().message()));
  }

  if (const std::optional<std::string> property_path = command.value("--property")) {
    if (!spec->has_verify()) return UsageError("--property is only for --engine verify");
    ASSIGN_OR_RETURN(*spec->mutable_verify()->mutable_property(), ReadWholeFile(*property_path));
  }
  if (spec->has_verify() && spec->verify().property().empty()) {
    return UsageError("--engine verify needs --property P.vnnlib");
  }
  if (const std::optional<std::string> naps_path = command.value("--naps")) {
    if (!spec->has_nap()) return UsageError("--naps is only for --engine nap");
    ASSIGN_OR_RETURN(const std::string naps, ReadWholeFile(*naps_path));
    if (absl::Status parsed = ParseProtoJson(naps, spec->mutable_nap()->mutable_patterns()); !parsed.ok()) {
      return absl::Status(parsed.code(), absl::StrCat(*naps_path, ": ", parsed.message()));
    }
  }
  // verify reads its property, fooling needs no data, nap with --naps can verify without data;
  // every other engine audits a dataset.
  if (!spec->has_verify() && !spec->has_fooling() && !command.has("--naps") && !command.has("--inputs")) {
    return UsageError(absl::StrCat("--engine ", engine, " needs --inputs X.npy"));
  }
  if (command.has("--labels") && !command.has("--inputs")) return UsageError("--labels needs --inputs");
  return spec;
}

}  // namespace

absl::StatusOr<int> RunAudit(const ParsedCommand& command, CommandEnv& env) {
  ASSIGN_OR_RETURN(v1::JobSpec spec, SpecFromOptions(command));

  ASSIGN_OR_RETURN(UploadedModel model, UploadModelFile(env.client, *command.value("--model"), ""));
  std::fprintf(env.err, "%s model %s\n", model.already_stored ? "using stored" : "uploaded",
               model.model.id().c_str());
  spec.set_model_id(model.model.id());

  if (const std::optional<std::string> inputs = command.value("--inputs")) {
    ASSIGN_OR_RETURN(v1::Dataset dataset, UploadDatasetFiles(env.client, *inputs,
                                                             command.value("--labels").value_or(""), ""));
    std::fprintf(env.err, "uploaded dataset %s (%lld examples)\n", dataset.id().c_str(),
                 static_cast<long long>(dataset.num_examples()));
    spec.set_dataset_id(dataset.id());
  }

  v1::SubmitJobRequest request;
  *request.mutable_spec() = std::move(spec);
  ASSIGN_OR_RETURN(v1::Job job, env.client.SubmitJob(request));
  std::fprintf(env.err, "submitted job %s\n", job.id().c_str());
  return FollowJob(env, command, job.id());
}

}  // namespace crucible
