#include "server/log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace crucible {
namespace {

std::string Quoted(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \"=\n\t") == std::string::npos) return value;
  return absl::StrCat("\"", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}}), "\"");
}

}  // namespace

void LogEvent(const std::string& event, const LogFields& fields) {
  std::string line = absl::StrCat("ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                                  " event=", event);
  for (const auto& [key, value] : fields) absl::StrAppend(&line, " ", key, "=", Quoted(value));
  line += "\n";
  std::fputs(line.c_str(), stderr);  // One write per line: lines from threads do not interleave.
}

}  // namespace crucible
