// HTML building blocks for the dashboard: escaping of everything a user or an
// engine supplied, and the formats numbers and times are shown in.
//
// Every string that did not come from the dashboard's own source goes through
// HtmlEscape before it is written into a page (text or attribute value).
//
//   absl::StrAppend(&html, "<td>", HtmlEscape(model.name()), "</td>");
#ifndef CRUCIBLE_SERVER_HTTP_HTML_H_
#define CRUCIBLE_SERVER_HTTP_HTML_H_

#include <string>
#include <string_view>

#include "google/protobuf/timestamp.pb.h"

namespace crucible {

// Escapes & < > " ' so the result is inert as element text and inside a
// quoted attribute value.
std::string HtmlEscape(std::string_view text);

// Percent-encodes everything but unreserved characters (RFC 3986), for a
// path segment or query value.
std::string UrlEncode(std::string_view text);

// "87.40%".
std::string Percent(double fraction);
// "1.5 MiB".
std::string ByteSize(int64_t bytes);
// "2026-11-27 02:35:16 UTC"; "" when unset.
std::string TimeText(const google::protobuf::Timestamp& time);
// "1m 05s", "3.2 s"; for seconds >= 0.
std::string DurationText(double seconds);

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_HTTP_HTML_H_
