#include "clients/cli/gate_policy.h"

#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/cli/engine_config.h"
#include "clients/cli/local_file.h"
#include "clients/cli/proto_json.h"
#include "engines/core/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace crucible {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Values of long repeated fields shown in value_text.
constexpr int kMaxShownElements = 16;

// The field of v1::Report each engine's report is in.
const std::map<std::string, std::string, std::less<>>& ReportFieldOfEngine() {
  static const auto* const fields = new std::map<std::string, std::string, std::less<>>{
      {"evaluate", "evaluation"}, {"fgsm", "attack"},   {"pgd", "attack"},
      {"cw", "attack"},           {"fooling", "fooling"}, {"verify", "verification"},
      {"dlv", "dlv"},             {"nap", "nap"},       {"backdoor", "backdoor"},
      {"unlearnable", "unlearnable"},
  };
  return *fields;
}

std::string Number(double value) { return absl::StrFormat("%.6g", value); }

bool IsNumeric(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_BOOL:
      return true;
    default:
      return false;
  }
}

double NumericValue(const Message& message, const FieldDescriptor& field) {
  const Reflection& reflection = *message.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return reflection.GetDouble(message, &field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return reflection.GetFloat(message, &field);
    case FieldDescriptor::CPPTYPE_INT32:
      return reflection.GetInt32(message, &field);
    case FieldDescriptor::CPPTYPE_INT64:
      return static_cast<double>(reflection.GetInt64(message, &field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return reflection.GetUInt32(message, &field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(reflection.GetUInt64(message, &field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return reflection.GetBool(message, &field) ? 1.0 : 0.0;
    default:
      return 0.0;
  }
}

// "2 [3, 7]" for scalar elements, "2 elements" for messages, "0" when empty.
std::string RepeatedText(const Message& message, const FieldDescriptor& field) {
  const Reflection& reflection = *message.GetReflection();
  const int size = reflection.FieldSize(message, &field);
  if (size == 0) return "0";
  std::vector<std::string> shown;
  for (int i = 0; i < size && i < kMaxShownElements; ++i) {
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_DOUBLE:
        shown.push_back(Number(reflection.GetRepeatedDouble(message, &field, i)));
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        shown.push_back(Number(reflection.GetRepeatedFloat(message, &field, i)));
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        shown.push_back(absl::StrCat(reflection.GetRepeatedInt32(message, &field, i)));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        shown.push_back(absl::StrCat(reflection.GetRepeatedInt64(message, &field, i)));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        shown.push_back(absl::StrCat("\"", reflection.GetRepeatedString(message, &field, i), "\""));
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        shown.push_back(reflection.GetRepeatedEnum(message, &field, i)->name());
        break;
      default:
        return absl::StrCat(size, size == 1 ? " element" : " elements");
    }
  }
  if (size > kMaxShownElements) shown.push_back("...");
  return absl::StrCat(size, " [", absl::StrJoin(shown, ", "), "]");
}

std::string FieldNames(const Descriptor& descriptor) {
  std::vector<std::string> names;
  for (int i = 0; i < descriptor.field_count(); ++i) names.push_back(descriptor.field(i)->name());
  return absl::StrJoin(names, ", ");
}

std::string EnumNames(const google::protobuf::EnumDescriptor& descriptor) {
  std::vector<std::string> names;
  for (int i = 0; i < descriptor.value_count(); ++i) names.push_back(descriptor.value(i)->name());
  return absl::StrJoin(names, ", ");
}

// Whether the bound set in `check` fits the kind of `metric`.
absl::Status CheckBound(const v1::GateCheck& check, const FieldDescriptor& metric, const std::string& where) {
  const bool has_range = check.has_min() || check.has_max();
  const bool has_equals = !check.equals().empty();
  if (!has_range && !check.has_max_count() && !has_equals) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": no bound: set min, max, max_count or equals"));
  }
  if (metric.is_repeated()) {
    if (has_range || has_equals || !check.has_max_count()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": metric '", metric.name(),
                                                     "' is a list; bound it with max_count only"));
    }
    if (check.max_count() < 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": max_count must be >= 0, not ", check.max_count()));
    }
    return absl::OkStatus();
  }
  if (metric.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    if (has_range || check.has_max_count() || !has_equals) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": metric '", metric.name(),
                                                     "' is an enum; bound it with equals only (one of ",
                                                     EnumNames(*metric.enum_type()), ")"));
    }
    if (metric.enum_type()->FindValueByName(check.equals()) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": equals '", check.equals(), "' is not a value of ",
                                                     metric.enum_type()->name(), " (",
                                                     EnumNames(*metric.enum_type()), ")"));
    }
    return absl::OkStatus();
  }
  if (IsNumeric(metric)) {
    if (check.has_max_count() || has_equals || !has_range) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": metric '", metric.name(),
                                                     "' is a number; bound it with min and/or max"));
    }
    if (check.has_min() && check.has_max() && check.min() > check.max()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": min ", Number(check.min()), " is above max ", Number(check.max())));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(where, ": metric '", metric.name(),
                                                 "' is neither a number, an enum nor a list"));
}

absl::StatusOr<PlannedCheck> PlanCheck(const v1::GateCheck& check, const std::string& policy_dir) {
  const std::string where = absl::StrCat("check '", check.name(), "'");
  PlannedCheck planned;
  planned.check = check;

  std::string config_json;
  if (check.has_config()) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(check.config(), &config_json, options).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": config cannot be read as JSON"));
    }
  }
  if (check.engine().empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": no engine"));
  absl::StatusOr<v1::JobSpec> spec = JobSpecForEngine(check.engine(), config_json);
  if (!spec.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", spec.status().message()));
  }
  planned.spec = *std::move(spec);
  planned.needs_dataset = !planned.spec.has_verify();

  if (!check.property_file().empty()) {
    if (!planned.spec.has_verify()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": property_file is only for engine verify"));
    }
    const std::filesystem::path path = std::filesystem::path(policy_dir) / check.property_file();
    absl::StatusOr<std::string> property = ReadWholeFile(path.string());
    if (!property.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": property_file: ", property.status().message()));
    }
    planned.spec.mutable_verify()->set_property(*std::move(property));
  }
  if (planned.spec.has_verify() && planned.spec.verify().property().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": engine verify needs property_file (or config.property)"));
  }

  const auto report_field_name = ReportFieldOfEngine().find(check.engine());
  if (report_field_name == ReportFieldOfEngine().end()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": no report kind is known for engine '",
                                                   check.engine(), "'"));
  }
  planned.report_field = v1::Report::descriptor()->FindFieldByName(report_field_name->second);
  if (planned.report_field == nullptr) {
    return absl::InternalError(absl::StrCat("crucible.v1.Report has no field '", report_field_name->second, "'"));
  }
  const Descriptor& report_type = *planned.report_field->message_type();
  if (check.metric().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": no metric (fields of ", report_type.full_name(), ": ", FieldNames(report_type), ")"));
  }
  planned.metric_field = report_type.FindFieldByName(check.metric());
  if (planned.metric_field == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": unknown metric '", check.metric(), "' for engine ",
                                                   check.engine(), " (fields of ", report_type.full_name(), ": ",
                                                   FieldNames(report_type), ")"));
  }
  RETURN_IF_ERROR(CheckBound(check, *planned.metric_field, where));
  return planned;
}

}  // namespace

absl::StatusOr<std::vector<PlannedCheck>> PlanGate(std::string_view policy_json, const std::string& policy_dir) {
  v1::GatePolicy policy;
  RETURN_IF_ERROR(ParseProtoJson(policy_json, &policy));
  if (policy.checks().empty()) return absl::InvalidArgumentError("the policy has no checks");
  std::vector<PlannedCheck> checks;
  std::set<std::string> names;
  for (int i = 0; i < policy.checks_size(); ++i) {
    const v1::GateCheck& check = policy.checks(i);
    if (check.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("checks[", i, "]: no name"));
    }
    if (!names.insert(check.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("checks[", i, "]: the name '", check.name(),
                                                     "' is used by an earlier check"));
    }
    ASSIGN_OR_RETURN(PlannedCheck planned, PlanCheck(check, policy_dir));
    checks.push_back(std::move(planned));
  }
  return checks;
}

std::string BoundText(const v1::GateCheck& check) {
  if (check.has_max_count()) {
    return absl::StrCat("<= ", check.max_count(), check.max_count() == 1 ? " element" : " elements");
  }
  if (!check.equals().empty()) return absl::StrCat("== ", check.equals());
  if (check.has_min() && check.has_max()) {
    return absl::StrCat("in [", Number(check.min()), ", ", Number(check.max()), "]");
  }
  if (check.has_min()) return absl::StrCat(">= ", Number(check.min()));
  if (check.has_max()) return absl::StrCat("<= ", Number(check.max()));
  return "none";
}

v1::GateCheckResult ErrorResult(const PlannedCheck& planned, std::string_view message) {
  v1::GateCheckResult result;
  result.set_name(planned.check.name());
  result.set_engine(planned.check.engine());
  result.set_metric(planned.check.metric());
  result.set_bound(BoundText(planned.check));
  result.set_outcome(v1::GATE_ERROR);
  result.set_message(std::string(message));
  return result;
}

v1::GateCheckResult JudgeReport(const PlannedCheck& planned, const v1::Report& report) {
  const v1::GateCheck& check = planned.check;
  const Reflection& report_reflection = *report.GetReflection();
  if (!report_reflection.HasField(report, planned.report_field)) {
    return ErrorResult(planned, absl::StrCat("the job's report is not the engine's ",
                                             planned.report_field->message_type()->full_name()));
  }
  const Message& engine_report = report_reflection.GetMessage(report, planned.report_field);
  const FieldDescriptor& metric = *planned.metric_field;
  const Reflection& reflection = *engine_report.GetReflection();

  v1::GateCheckResult result = ErrorResult(planned, "");
  bool passed = false;
  if (metric.is_repeated()) {
    const int count = reflection.FieldSize(engine_report, &metric);
    result.set_value(count);
    result.set_value_text(RepeatedText(engine_report, metric));
    passed = count <= check.max_count();
  } else if (metric.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    const std::string& name = reflection.GetEnum(engine_report, &metric)->name();
    result.set_value_text(name);
    passed = name == check.equals();
  } else {
    const double value = NumericValue(engine_report, metric);
    result.set_value(value);
    result.set_value_text(Number(value));
    // NaN fails both bounds.
    passed = (!check.has_min() || value >= check.min()) && (!check.has_max() || value <= check.max());
  }
  result.set_outcome(passed ? v1::GATE_PASSED : v1::GATE_FAILED);
  if (!passed) {
    result.set_message(absl::StrCat(check.metric(), " = ", result.value_text(), ", required ", result.bound()));
  }
  return result;
}

}  // namespace crucible
