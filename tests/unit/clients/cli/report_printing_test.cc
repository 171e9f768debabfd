#include "clients/cli/report_printing.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ReportPrintingTest, Evaluation) {
  v1::Report report;
  v1::EvaluationReport& evaluation = *report.mutable_evaluation();
  evaluation.set_accuracy(0.75);
  evaluation.set_num_examples(8);
  evaluation.set_num_correct(6);
  evaluation.add_per_class_accuracy(1.0);
  evaluation.add_per_class_accuracy(0.5);
  auto* row0 = evaluation.mutable_confusion_matrix()->add_rows();
  row0->add_counts(4);
  row0->add_counts(0);
  auto* row1 = evaluation.mutable_confusion_matrix()->add_rows();
  row1->add_counts(2);
  row1->add_counts(2);
  EXPECT_EQ(FormatReport(report),
            "accuracy  75.00% (6 of 8)\n"
            "per-class accuracy:\n"
            "  CLASS  ACCURACY\n"
            "      0   100.00%\n"
            "      1    50.00%\n"
            "confusion matrix (rows: label, columns: prediction):\n"
            "  LABEL  0  1\n"
            "      0  4  0\n"
            "      1  2  2\n");
}

TEST(ReportPrintingTest, AttackShowsCurveWarningsAndFirstExamples) {
  v1::Report report;
  v1::AttackReport& attack = *report.mutable_attack();
  attack.set_clean_accuracy(0.98);
  attack.set_robust_accuracy(0);
  attack.set_success_rate(1);
  attack.set_mean_l2(1.5);
  attack.set_mean_linf(0.1);
  attack.add_warnings("robust accuracy rises with epsilon: possible gradient masking");
  auto* point = attack.add_curve();
  point->set_epsilon(0.1);
  point->set_robust_accuracy(0.25);
  for (int i = 0; i < 15; ++i) {
    v1::AttackExample* example = attack.add_examples();
    example->set_index(i);
    example->set_label(3);
    example->set_clean_prediction(3);
    example->set_adversarial_prediction(5);
    example->set_success(true);
    example->set_l2(0.5);
    example->set_linf(0.1);
    example->set_confidence(0.9);
  }
  const std::string text = FormatReport(report);
  EXPECT_THAT(text, HasSubstr("clean accuracy   98.00%\n"));
  EXPECT_THAT(text, HasSubstr("robust accuracy  0.00%\n"));
  EXPECT_THAT(text, HasSubstr("success rate     100.00%\n"));
  EXPECT_THAT(text, HasSubstr("mean L2          1.5\n"));
  EXPECT_THAT(text, HasSubstr("warnings:\n  - robust accuracy rises with epsilon: possible gradient masking\n"));
  EXPECT_THAT(text, HasSubstr("robustness curve:\n  EPSILON  ROBUST ACCURACY\n      0.1           25.00%\n"));
  EXPECT_THAT(text, HasSubstr("examples (15):\n  INDEX  LABEL  CLEAN  ADVERSARIAL  SUCCESS   L2  LINF  CONFIDENCE\n"));
  EXPECT_THAT(text, HasSubstr("      9      3      3            5  yes      0.5   0.1         0.9\n"));
  EXPECT_THAT(text, Not(HasSubstr("     10      3")));
  EXPECT_THAT(text, HasSubstr("  ... and 5 more (--json prints all)\n"));
}

TEST(ReportPrintingTest, VerificationWithCounterexample) {
  v1::Report report;
  v1::VerificationReport& verification = *report.mutable_verification();
  verification.set_result(v1::SAT);
  verification.set_seconds(1.25);
  verification.mutable_counterexample()->add_input(0.5);
  verification.mutable_counterexample()->add_input(-0.25);
  verification.mutable_counterexample()->add_output(3);
  EXPECT_EQ(FormatReport(report),
            "result   SAT (violated)\n"
            "seconds  1.25\n"
            "counterexample:\n"
            "  input   [0.5, -0.25]\n"
            "  output  [3]\n");
}

TEST(ReportPrintingTest, VerificationHolds) {
  v1::Report report;
  report.mutable_verification()->set_result(v1::UNSAT);
  report.mutable_verification()->set_detail("proved by interval bounds");
  EXPECT_EQ(FormatReport(report),
            "result   UNSAT (the property holds)\n"
            "seconds  0\n"
            "detail   proved by interval bounds\n");
}

TEST(ReportPrintingTest, Backdoor) {
  v1::Report report;
  v1::BackdoorReport& backdoor = *report.mutable_backdoor();
  backdoor.add_flagged_classes(7);
  for (int label : {0, 7}) {
    v1::BackdoorClass* c = backdoor.add_classes();
    c->set_label(label);
    c->set_anomaly_index(label == 7 ? 3.5 : 0.2);
    c->set_mask_l1(label == 7 ? 12 : 80);
  }
  backdoor.add_flagged_samples(4);
  backdoor.add_flagged_samples(17);
  EXPECT_EQ(FormatReport(report),
            "flagged classes  [7]\n"
            "flagged samples  2 [4, 17]\n"
            "flagged inputs   0\n"
            "neural cleanse:\n"
            "  CLASS  ANOMALY INDEX  MASK L1  FLAGGED\n"
            "      0            0.2       80\n"
            "      7            3.5       12  yes\n");
  v1::Report clean;
  clean.mutable_backdoor();
  EXPECT_THAT(FormatReport(clean), HasSubstr("flagged classes  none\n"));
}

TEST(ReportPrintingTest, OtherReports) {
  v1::Report fooling;
  v1::FoolingClass* c = fooling.mutable_fooling()->add_classes();
  c->set_target(2);
  c->set_confidence(0.996);
  c->set_iterations(300);
  c->set_reached(true);
  v1::FoolingClass* missed = fooling.mutable_fooling()->add_classes();
  missed->set_target(7);
  missed->set_confidence(0.42);
  missed->set_iterations(1000);
  EXPECT_EQ(FormatReport(fooling),
            "fooling images:\n"
            "  TARGET  CONFIDENCE  ITERATIONS  REACHED\n"
            "       2      99.60%         300  yes\n"
            "       7      42.00%        1000  no\n");

  v1::Report nap;
  v1::NapReport& naps = *nap.mutable_nap();
  naps.set_mined(true);
  naps.set_delta(0.99f);
  naps.add_layers("/2/Relu_output_0");
  naps.set_training_inputs(800);
  naps.set_held_out_inputs(200);
  naps.set_ambiguous_inputs(3);
  naps.set_seconds(2.5);
  v1::NapClass* n = naps.add_classes();
  n->set_label(1);
  n->set_fixed_neurons(40);
  n->set_mined_from(71);
  n->set_recall(0.84);
  n->set_precision(0.99);
  n->set_verified(v1::UNSAT);
  n->set_seconds(1.25);
  v1::NapClass* refuted = naps.add_classes();
  refuted->set_label(2);
  refuted->set_fixed_neurons(3);
  refuted->set_verified(v1::SAT);
  refuted->mutable_counterexample()->add_input(0.5);
  refuted->mutable_counterexample()->add_output(-1);
  refuted->mutable_counterexample()->add_output(2);
  naps.add_classes()->set_label(3);
  v1::NapExclusivity* pair = naps.add_exclusivity();
  pair->set_first_label(1);
  pair->set_second_label(2);
  pair->set_result(v1::UNSAT);
  v1::NapRobustness* robust = naps.add_robustness();
  robust->set_input_index(7);
  robust->set_label(1);
  robust->set_epsilon_without_nap(0.0125);
  robust->set_epsilon_with_nap(0.05);
  robust->set_seconds(3);
  EXPECT_EQ(FormatReport(nap),
            "patterns          mined at delta 0.99 from 800 training inputs\n"
            "layers            /2/Relu_output_0\n"
            "held-out inputs   200\n"
            "ambiguous inputs  3\n"
            "seconds           2.5\n"
            "neural activation patterns (NAP => class):\n"
            "  CLASS  FIXED NEURONS  MINED FROM  RECALL  PRECISION  VERIFIED  SECONDS\n"
            "      1             40          71  84.00%     99.00%  UNSAT        1.25\n"
            "      2              3           0   0.00%      0.00%  SAT             0\n"
            "      3              0           0   0.00%      0.00%  -               0\n"
            "exclusivity (UNSAT: no input satisfies both):\n"
            "  CLASSES  EXCLUSIVE  SECONDS\n"
            "  1, 2     UNSAT            0\n"
            "NAP-augmented robustness (largest verified L-inf epsilon, pixels):\n"
            "  INPUT  LABEL  EPSILON WITHOUT NAP  EPSILON WITH NAP  SECONDS  NOTE\n"
            "      7      1               0.0125              0.05        3\n"
            "class 2: an input satisfying its NAP is classified otherwise\n"
            "  counterexample:\n"
            "    input   [0.5]\n"
            "    output  [-1, 2]\n");

  v1::Report unscored;
  unscored.mutable_nap()->add_classes()->set_label(4);
  EXPECT_THAT(FormatReport(unscored), HasSubstr("      4              0           0       -          -  -               0\n"));

  v1::Report unlearnable;
  unlearnable.mutable_unlearnable()->set_verdict(v1::UnlearnableReport::SUSPICIOUS);
  unlearnable.mutable_unlearnable()->set_score(0.93);
  unlearnable.mutable_unlearnable()->add_evidence("a linear model learns it in one epoch");
  EXPECT_EQ(FormatReport(unlearnable),
            "verdict  SUSPICIOUS\n"
            "score    0.93\n"
            "evidence:\n"
            "  - a linear model learns it in one epoch\n");

  v1::Report dlv;
  dlv.mutable_dlv()->set_result(v1::TIMEOUT);
  v1::DlvLayer* layer = dlv.mutable_dlv()->add_layers();
  layer->set_layer("relu1");
  layer->add_spans(0.1);
  layer->set_manipulations(12);
  layer->set_z3_calls(3);
  layer->set_z3_seconds(0.5);
  EXPECT_EQ(FormatReport(dlv),
            "result                TIMEOUT\n"
            "seconds               0\n"
            "adversarial examples  0\n"
            "layers:\n"
            "  LAYER  SPANS  MANIPULATIONS  Z3 CALLS  Z3 SECONDS\n"
            "  relu1  [0.1]             12         3         0.5\n");

  EXPECT_EQ(FormatReport(v1::Report()), "no report\n");
}

TEST(ReportPrintingTest, LongCounterexamplesAreCut) {
  v1::Report report;
  report.mutable_verification()->set_result(v1::SAT);
  for (int i = 0; i < 784; ++i) report.mutable_verification()->mutable_counterexample()->add_input(0);
  EXPECT_THAT(FormatReport(report), HasSubstr(", ... (784 values)]"));
}

}  // namespace
}  // namespace crucible
