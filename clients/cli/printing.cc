#include "clients/cli/printing.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "clients/cli/report_printing.h"
#include "clients/cli/text_table.h"
#include "clients/cli/value_format.h"

namespace crucible {
namespace {

constexpr size_t kShortIdLength = 12;

std::string ShortId(const std::string& id) { return id.substr(0, kShortIdLength); }

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

std::string OrDash(const std::string& value) { return value.empty() ? "-" : value; }

}  // namespace

std::string FormatModel(const v1::Model& model) {
  TextTable fields({});
  fields.AddRow({"id", model.id()});
  fields.AddRow({"name", OrDash(model.name())});
  fields.AddRow({"input shape", FormatShape(model.input_shape())});
  fields.AddRow({"classes", absl::StrCat(model.num_classes())});
  fields.AddRow({"opset", absl::StrCat(model.opset())});
  fields.AddRow({"size", FormatBytes(model.size_bytes())});
  fields.AddRow({"created", FormatTimestamp(model.created_at())});
  return fields.Render();
}

std::string FormatModelTable(const google::protobuf::RepeatedPtrField<v1::Model>& models) {
  if (models.empty()) return "no models\n";
  TextTable table({"ID", "NAME", "INPUT", "CLASSES", "OPSET", "SIZE", "CREATED"});
  table.AlignRight(3);
  table.AlignRight(4);
  table.AlignRight(5);
  for (const v1::Model& model : models) {
    table.AddRow({model.id(), OrDash(model.name()), FormatShape(model.input_shape()),
                  absl::StrCat(model.num_classes()), absl::StrCat(model.opset()),
                  FormatBytes(model.size_bytes()), FormatTimestamp(model.created_at())});
  }
  return table.Render();
}

std::string FormatDataset(const v1::Dataset& dataset) {
  TextTable fields({});
  fields.AddRow({"id", dataset.id()});
  fields.AddRow({"name", OrDash(dataset.name())});
  fields.AddRow({"examples", absl::StrCat(dataset.num_examples())});
  fields.AddRow({"example shape", FormatShape(dataset.example_shape())});
  fields.AddRow({"dtype", OrDash(dataset.dtype())});
  fields.AddRow({"labels", dataset.has_labels() ? "yes" : "no"});
  fields.AddRow({"size", FormatBytes(dataset.size_bytes())});
  fields.AddRow({"inputs sha256", OrDash(dataset.inputs_sha256())});
  if (dataset.has_labels()) fields.AddRow({"labels sha256", OrDash(dataset.labels_sha256())});
  fields.AddRow({"created", FormatTimestamp(dataset.created_at())});
  return fields.Render();
}

std::string FormatJob(const v1::Job& job) {
  TextTable fields({});
  fields.AddRow({"job", job.id()});
  fields.AddRow({"engine", OrDash(job.engine())});
  fields.AddRow({"state", v1::JobState_Name(job.state())});
  fields.AddRow({"progress", FormatProgress(job.progress())});
  fields.AddRow({"model", OrDash(job.spec().model_id())});
  fields.AddRow({"dataset", OrDash(job.spec().dataset_id())});
  if (!job.request_id().empty()) fields.AddRow({"request id", job.request_id()});
  fields.AddRow({"created", FormatTimestamp(job.created_at())});
  fields.AddRow({"started", FormatTimestamp(job.started_at())});
  std::string finished = FormatTimestamp(job.finished_at());
  if (job.has_started_at() && job.has_finished_at()) {
    const double seconds = absl::ToDoubleSeconds(ToTime(job.finished_at()) - ToTime(job.started_at()));
    absl::StrAppend(&finished, absl::StrFormat(" (ran %.1f s)", seconds));
  }
  fields.AddRow({"finished", finished});
  if (!job.error().empty()) fields.AddRow({"error", job.error()});
  std::string text = fields.Render();

  if (job.artifacts_size() > 0) {
    TextTable artifacts({"NAME", "TYPE", "SIZE", "SHA256"});
    artifacts.AlignRight(2);
    for (const v1::Artifact& artifact : job.artifacts()) {
      artifacts.AddRow({artifact.name(), OrDash(artifact.media_type()), FormatBytes(artifact.size_bytes()),
                        OrDash(artifact.sha256())});
    }
    absl::StrAppend(&text, "artifacts:\n", artifacts.Render("  "));
  }
  if (job.has_report()) absl::StrAppend(&text, "report:\n", Indent(FormatReport(job.report()), "  "));
  return text;
}

std::string FormatJobTable(const google::protobuf::RepeatedPtrField<v1::Job>& jobs) {
  if (jobs.empty()) return "no jobs\n";
  TextTable table({"ID", "ENGINE", "STATE", "PROGRESS", "MODEL", "CREATED"});
  for (const v1::Job& job : jobs) {
    table.AddRow({job.id(), OrDash(job.engine()), v1::JobState_Name(job.state()),
                  absl::StrFormat("%.0f%%", std::floor(100.0 * ClampFraction(job.progress().fraction()))),
                  OrDash(ShortId(job.spec().model_id())),
                  FormatTimestamp(job.created_at())});
  }
  return table.Render();
}

}  // namespace crucible
