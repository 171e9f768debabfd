// ReportHtml: a job's report rendered for a person, one <section> per part:
// headline numbers, the robustness curve, per-class bars, the confusion
// matrix heat map, verification results with their counterexample, and the
// tables of the fooling, NAP, DLV, backdoor and unlearnable reports. Artifacts
// (pictures and downloads) are the page's business, not the report's.
// Everything textual is HTML-escaped.
//
//   html += ReportHtml(job.report());
#ifndef CRUCIBLE_SERVER_HTTP_REPORT_HTML_H_
#define CRUCIBLE_SERVER_HTTP_REPORT_HTML_H_

#include <string>

#include "crucible/v1/jobs.pb.h"

namespace crucible {

std::string ReportHtml(const v1::Report& report);

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_HTTP_REPORT_HTML_H_
