// The job spec for `crucible run --engine E --config C.json`: the engine name
// selects the field of JobSpec's `config` oneof with that name (the JobSpec
// descriptor is the list of engines), and C.json is the protobuf JSON of that
// field's message (EvaluateConfig for "evaluate", PgdConfig for "pgd", ...).
//
//   ASSIGN_OR_RETURN(v1::JobSpec spec, JobSpecForEngine("pgd", R"({"epsilon": 0.03})"));
//   spec.set_model_id(model.id());
#ifndef CRUCIBLE_CLIENTS_CLI_ENGINE_CONFIG_H_
#define CRUCIBLE_CLIENTS_CLI_ENGINE_CONFIG_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crucible/v1/jobs.pb.h"

namespace crucible {

// The engine names JobSpec can select, in field-number order.
std::vector<std::string> EngineNames();

// A JobSpec whose config is engine `engine` parsed from `config_json`; an
// empty `config_json` selects the engine with its default config. Model and
// dataset ids are left unset.
// Errors: a usage error "unknown engine 'X' (engines: ...)"; INVALID_ARGUMENT
// "not valid JSON of crucible.v1.XConfig: <reason>" for a malformed config.
absl::StatusOr<v1::JobSpec> JobSpecForEngine(const std::string& engine, std::string_view config_json);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_ENGINE_CONFIG_H_
