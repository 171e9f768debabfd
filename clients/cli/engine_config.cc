#include "clients/cli/engine_config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/cli/cli_errors.h"
#include "clients/cli/proto_json.h"
#include "google/protobuf/descriptor.h"

namespace crucible {
namespace {

const google::protobuf::OneofDescriptor& ConfigOneof() {
  return *v1::JobSpec::descriptor()->FindOneofByName("config");
}

}  // namespace

std::vector<std::string> EngineNames() {
  const google::protobuf::OneofDescriptor& oneof = ConfigOneof();
  std::vector<std::string> names;
  for (int i = 0; i < oneof.field_count(); ++i) names.push_back(oneof.field(i)->name());
  return names;
}

absl::StatusOr<v1::JobSpec> JobSpecForEngine(const std::string& engine, std::string_view config_json) {
  const google::protobuf::FieldDescriptor* field =
      v1::JobSpec::descriptor()->FindFieldByName(engine);
  if (field == nullptr || field->containing_oneof() != &ConfigOneof()) {
    return UsageError(absl::StrCat("unknown engine '", engine, "' (engines: ",
                                   absl::StrJoin(EngineNames(), ", "), ")"));
  }
  v1::JobSpec spec;
  google::protobuf::Message* config = spec.GetReflection()->MutableMessage(&spec, field);
  if (!config_json.empty()) {
    absl::Status status = ParseProtoJson(config_json, config);
    if (!status.ok()) return status;
  }
  return spec;
}

}  // namespace crucible
