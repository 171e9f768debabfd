// JobObserver: what the JobManager tells about job lifecycle events (the
// metrics count them), kept apart from the JobManager so observers need not
// depend on it.
//
//   class Counter final : public JobObserver { ... };
//   JobManager jobs(..., {.observer = &counter});
#ifndef CRUCIBLE_SERVER_JOB_OBSERVER_H_
#define CRUCIBLE_SERVER_JOB_OBSERVER_H_

#include "absl/time/time.h"
#include "crucible/v1/jobs.pb.h"

namespace crucible {

// Told about job lifecycle events (metrics), on the submitting or worker
// thread, possibly under the JobManager's lock: implementations must be
// thread-safe and must not call back into the JobManager.
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  // A new job was queued (not called for a retried request_id).
  virtual void JobSubmitted(const v1::Job& job) = 0;
  // The job reached SUCCEEDED, FAILED or CANCELLED; `ran_for` is how long an
  // engine ran it (zero when it was cancelled while queued).
  virtual void JobFinished(const v1::Job& job, absl::Duration ran_for) = 0;
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_JOB_OBSERVER_H_
