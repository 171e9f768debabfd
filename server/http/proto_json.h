// ProtoJson: the protobuf JSON mapping the HTTP API answers in — the same
// options as the `crucible` command's --json (clients/cli/proto_json.h):
// proto field names (snake_case) and default-valued fields printed, so a
// robust accuracy of 0 or an empty list is present rather than missing.
//
//   res.set_content(ProtoJson(job), "application/json");
#ifndef CRUCIBLE_SERVER_HTTP_PROTO_JSON_H_
#define CRUCIBLE_SERVER_HTTP_PROTO_JSON_H_

#include <string>

#include "google/protobuf/message.h"

namespace crucible {

// Indented, newline-terminated JSON of `message`.
std::string ProtoJson(const google::protobuf::Message& message);

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_HTTP_PROTO_JSON_H_
