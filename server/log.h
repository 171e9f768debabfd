// Structured event logging: one line per event on stderr, logfmt style, so
// that `grep job=<id>` follows a job through the log.
//
//   LogEvent("job_started", {{"job", job.id()}, {"engine", job.engine()}});
//   // ts=2026-11-27T00:31:02.123Z event=job_started job=4f2a... engine=evaluate
#ifndef CRUCIBLE_SERVER_LOG_H_
#define CRUCIBLE_SERVER_LOG_H_

#include <string>
#include <utility>
#include <vector>

namespace crucible {

using LogFields = std::vector<std::pair<std::string, std::string>>;

// Thread-safe; values containing spaces, quotes or '=' are quoted.
void LogEvent(const std::string& event, const LogFields& fields = {});

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_LOG_H_
