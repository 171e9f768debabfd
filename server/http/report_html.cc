#include "server/http/report_html.h"

#include <algorithm>

#include "absl/algorithm/container.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/http/html.h"
#include "server/http/svg_charts.h"

namespace crucible {
namespace {

// Long lists (examples, flagged indices) are cut to this many entries.
constexpr int kMaxRows = 100;

std::string Section(const std::string& id, const std::string& title, const std::string& body) {
  return absl::StrCat("<section class=\"report-part\" id=\"", id, "\"><h2>", HtmlEscape(title), "</h2>", body,
                      "</section>");
}

// A two-column table of headline numbers.
std::string Facts(const std::vector<std::pair<std::string, std::string>>& facts) {
  std::string html = "<table class=\"facts\">";
  for (const auto& [name, value] : facts) {
    absl::StrAppend(&html, "<tr><th>", HtmlEscape(name), "</th><td>", HtmlEscape(value), "</td></tr>");
  }
  return html + "</table>";
}

// A table with a header row; cells are escaped.
std::string Table(const std::string& css_class, const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows, size_t total_rows) {
  std::string html = absl::StrCat("<table class=\"data ", css_class, "\"><thead><tr>");
  for (const std::string& h : header) absl::StrAppend(&html, "<th>", HtmlEscape(h), "</th>");
  html += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    html += "<tr>";
    for (const std::string& cell : row) absl::StrAppend(&html, "<td>", HtmlEscape(cell), "</td>");
    html += "</tr>";
  }
  html += "</tbody></table>";
  if (total_rows > rows.size()) {
    absl::StrAppend(&html, "<p class=\"note\">First ", rows.size(), " of ", total_rows,
                    " rows; the full list is in the job's JSON.</p>");
  }
  return html;
}

template <typename Repeated>
std::string IndexList(const Repeated& values) {
  if (values.empty()) return "<p>none</p>";
  std::vector<std::string> shown;
  for (int i = 0; i < values.size() && i < kMaxRows; ++i) shown.push_back(absl::StrCat(values[i]));
  std::string html = absl::StrCat("<p class=\"indices\">", HtmlEscape(absl::StrJoin(shown, ", ")));
  if (values.size() > kMaxRows) absl::StrAppend(&html, ", … (", values.size(), " in all)");
  return html + "</p>";
}

std::string Number(double value) { return absl::StrFormat("%.4g", value); }

std::string ResultBadge(v1::VerificationResult result) {
  const std::string name = v1::VerificationResult_Name(result);
  const char* meaning = result == v1::UNSAT ? "property holds"
                        : result == v1::SAT ? "property violated"
                                            : "no answer";
  return absl::StrCat("<p class=\"verdict verdict-", HtmlEscape(name), "\"><strong>", HtmlEscape(name),
                      "</strong> — ", meaning, "</p>");
}

std::string CounterexampleHtml(const v1::Counterexample& counterexample) {
  std::vector<std::vector<std::string>> rows;
  const int n = std::max(counterexample.input_size(), counterexample.output_size());
  for (int i = 0; i < n && i < kMaxRows; ++i) {
    rows.push_back({absl::StrCat(i), i < counterexample.input_size() ? absl::StrFormat("%.6g", counterexample.input(i)) : "",
                    i < counterexample.output_size() ? absl::StrFormat("%.6g", counterexample.output(i)) : ""});
  }
  return Table("counterexample", {"i", "X_i", "Y_i"}, rows, static_cast<size_t>(n));
}

std::string EvaluationHtml(const v1::EvaluationReport& report) {
  std::string html = Section(
      "summary", "Accuracy",
      Facts({{"accuracy", absl::StrCat(Percent(report.accuracy()), " (", report.num_correct(), " of ",
                                       report.num_examples(), ")")}}));
  if (report.per_class_accuracy_size() > 0) {
    std::vector<std::string> classes;
    BarSeries accuracy{.name = "accuracy", .values = {}};
    for (int c = 0; c < report.per_class_accuracy_size(); ++c) {
      classes.push_back(absl::StrCat(c));
      accuracy.values.push_back(report.per_class_accuracy(c));
    }
    html += Section("per-class", "Per-class accuracy", BarChartSvg(classes, {accuracy}, "accuracy"));
  }
  if (report.confusion_matrix().rows_size() > 0) {
    std::vector<std::vector<int64_t>> counts;
    for (const auto& row : report.confusion_matrix().rows()) counts.emplace_back(row.counts().begin(), row.counts().end());
    html += Section("confusion", "Confusion matrix", HeatmapSvg(counts, "label", "predicted"));
  }
  return html;
}

std::string AttackHtml(const v1::AttackReport& report) {
  std::string html = Section("summary", "Robustness",
                             Facts({{"clean accuracy", Percent(report.clean_accuracy())},
                                    {"robust accuracy", Percent(report.robust_accuracy())},
                                    {"success rate", Percent(report.success_rate())},
                                    {"mean L2 / L∞", absl::StrCat(Number(report.mean_l2()), " / ",
                                                                   Number(report.mean_linf()))},
                                    {"median L2 / L∞", absl::StrCat(Number(report.median_l2()), " / ",
                                                                     Number(report.median_linf()))}}));
  if (report.warnings_size() > 0) {
    std::string list = "<ul class=\"warnings\">";
    for (const std::string& warning : report.warnings()) absl::StrAppend(&list, "<li>", HtmlEscape(warning), "</li>");
    html += Section("warnings", "Warnings", list + "</ul>");
  }
  if (report.curve_size() > 0) {
    std::vector<std::pair<double, double>> points;
    for (const v1::CurvePoint& point : report.curve()) points.emplace_back(point.epsilon(), point.robust_accuracy());
    html += Section("curve", "Robustness curve", LineChartSvg(points, "ε", "robust accuracy", report.clean_accuracy()));
  }
  if (report.per_class_size() > 0) {
    std::vector<std::string> classes;
    BarSeries clean{.name = "clean", .values = {}};
    BarSeries robust{.name = "robust", .values = {}};
    for (const v1::ClassRobustness& c : report.per_class()) {
      classes.push_back(absl::StrCat(c.label()));
      clean.values.push_back(c.clean_accuracy());
      robust.values.push_back(c.robust_accuracy());
    }
    html += Section("per-class", "Per-class accuracy", BarChartSvg(classes, {clean, robust}, "accuracy"));
  }
  if (report.examples_size() > 0) {
    std::vector<std::vector<std::string>> rows;
    for (int i = 0; i < report.examples_size() && i < kMaxRows; ++i) {
      const v1::AttackExample& e = report.examples(i);
      rows.push_back({absl::StrCat(e.index()), absl::StrCat(e.label()), absl::StrCat(e.clean_prediction()),
                      absl::StrCat(e.adversarial_prediction()), e.success() ? "yes" : "no", Number(e.l2()),
                      Number(e.linf()), Number(e.confidence())});
    }
    html += Section("examples", "Examples",
                    absl::StrCat("<details><summary>", report.examples_size(), " examples, ",
                                 absl::c_count_if(report.examples(), [](const v1::AttackExample& e) { return e.success(); }),
                                 " attacked successfully</summary>",
                                 Table("examples",
                                       {"index", "label", "clean", "adversarial", "success", "L2", "L∞", "confidence"},
                                       rows, static_cast<size_t>(report.examples_size())),
                                 "</details>"));
  }
  return html;
}

std::string FoolingHtml(const v1::FoolingReport& report) {
  std::vector<std::string> classes;
  BarSeries confidence{.name = "confidence", .values = {}};
  std::vector<std::vector<std::string>> rows;
  for (const v1::FoolingClass& c : report.classes()) {
    classes.push_back(absl::StrCat(c.target()));
    confidence.values.push_back(c.confidence());
    rows.push_back({absl::StrCat(c.target()), Percent(c.confidence()), absl::StrCat(c.iterations()),
                    c.reached() ? "yes" : "no"});
  }
  return Section("fooling", "Fooling images",
                 BarChartSvg(classes, {confidence}, "confidence") +
                     Table("fooling", {"target", "confidence", "iterations", "reached"}, rows, rows.size()));
}

std::string VerificationHtml(const v1::VerificationReport& report) {
  std::string body = ResultBadge(report.result()) +
                     Facts({{"seconds", absl::StrFormat("%.3f", report.seconds())}, {"detail", report.detail()}});
  if (report.result() == v1::SAT) {
    body += "<h3>Counterexample</h3>" + CounterexampleHtml(report.counterexample());
  }
  return Section("verification", "Verification", body);
}

std::string DlvHtml(const v1::DlvReport& report) {
  std::string body = ResultBadge(report.result()) + Facts({{"seconds", absl::StrFormat("%.3f", report.seconds())}});
  std::vector<std::vector<std::string>> rows;
  for (const v1::DlvLayer& layer : report.layers()) {
    rows.push_back({layer.layer(), absl::StrCat(layer.manipulations()), absl::StrCat(layer.z3_calls()),
                    absl::StrFormat("%.3f", layer.z3_seconds())});
  }
  body += Table("layers", {"layer", "manipulations", "Z3 calls", "Z3 seconds"}, rows, rows.size());
  for (int i = 0; i < report.adversarial_examples_size() && i < 5; ++i) {
    absl::StrAppend(&body, "<h3>Adversarial example ", i + 1, "</h3>",
                    CounterexampleHtml(report.adversarial_examples(i)));
  }
  return Section("dlv", "Layer-by-layer verification", body);
}

std::string NapHtml(const v1::NapReport& report) {
  auto verified = [](v1::VerificationResult result) {
    return result == v1::VERIFICATION_RESULT_UNSPECIFIED ? std::string("-") : v1::VerificationResult_Name(result);
  };
  const bool scored = report.held_out_inputs() > 0;  // supplied NAPs without data have no statistics
  std::vector<std::vector<std::string>> rows;
  for (const v1::NapClass& c : report.classes()) {
    rows.push_back({absl::StrCat(c.label()), absl::StrCat(c.fixed_neurons()), absl::StrCat(c.mined_from()),
                    scored ? Percent(c.recall()) : "-", scored ? Percent(c.precision()) : "-",
                    verified(c.verified()), Number(c.seconds()), c.detail()});
  }
  std::string html = Section(
      "nap", "Neural activation patterns",
      Facts({{"patterns", report.mined() ? absl::StrCat("mined at δ ", Number(report.delta()), " from ",
                                                        report.training_inputs(), " training inputs")
                                         : "supplied"},
             {"layers", absl::StrJoin(report.layers(), ", ")},
             {report.mined() ? "held-out inputs" : "inputs", absl::StrCat(report.held_out_inputs())},
             {"ambiguous inputs (two NAPs match)", absl::StrCat(report.ambiguous_inputs())},
             {"seconds", Number(report.seconds())}}) +
          Table("nap", {"label", "fixed neurons", "mined from", "recall", "precision", "NAP ⇒ class", "seconds", "detail"},
                rows, rows.size()));
  if (report.exclusivity_size() > 0) {
    std::vector<std::vector<std::string>> pairs;
    for (const v1::NapExclusivity& e : report.exclusivity()) {
      if (pairs.size() >= kMaxRows) break;
      pairs.push_back({absl::StrCat(e.first_label(), ", ", e.second_label()), verified(e.result()),
                       Number(e.seconds()), e.detail()});
    }
    html += Section("nap-exclusivity", "NAP exclusivity (UNSAT: no input satisfies both)",
                    Table("nap-exclusivity", {"classes", "result", "seconds", "detail"}, pairs,
                          report.exclusivity_size()));
  }
  if (report.robustness_size() > 0) {
    std::vector<std::vector<std::string>> inputs;
    for (const v1::NapRobustness& r : report.robustness()) {
      if (inputs.size() >= kMaxRows) break;
      inputs.push_back({absl::StrCat(r.input_index()), absl::StrCat(r.label()), Number(r.epsilon_without_nap()),
                        Number(r.epsilon_with_nap()), Number(r.seconds()), r.detail()});
    }
    html += Section("nap-robustness", "NAP-augmented robustness (largest verified L∞ ε, pixels)",
                    Table("nap-robustness", {"input", "label", "ε without NAP", "ε with NAP", "seconds", "detail"},
                          inputs, report.robustness_size()));
  }
  for (const v1::NapClass& c : report.classes()) {
    if (c.verified() != v1::SAT) continue;
    html += Section(absl::StrCat("nap-counterexample-", c.label()),
                    absl::StrCat("Class ", c.label(), ": an input satisfying its NAP, classified otherwise"),
                    CounterexampleHtml(c.counterexample()));
  }
  return html;
}

std::string BackdoorHtml(const v1::BackdoorReport& report) {
  std::string body = "<h3>Flagged classes</h3>" + IndexList(report.flagged_classes());
  if (report.classes_size() > 0) {
    std::vector<std::vector<std::string>> rows;
    for (const v1::BackdoorClass& c : report.classes()) {
      rows.push_back({absl::StrCat(c.label()), Number(c.anomaly_index()), Number(c.mask_l1())});
    }
    body += Table("backdoor-classes", {"label", "anomaly index", "mask L1"}, rows, rows.size());
  }
  body += "<h3>Flagged training samples</h3>" + IndexList(report.flagged_samples());
  body += "<h3>Inputs STRIP rejects</h3>" + IndexList(report.flagged_inputs());
  return Section("backdoor", "Backdoor scan", body);
}

std::string UnlearnableHtml(const v1::UnlearnableReport& report) {
  std::string body = Facts({{"verdict", v1::UnlearnableReport::Verdict_Name(report.verdict())},
                            {"score", Number(report.score())}});
  if (report.evidence_size() > 0) {
    body += "<ul>";
    for (const std::string& line : report.evidence()) absl::StrAppend(&body, "<li>", HtmlEscape(line), "</li>");
    body += "</ul>";
  }
  return Section("unlearnable", "Unlearnable-data check", body);
}

}  // namespace

std::string ReportHtml(const v1::Report& report) {
  switch (report.report_case()) {
    case v1::Report::kEvaluation: return EvaluationHtml(report.evaluation());
    case v1::Report::kAttack: return AttackHtml(report.attack());
    case v1::Report::kFooling: return FoolingHtml(report.fooling());
    case v1::Report::kVerification: return VerificationHtml(report.verification());
    case v1::Report::kDlv: return DlvHtml(report.dlv());
    case v1::Report::kNap: return NapHtml(report.nap());
    case v1::Report::kBackdoor: return BackdoorHtml(report.backdoor());
    case v1::Report::kUnlearnable: return UnlearnableHtml(report.unlearnable());
    case v1::Report::REPORT_NOT_SET: break;
  }
  return "<p>No report.</p>";
}

}  // namespace crucible
