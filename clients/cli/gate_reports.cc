#include "clients/cli/gate_reports.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/text_table.h"

namespace crucible {
namespace {

std::string OutcomeWord(v1::GateOutcome outcome) {
  switch (outcome) {
    case v1::GATE_PASSED:
      return "PASS";
    case v1::GATE_FAILED:
      return "FAIL";
    default:
      return "ERROR";
  }
}

std::string Seconds(double seconds) { return absl::StrFormat("%.3f", seconds); }

// One line of a Markdown table cell: pipes and HTML escaped (GitHub renders
// HTML in comments), newlines and other control characters as spaces.
std::string MarkdownCell(std::string_view text) {
  std::string cell;
  for (char c : text) {
    switch (c) {
      case '|':
        cell += "\\|";
        break;
      case '<':
        cell += "&lt;";
        break;
      case '>':
        cell += "&gt;";
        break;
      case '&':
        cell += "&amp;";
        break;
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '\\':
        cell += '\\';
        cell += c;
        break;
      default:
        cell += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
  }
  return cell;
}

}  // namespace

v1::GateSummary SummarizeGate(std::vector<v1::GateCheckResult> results) {
  v1::GateSummary summary;
  for (v1::GateCheckResult& result : results) {
    switch (result.outcome()) {
      case v1::GATE_PASSED:
        summary.set_passed(summary.passed() + 1);
        break;
      case v1::GATE_FAILED:
        summary.set_failed(summary.failed() + 1);
        break;
      default:
        summary.set_errors(summary.errors() + 1);
    }
    *summary.add_checks() = std::move(result);
  }
  summary.set_exit_code(summary.errors() > 0 ? 2 : summary.failed() > 0 ? 1 : 0);
  return summary;
}

std::string GateTable(const v1::GateSummary& summary) {
  TextTable table({"CHECK", "ENGINE", "METRIC", "VALUE", "BOUND", "RESULT"});
  for (const v1::GateCheckResult& check : summary.checks()) {
    table.AddRow({check.name(), check.engine(), check.metric(),
                  check.outcome() == v1::GATE_ERROR ? "-" : check.value_text(), check.bound(),
                  OutcomeWord(check.outcome())});
  }
  std::string text = table.Render();
  for (const v1::GateCheckResult& check : summary.checks()) {
    if (check.outcome() == v1::GATE_ERROR) {
      absl::StrAppend(&text, "error in '", check.name(), "': ", check.message(), "\n");
    }
  }
  absl::StrAppend(&text, "passed ", summary.passed(), ", failed ", summary.failed(), ", errors ", summary.errors(),
                  "\n");
  return text;
}

std::string XmlEscape(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&apos;";
        break;
      default:
        if (byte < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          escaped += "\xEF\xBF\xBD";
        } else {
          escaped += c;
        }
    }
  }
  return escaped;
}

std::string GateJUnitXml(const v1::GateSummary& summary) {
  double total_seconds = 0;
  for (const v1::GateCheckResult& check : summary.checks()) total_seconds += check.seconds();
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppend(&xml, "<testsuites name=\"crucible gate\" tests=\"", summary.checks_size(), "\" failures=\"",
                  summary.failed(), "\" errors=\"", summary.errors(), "\" time=\"", Seconds(total_seconds),
                  "\">\n");
  absl::StrAppend(&xml, "  <testsuite name=\"crucible gate\" tests=\"", summary.checks_size(), "\" failures=\"",
                  summary.failed(), "\" errors=\"", summary.errors(), "\" skipped=\"0\" time=\"",
                  Seconds(total_seconds), "\">\n");
  for (const v1::GateCheckResult& check : summary.checks()) {
    absl::StrAppend(&xml, "    <testcase name=\"", XmlEscape(check.name()), "\" classname=\"crucible.gate.",
                    XmlEscape(check.engine()), "\" time=\"", Seconds(check.seconds()), "\"");
    const std::string details =
        absl::StrCat("engine: ", check.engine(), "\nmetric: ", check.metric(), "\nvalue: ", check.value_text(),
                     "\nbound: ", check.bound(), "\njob: ", check.job_id(), "\n");
    if (check.outcome() == v1::GATE_PASSED) {
      absl::StrAppend(&xml, ">\n      <system-out>", XmlEscape(details), "</system-out>\n    </testcase>\n");
      continue;
    }
    const char* element = check.outcome() == v1::GATE_FAILED ? "failure" : "error";
    absl::StrAppend(&xml, ">\n      <", element, " message=\"", XmlEscape(check.message()), "\" type=\"",
                    check.outcome() == v1::GATE_FAILED ? "BoundViolated" : "JobError", "\">", XmlEscape(details),
                    "</", element, ">\n    </testcase>\n");
  }
  absl::StrAppend(&xml, "  </testsuite>\n</testsuites>\n");
  return xml;
}

std::string GateMarkdown(const v1::GateSummary& summary) {
  const char* verdict = summary.exit_code() == 0 ? "passed" : summary.exit_code() == 1 ? "failed" : "errored";
  std::string md = absl::StrCat("### Crucible gate ", verdict, ": ", summary.passed(), " passed, ", summary.failed(),
                                " failed, ", summary.errors(), " errors\n\n");
  absl::StrAppend(&md, "| Result | Check | Engine | Metric | Value | Bound |\n");
  absl::StrAppend(&md, "|---|---|---|---|---:|---|\n");
  for (const v1::GateCheckResult& check : summary.checks()) {
    const char* mark = check.outcome() == v1::GATE_PASSED   ? "✅ pass"
                       : check.outcome() == v1::GATE_FAILED ? "❌ fail"
                                                            : "⚠️ error";
    absl::StrAppend(&md, "| ", mark, " | ", MarkdownCell(check.name()), " | ", MarkdownCell(check.engine()), " | ",
                    MarkdownCell(check.metric()), " | ",
                    check.outcome() == v1::GATE_ERROR ? "-" : MarkdownCell(check.value_text()), " | ",
                    MarkdownCell(check.bound()), " |\n");
  }
  bool heading = false;
  for (const v1::GateCheckResult& check : summary.checks()) {
    if (check.outcome() != v1::GATE_ERROR) continue;
    if (!heading) absl::StrAppend(&md, "\nErrors:\n\n");
    heading = true;
    absl::StrAppend(&md, "- ", MarkdownCell(check.name()), ": ", MarkdownCell(check.message()), "\n");
  }
  if (!summary.model_id().empty()) absl::StrAppend(&md, "\nModel `", summary.model_id(), "`\n");
  return md;
}

}  // namespace crucible
