// The one place where absl::Status becomes grpc::Status (the codes match one
// to one), used by every handler at the service edge.
#ifndef CRUCIBLE_SERVER_GRPC_STATUS_H_
#define CRUCIBLE_SERVER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace crucible {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_GRPC_STATUS_H_
