// Human-readable forms of the service's resources for the `crucible`
// command: one model, dataset or job as aligned "field  value" lines, and
// lists as tables. A job's form includes its artifacts and report
// (report_printing.h). The JSON forms are proto_json.h.
//
//   std::fputs(FormatJob(job).c_str(), stdout);
//   std::fputs(FormatModelTable(response.models()).c_str(), stdout);
#ifndef CRUCIBLE_CLIENTS_CLI_PRINTING_H_
#define CRUCIBLE_CLIENTS_CLI_PRINTING_H_

#include <string>

#include "crucible/v1/jobs.pb.h"
#include "crucible/v1/resources.pb.h"
#include "google/protobuf/repeated_field.h"

namespace crucible {

std::string FormatModel(const v1::Model& model);
// ID, NAME, INPUT, CLASSES, OPSET, SIZE, CREATED; "no models" when empty.
std::string FormatModelTable(const google::protobuf::RepeatedPtrField<v1::Model>& models);

std::string FormatDataset(const v1::Dataset& dataset);

// Fields, then the error (FAILED), artifacts and report when present.
std::string FormatJob(const v1::Job& job);
// ID, ENGINE, STATE, PROGRESS, MODEL (first 12 digits), CREATED; "no jobs" when empty.
std::string FormatJobTable(const google::protobuf::RepeatedPtrField<v1::Job>& jobs);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_PRINTING_H_
