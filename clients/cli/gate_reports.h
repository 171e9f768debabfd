// What `crucible gate` writes about its checks: the summary (counts and exit
// code), the table printed on stdout, JUnit XML for CI test reporters, and
// Markdown for pull-request comments. The JSON summary is the protobuf JSON of
// v1::GateSummary (proto_json.h). Everything a policy author wrote (check
// names, messages) is escaped for the format it lands in.
//
//   v1::GateSummary summary = SummarizeGate(results);
//   std::fputs(GateTable(summary).c_str(), stdout);
//   RETURN_IF_ERROR(WriteWholeFile("gate.xml", GateJUnitXml(summary)));
//   return summary.exit_code();
#ifndef CRUCIBLE_CLIENTS_CLI_GATE_REPORTS_H_
#define CRUCIBLE_CLIENTS_CLI_GATE_REPORTS_H_

#include <string>
#include <string_view>
#include <vector>

#include "crucible/v1/gate.pb.h"

namespace crucible {

// The results with their counts; exit_code 2 when any check errored, else 1
// when any failed, else 0.
v1::GateSummary SummarizeGate(std::vector<v1::GateCheckResult> results);

// CHECK, ENGINE, METRIC, VALUE, BOUND, RESULT; then a "passed N, failed N, errors N" line.
std::string GateTable(const v1::GateSummary& summary);

// One <testsuite name="crucible gate"> with one <testcase> per check
// (classname "crucible.gate.<engine>"): a failed check has a <failure> whose
// message gives the measured value and the bound, an errored one an <error>.
std::string GateJUnitXml(const v1::GateSummary& summary);

// A heading with the verdict and a table of the checks.
std::string GateMarkdown(const v1::GateSummary& summary);

// `text` for XML character data and attribute values: &, <, >, " and '
// escaped; characters XML 1.0 cannot carry (control characters other than
// tab, newline and carriage return) replaced by U+FFFD.
std::string XmlEscape(std::string_view text);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_GATE_REPORTS_H_
