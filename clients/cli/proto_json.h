// The protobuf JSON mapping as the `crucible` command reads and writes it:
// proto field names (snake_case), default-valued fields printed, unknown
// fields rejected.
//
//   v1::SubmitJobRequest request;
//   RETURN_IF_ERROR(ParseProtoJson(text, &request));
//   ASSIGN_OR_RETURN(std::string json, ProtoToJson(job));  // ends with a newline
#ifndef CRUCIBLE_CLIENTS_CLI_PROTO_JSON_H_
#define CRUCIBLE_CLIENTS_CLI_PROTO_JSON_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace crucible {

// Replaces *message with the message `json` encodes. INVALID_ARGUMENT naming
// the message type and the parser's reason when `json` is not valid JSON of it.
absl::Status ParseProtoJson(std::string_view json, google::protobuf::Message* message);

// Indented JSON of `message`, newline-terminated.
absl::StatusOr<std::string> ProtoToJson(const google::protobuf::Message& message);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_PROTO_JSON_H_
