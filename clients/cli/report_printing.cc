#include "clients/cli/report_printing.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/cli/text_table.h"
#include "clients/cli/value_format.h"

namespace crucible {
namespace {

std::string Section(absl::string_view title, const TextTable& table) {
  return absl::StrCat(title, ":\n", table.Render("  "));
}

void AlignNumbers(TextTable& table, size_t first, size_t last) {
  for (size_t c = first; c <= last; ++c) table.AlignRight(c);
}

std::string ResultText(v1::VerificationResult result) {
  switch (result) {
    case v1::UNSAT:
      return "UNSAT (the property holds)";
    case v1::SAT:
      return "SAT (violated)";
    case v1::UNKNOWN:
      return "UNKNOWN (undecided)";
    case v1::TIMEOUT:
      return "TIMEOUT";
    default:
      return v1::VerificationResult_Name(result);
  }
}

// "0", or "3 [4, 17, 20]".
std::string CountAndList(absl::Span<const int64_t> indices) {
  if (indices.empty()) return "0";
  return absl::StrCat(indices.size(), " ", FormatList(indices, kMaxListItems));
}

std::string FormatCounterexample(const v1::Counterexample& counterexample) {
  TextTable table({});
  table.AddRow({"input", FormatList(counterexample.input(), kMaxListItems)});
  table.AddRow({"output", FormatList(counterexample.output(), kMaxListItems)});
  return Section("counterexample", table);
}

std::string FormatEvaluation(const v1::EvaluationReport& report) {
  TextTable fields({});
  fields.AddRow({"accuracy", absl::StrCat(FormatPercent(report.accuracy()), " (", report.num_correct(),
                                          " of ", report.num_examples(), ")")});
  std::string text = fields.Render();

  if (report.per_class_accuracy_size() > 0) {
    TextTable per_class({"CLASS", "ACCURACY"});
    AlignNumbers(per_class, 0, 1);
    for (int c = 0; c < report.per_class_accuracy_size(); ++c) {
      per_class.AddRow({absl::StrCat(c), FormatPercent(report.per_class_accuracy(c))});
    }
    absl::StrAppend(&text, Section("per-class accuracy", per_class));
  }

  const auto& rows = report.confusion_matrix().rows();
  if (!rows.empty()) {
    int columns = 0;
    for (const auto& row : rows) columns = std::max(columns, row.counts_size());
    std::vector<std::string> header = {"LABEL"};
    for (int p = 0; p < columns; ++p) header.push_back(absl::StrCat(p));
    TextTable matrix(std::move(header));
    AlignNumbers(matrix, 0, columns);
    for (int label = 0; label < rows.size(); ++label) {
      std::vector<std::string> cells = {absl::StrCat(label)};
      for (int64_t count : rows[label].counts()) cells.push_back(absl::StrCat(count));
      matrix.AddRow(std::move(cells));
    }
    absl::StrAppend(&text, Section("confusion matrix (rows: label, columns: prediction)", matrix));
  }
  return text;
}

std::string FormatAttack(const v1::AttackReport& report) {
  TextTable fields({});
  fields.AddRow({"clean accuracy", FormatPercent(report.clean_accuracy())});
  fields.AddRow({"robust accuracy", FormatPercent(report.robust_accuracy())});
  fields.AddRow({"success rate", FormatPercent(report.success_rate())});
  fields.AddRow({"mean L2", FormatNumber(report.mean_l2())});
  fields.AddRow({"mean Linf", FormatNumber(report.mean_linf())});
  fields.AddRow({"median L2", FormatNumber(report.median_l2())});
  fields.AddRow({"median Linf", FormatNumber(report.median_linf())});
  std::string text = fields.Render();

  if (report.warnings_size() > 0) {
    absl::StrAppend(&text, "warnings:\n");
    for (const std::string& warning : report.warnings()) absl::StrAppend(&text, "  - ", warning, "\n");
  }
  if (report.curve_size() > 0) {
    TextTable curve({"EPSILON", "ROBUST ACCURACY"});
    AlignNumbers(curve, 0, 1);
    for (const v1::CurvePoint& point : report.curve()) {
      curve.AddRow({FormatNumber(point.epsilon()), FormatPercent(point.robust_accuracy())});
    }
    absl::StrAppend(&text, Section("robustness curve", curve));
  }
  if (report.per_class_size() > 0) {
    TextTable per_class({"CLASS", "CLEAN", "ROBUST"});
    AlignNumbers(per_class, 0, 2);
    for (const v1::ClassRobustness& c : report.per_class()) {
      per_class.AddRow({absl::StrCat(c.label()), FormatPercent(c.clean_accuracy()),
                        FormatPercent(c.robust_accuracy())});
    }
    absl::StrAppend(&text, Section("per-class accuracy", per_class));
  }
  if (report.examples_size() > 0) {
    TextTable examples({"INDEX", "LABEL", "CLEAN", "ADVERSARIAL", "SUCCESS", "L2", "LINF", "CONFIDENCE"});
    AlignNumbers(examples, 0, 3);
    AlignNumbers(examples, 5, 7);
    const int shown = std::min<int>(report.examples_size(), kMaxExampleRows);
    for (int i = 0; i < shown; ++i) {
      const v1::AttackExample& e = report.examples(i);
      examples.AddRow({absl::StrCat(e.index()), absl::StrCat(e.label()), absl::StrCat(e.clean_prediction()),
                       absl::StrCat(e.adversarial_prediction()), e.success() ? "yes" : "no",
                       FormatNumber(e.l2()), FormatNumber(e.linf()), FormatNumber(e.confidence())});
    }
    absl::StrAppend(&text, Section(absl::StrCat("examples (", report.examples_size(), ")"), examples));
    if (report.examples_size() > shown) {
      absl::StrAppend(&text, "  ... and ", report.examples_size() - shown, " more (--json prints all)\n");
    }
  }
  return text;
}

std::string FormatFooling(const v1::FoolingReport& report) {
  TextTable classes({"TARGET", "CONFIDENCE", "ITERATIONS", "REACHED"});
  AlignNumbers(classes, 0, 2);
  for (const v1::FoolingClass& c : report.classes()) {
    classes.AddRow({absl::StrCat(c.target()), FormatPercent(c.confidence()), absl::StrCat(c.iterations()),
                    c.reached() ? "yes" : "no"});
  }
  return Section("fooling images", classes);
}

std::string FormatVerification(const v1::VerificationReport& report) {
  TextTable fields({});
  fields.AddRow({"result", ResultText(report.result())});
  fields.AddRow({"seconds", FormatNumber(report.seconds())});
  if (!report.detail().empty()) fields.AddRow({"detail", report.detail()});
  std::string text = fields.Render();
  if (report.has_counterexample()) absl::StrAppend(&text, FormatCounterexample(report.counterexample()));
  return text;
}

std::string FormatDlv(const v1::DlvReport& report) {
  TextTable fields({});
  fields.AddRow({"result", ResultText(report.result())});
  fields.AddRow({"seconds", FormatNumber(report.seconds())});
  fields.AddRow({"adversarial examples", absl::StrCat(report.adversarial_examples_size())});
  std::string text = fields.Render();
  for (const v1::DlvAnalysis& analysis : report.analyses()) {
    absl::StrAppend(&text, "input ", analysis.input_index(), " (class ", analysis.label(), "): ",
                    ResultText(analysis.result()), ": ", analysis.proved(), "\n");
  }
  if (report.layers_size() > 0) {
    TextTable layers({"LAYER", "SPANS", "MANIPULATIONS", "Z3 CALLS", "Z3 SECONDS"});
    AlignNumbers(layers, 2, 4);
    for (const v1::DlvLayer& layer : report.layers()) {
      layers.AddRow({layer.layer(), FormatList(layer.spans(), 4), absl::StrCat(layer.manipulations()),
                     absl::StrCat(layer.z3_calls()), FormatNumber(layer.z3_seconds())});
    }
    absl::StrAppend(&text, Section("layers", layers));
  }
  if (report.adversarial_examples_size() > 0) {
    absl::StrAppend(&text, "first adversarial example:\n",
                    Indent(FormatCounterexample(report.adversarial_examples(0)), "  "));
  }
  return text;
}

// "-" for a query that was not asked.
std::string VerifiedText(v1::VerificationResult result) {
  return result == v1::VERIFICATION_RESULT_UNSPECIFIED ? "-" : v1::VerificationResult_Name(result);
}

std::string FormatNap(const v1::NapReport& report) {
  TextTable fields({});
  fields.AddRow({"patterns", report.mined() ? absl::StrCat("mined at delta ", FormatNumber(report.delta()), " from ",
                                                           report.training_inputs(), " training inputs")
                                            : "supplied"});
  if (report.layers_size() > 0) fields.AddRow({"layers", absl::StrJoin(report.layers(), ", ")});
  fields.AddRow({report.mined() ? "held-out inputs" : "inputs", absl::StrCat(report.held_out_inputs())});
  fields.AddRow({"ambiguous inputs", absl::StrCat(report.ambiguous_inputs())});
  fields.AddRow({"seconds", FormatNumber(report.seconds())});
  std::string text = fields.Render();

  TextTable classes({"CLASS", "FIXED NEURONS", "MINED FROM", "RECALL", "PRECISION", "VERIFIED", "SECONDS"});
  AlignNumbers(classes, 0, 4);
  AlignNumbers(classes, 6, 6);
  // Without data (supplied NAPs, verification only) there are no statistics.
  const bool scored = report.held_out_inputs() > 0;
  for (const v1::NapClass& c : report.classes()) {
    classes.AddRow({absl::StrCat(c.label()), absl::StrCat(c.fixed_neurons()), absl::StrCat(c.mined_from()),
                    scored ? FormatPercent(c.recall()) : "-", scored ? FormatPercent(c.precision()) : "-",
                    VerifiedText(c.verified()), FormatNumber(c.seconds())});
  }
  absl::StrAppend(&text, Section("neural activation patterns (NAP => class)", classes));

  if (report.exclusivity_size() > 0) {
    TextTable pairs({"CLASSES", "EXCLUSIVE", "SECONDS"});
    AlignNumbers(pairs, 2, 2);
    for (const v1::NapExclusivity& e : report.exclusivity()) {
      pairs.AddRow({absl::StrCat(e.first_label(), ", ", e.second_label()), VerifiedText(e.result()),
                    FormatNumber(e.seconds())});
    }
    absl::StrAppend(&text, Section("exclusivity (UNSAT: no input satisfies both)", pairs));
  }
  if (report.robustness_size() > 0) {
    TextTable inputs({"INPUT", "LABEL", "EPSILON WITHOUT NAP", "EPSILON WITH NAP", "SECONDS", "NOTE"});
    AlignNumbers(inputs, 0, 4);
    for (const v1::NapRobustness& r : report.robustness()) {
      inputs.AddRow({absl::StrCat(r.input_index()), absl::StrCat(r.label()), FormatNumber(r.epsilon_without_nap()),
                     FormatNumber(r.epsilon_with_nap()), FormatNumber(r.seconds()), r.detail()});
    }
    absl::StrAppend(&text, Section("NAP-augmented robustness (largest verified L-inf epsilon, pixels)", inputs));
  }
  for (const v1::NapClass& c : report.classes()) {
    if (c.verified() != v1::SAT) continue;
    absl::StrAppend(&text, "class ", c.label(), ": an input satisfying its NAP is classified otherwise\n",
                    Indent(FormatCounterexample(c.counterexample()), "  "));
  }
  for (const v1::NapExclusivity& e : report.exclusivity()) {
    if (e.result() != v1::SAT) continue;
    absl::StrAppend(&text, "classes ", e.first_label(), " and ", e.second_label(),
                    ": an input satisfies both NAPs\n", Indent(FormatCounterexample(e.witness()), "  "));
  }
  return text;
}

std::string FormatBackdoor(const v1::BackdoorReport& report) {
  const auto& flagged = report.flagged_classes();
  TextTable fields({});
  fields.AddRow({"flagged classes", flagged.empty() ? "none" : FormatList(flagged, kMaxListItems)});
  fields.AddRow({"flagged samples", CountAndList(report.flagged_samples())});
  fields.AddRow({"flagged inputs", CountAndList(report.flagged_inputs())});
  std::string text = fields.Render();
  if (report.classes_size() > 0) {
    TextTable classes({"CLASS", "ANOMALY INDEX", "MASK L1", "FLAGGED"});
    AlignNumbers(classes, 0, 2);
    for (const v1::BackdoorClass& c : report.classes()) {
      const bool is_flagged = std::find(flagged.begin(), flagged.end(), c.label()) != flagged.end();
      classes.AddRow({absl::StrCat(c.label()), FormatNumber(c.anomaly_index()), FormatNumber(c.mask_l1()),
                      is_flagged ? "yes" : ""});
    }
    absl::StrAppend(&text, Section("neural cleanse", classes));
  }
  if (report.evidence_size() > 0) {
    absl::StrAppend(&text, "evidence:\n");
    for (const std::string& line : report.evidence()) absl::StrAppend(&text, "  - ", line, "\n");
  }
  return text;
}

std::string FormatUnlearnable(const v1::UnlearnableReport& report) {
  TextTable fields({});
  fields.AddRow({"verdict", v1::UnlearnableReport::Verdict_Name(report.verdict())});
  fields.AddRow({"score", FormatNumber(report.score())});
  std::string text = fields.Render();
  if (report.evidence_size() > 0) {
    absl::StrAppend(&text, "evidence:\n");
    for (const std::string& line : report.evidence()) absl::StrAppend(&text, "  - ", line, "\n");
  }
  return text;
}

}  // namespace

std::string FormatReport(const v1::Report& report) {
  switch (report.report_case()) {
    case v1::Report::kEvaluation:
      return FormatEvaluation(report.evaluation());
    case v1::Report::kAttack:
      return FormatAttack(report.attack());
    case v1::Report::kFooling:
      return FormatFooling(report.fooling());
    case v1::Report::kVerification:
      return FormatVerification(report.verification());
    case v1::Report::kDlv:
      return FormatDlv(report.dlv());
    case v1::Report::kNap:
      return FormatNap(report.nap());
    case v1::Report::kBackdoor:
      return FormatBackdoor(report.backdoor());
    case v1::Report::kUnlearnable:
      return FormatUnlearnable(report.unlearnable());
    case v1::Report::REPORT_NOT_SET:
      break;
  }
  return "no report\n";
}

}  // namespace crucible
