// CurrentTimestamp: now, as a protobuf Timestamp with the system clock's
// sub-second resolution, for job and model records. protobuf's own
// TimeUtil::GetCurrentTime is time(nullptr) with nanos 0: whole seconds, read
// from a coarse clock that can lag real time by a tick.
#ifndef CRUCIBLE_SERVER_CURRENT_TIMESTAMP_H_
#define CRUCIBLE_SERVER_CURRENT_TIMESTAMP_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace crucible {

inline google::protobuf::Timestamp CurrentTimestamp() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(absl::Now()));
}

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_CURRENT_TIMESTAMP_H_
