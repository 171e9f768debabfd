// The nap engine (engines/nap/nap_engine.h) on the fixture MLP and the 1,000
// bundled Fashion-MNIST test images: submit-time validation naming the field;
// a mining job's report and nap.json against an independent double forward
// pass (tests/unit/engines/nap/double_forward.h); the artifact fed back as
// supplied patterns; verification results mapped back to pixels (a SAT
// counterexample satisfies the NAP and is misclassified when re-checked here,
// an exclusivity witness satisfies both NAPs); robustness; cancellation.
#include "engines/nap/nap_engine.h"

#include <cmath>
#include <map>
#include <random>

#include "engines/core/npy.h"
#include "engines/nap/hidden_layers.h"
#include "engines/nap/nap_miner.h"
#include "engines/nap/nap_set.h"
#include "engines/verify/network.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"
#include "tests/unit/engines/fake_job_context.h"
#include "tests/unit/engines/nap/double_forward.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;
using testing::FixturePath;
using testing::LoadTensor;
using testing::PatternMap;
using testing::Reference;

constexpr int64_t kClasses = 10;
// Recording the activations takes the first 30% of a verifying job's progress bar.
constexpr double kRecordShareBound = 0.3 + 1e-9;

class NapEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new Model(std::move(*model));
    data_ = new Dataset;
    data_->inputs = LoadTensor(FixturePath("data/fmnist_test_1000_images.npy"));
    data_->input_dtype = DType::kUint8;
    auto labels = ReadNpyFile(FixturePath("data/fmnist_test_1000_labels.npy"));
    ASSERT_TRUE(labels.ok());
    data_->labels = *ToLabels(*labels);
    auto net = ExtractAffineNetwork(*model_);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = new AffineNetwork(std::move(*net));
    reference_ = new Reference(testing::DoubleForward(*net_, data_->inputs, 1.0 / 255));
  }

  static v1::JobSpec MiningSpec() {
    v1::JobSpec spec;
    v1::NapConfig& config = *spec.mutable_nap();
    config.mutable_preprocess()->set_scale(1.0f / 255);
    config.set_seed(7);
    config.set_mine_only(true);
    return spec;
  }

  struct Outcome {
    absl::StatusOr<v1::Report> report = absl::UnknownError("not run");
    std::map<std::string, std::string> artifacts = {};
    double last_progress = 0;
  };

  static Outcome RunNap(const v1::JobSpec& spec, const Dataset* data, int cancel_after_progress = -1) {
    NapEngine engine;
    if (absl::Status valid = engine.Validate(spec, *model_, data); !valid.ok()) return {.report = valid};
    testing::FakeJobContext context(*model_, data);
    if (cancel_after_progress >= 0) context.cancel_after_progress_calls = cancel_after_progress;
    Outcome outcome{.report = engine.Run(spec, context)};
    outcome.artifacts = context.artifacts;
    outcome.last_progress = context.last_progress;
    return outcome;
  }

  // The delta rule on the reference activations over the split's training part.
  static std::vector<PatternMap> ExpectedPatterns(const std::vector<int64_t>& train, double delta) {
    std::vector<PatternMap> patterns(kClasses);
    for (int64_t c = 0; c < kClasses; ++c) {
      std::vector<int64_t> members;
      for (int64_t i : train) {
        if (data_->labels[i] == c && reference_->predicted[i] == c) members.push_back(i);
      }
      for (int32_t k = 0; k < 2; ++k) {
        for (size_t j = 0; j < reference_->pre[0][k].size(); ++j) {
          int64_t on = 0;
          for (int64_t i : members) on += reference_->pre[i][k][j] > 0;
          if (on >= (delta - 1e-6) * members.size()) patterns[c][{k, j}] = 1;
          else if (members.size() - on >= (delta - 1e-6) * members.size()) patterns[c][{k, j}] = -1;
        }
      }
    }
    return patterns;
  }

  // Recall and precision of `patterns` over `inputs`, from the reference.
  static void ExpectStatistics(const v1::NapReport& report, const std::vector<PatternMap>& patterns,
                               const std::vector<int64_t>& inputs) {
    int64_t ambiguous = 0;
    std::vector<int64_t> in_class(kClasses), matched(kClasses), hits(kClasses);
    for (int64_t i : inputs) {
      int matches = 0;
      for (int64_t c = 0; c < kClasses; ++c) {
        const bool sat = testing::Satisfies(*reference_, i, patterns[c]);
        in_class[c] += data_->labels[i] == c;
        matched[c] += sat;
        hits[c] += sat && data_->labels[i] == c;
        matches += sat;
      }
      ambiguous += matches >= 2;
    }
    EXPECT_EQ(report.held_out_inputs(), static_cast<int64_t>(inputs.size()));
    EXPECT_EQ(report.ambiguous_inputs(), ambiguous);
    ASSERT_EQ(report.classes_size(), kClasses);
    for (int64_t c = 0; c < kClasses; ++c) {
      const v1::NapClass& row = report.classes(c);
      EXPECT_EQ(row.label(), c);
      EXPECT_EQ(row.fixed_neurons(), static_cast<int64_t>(patterns[c].size())) << c;
      EXPECT_EQ(row.held_out_inputs(), in_class[c]) << c;
      EXPECT_EQ(row.matched_inputs(), matched[c]) << c;
      EXPECT_DOUBLE_EQ(row.recall(), double(hits[c]) / in_class[c]) << c;
      EXPECT_DOUBLE_EQ(row.precision(), matched[c] == 0 ? 0.0 : double(hits[c]) / matched[c]) << c;
    }
  }

  // Pixels of a reported counterexample as network input under `preprocess` (scale aside).
  static std::vector<double> NetworkInput(const v1::Counterexample& example, float mean, float std) {
    std::vector<double> x;
    for (double p : example.input()) x.push_back((static_cast<float>(p) - mean) / std);
    return x;
  }

  static Model* model_;
  static Dataset* data_;
  static AffineNetwork* net_;
  static Reference* reference_;
};

Model* NapEngineTest::model_ = nullptr;
Dataset* NapEngineTest::data_ = nullptr;
AffineNetwork* NapEngineTest::net_ = nullptr;
Reference* NapEngineTest::reference_ = nullptr;

TEST_F(NapEngineTest, BadConfigsAreRejectedAtSubmitNamingTheField) {
  struct Case {
    std::function<void(v1::NapConfig&)> change;
    std::string field;
    absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  };
  auto naps = [](const std::string& json) {
    return [json](v1::NapConfig& c) { *c.mutable_patterns() = *NapSetFromJson(json); };
  };
  const std::vector<Case> cases = {
      {[](v1::NapConfig& c) { c.set_delta(0.5f); }, "nap.delta"},
      {[](v1::NapConfig& c) { c.set_delta(1.01f); }, "nap.delta"},
      {[](v1::NapConfig& c) { c.set_delta(-0.9f); }, "nap.delta"},
      {[](v1::NapConfig& c) { c.set_train_fraction(1.0f); }, "nap.train_fraction"},
      {[](v1::NapConfig& c) { c.set_train_fraction(-0.2f); }, "nap.train_fraction"},
      {[](v1::NapConfig& c) { c.add_layers("/3/Gemm_output_0"); }, "nap.layers[0]"},
      {[](v1::NapConfig& c) { c.add_layers("1"); c.add_layers("2"); }, "nap.layers[1]"},
      {naps(R"({"patterns": [{"label": 4, "neurons": [{"layer": 0, "neuron": 128, "state": "ACTIVE"}]}]})"),
       "nap.patterns.patterns[0].neurons[0].neuron"},
      {naps(R"({"patterns": [{"label": 4, "neurons": [{"layer": 2, "neuron": 1, "state": "ACTIVE"}]}]})"),
       "nap.patterns.patterns[0].neurons[0].layer"},
      {naps(R"({"patterns": [{"label": 0}, {"label": 10}]})"), "nap.patterns.patterns[1].label"},
      {naps(R"({"patterns": []})"), "nap.patterns"},
      {[](v1::NapConfig& c) { c.add_classes(3); c.add_classes(10); c.set_mine_only(false); }, "nap.classes[1]"},
      {[](v1::NapConfig& c) { c.add_robustness_inputs(1000); c.set_mine_only(false); }, "nap.robustness_inputs[0]"},
      {[](v1::NapConfig& c) { c.set_exclusivity(true); }, "nap.mine_only"},
      {[](v1::NapConfig& c) { c.set_bisection_steps(31); }, "nap.bisection_steps"},
      {[](v1::NapConfig& c) { c.mutable_preprocess()->add_std(0.0f); }, "preprocess.std"},
  };
  NapEngine engine;
  for (size_t i = 0; i < cases.size(); ++i) {
    v1::JobSpec spec = MiningSpec();
    cases[i].change(*spec.mutable_nap());
    const absl::Status status = engine.Validate(spec, *model_, data_);
    EXPECT_EQ(status.code(), cases[i].code) << i << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(cases[i].field)) << i;
  }
  EXPECT_THAT(engine.Validate(MiningSpec(), *model_, nullptr).message(), HasSubstr("dataset"));
  Dataset unlabelled;
  unlabelled.inputs = data_->inputs;
  EXPECT_THAT(engine.Validate(MiningSpec(), *model_, &unlabelled).message(), HasSubstr("labels"));
  EXPECT_TRUE(engine.Validate(MiningSpec(), *model_, data_).ok());

  // The LeNet's MaxPool has no affine form: mining is fine, verification is not.
  auto lenet = Model::FromOnnxFile(FixturePath("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(lenet.ok());
  EXPECT_TRUE(engine.Validate(MiningSpec(), *lenet, data_).ok());
  v1::JobSpec verify = MiningSpec();
  verify.mutable_nap()->set_mine_only(false);
  const absl::Status unsupported = engine.Validate(verify, *lenet, data_);
  EXPECT_EQ(unsupported.code(), absl::StatusCode::kFailedPrecondition) << unsupported;
  EXPECT_THAT(unsupported.message(), HasSubstr("MaxPool"));
}

TEST_F(NapEngineTest, MinedReportAndArtifactMatchAnIndependentForwardPass) {
  v1::JobSpec spec = MiningSpec();
  spec.mutable_nap()->set_delta(0.95f);
  const Outcome outcome = RunNap(spec, data_);
  ASSERT_TRUE(outcome.report.ok()) << outcome.report.status();
  EXPECT_DOUBLE_EQ(outcome.last_progress, 1.0);
  const v1::NapReport& report = outcome.report->nap();
  EXPECT_TRUE(report.mined());
  EXPECT_FLOAT_EQ(report.delta(), 0.95f);
  EXPECT_THAT(report.layers(), ::testing::ElementsAre("/2/Relu_output_0", "/4/Relu_output_0"));
  const DatasetSplit split = SplitInputs(1000, 0.8, 7);
  EXPECT_EQ(report.training_inputs(), 800);
  const std::vector<PatternMap> expected = ExpectedPatterns(split.train, 0.95);
  ExpectStatistics(report, expected, split.held_out);
  for (const v1::NapClass& row : report.classes()) EXPECT_EQ(row.verified(), v1::VERIFICATION_RESULT_UNSPECIFIED);

  ASSERT_TRUE(outcome.artifacts.count("nap.json"));
  absl::StatusOr<v1::NapSet> set = NapSetFromJson(outcome.artifacts.at("nap.json"));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_FLOAT_EQ(set->delta(), 0.95f);
  auto layers = HiddenReluLayers(*model_);
  auto patterns = PatternsFromNapSet(*set, *layers, kClasses, "nap.json");
  ASSERT_TRUE(patterns.ok()) << patterns.status();
  ASSERT_EQ(patterns->size(), static_cast<size_t>(kClasses));
  for (int64_t c = 0; c < kClasses; ++c) {
    EXPECT_EQ(testing::ToMap((*patterns)[c]), expected[c]) << c;
    EXPECT_EQ(set->patterns(c).mined_from(), report.classes(c).mined_from());
  }
}

TEST_F(NapEngineTest, SuppliedPatternsAreEvaluatedOnEveryInput) {
  const Outcome mined = RunNap(MiningSpec(), data_);
  ASSERT_TRUE(mined.report.ok()) << mined.report.status();
  v1::JobSpec spec = MiningSpec();
  *spec.mutable_nap()->mutable_patterns() = *NapSetFromJson(mined.artifacts.at("nap.json"));
  const Outcome supplied = RunNap(spec, data_);
  ASSERT_TRUE(supplied.report.ok()) << supplied.report.status();
  const v1::NapReport& report = supplied.report->nap();
  EXPECT_FALSE(report.mined());
  std::vector<int64_t> all(1000);
  for (int64_t i = 0; i < 1000; ++i) all[i] = i;
  ExpectStatistics(report, ExpectedPatterns(SplitInputs(1000, 0.8, 7).train, 0.99), all);
  for (int64_t c = 0; c < kClasses; ++c) {
    EXPECT_EQ(report.classes(c).mined_from(), mined.report->nap().classes(c).mined_from());
  }
  // The artifact of the second job is the first one's.
  EXPECT_EQ(supplied.artifacts.at("nap.json"), mined.artifacts.at("nap.json"));
}

TEST_F(NapEngineTest, CounterexamplesAndWitnessesHoldUpInPixels) {
  // Patterns loose enough that other classes satisfy them, under a preprocess
  // that is not the identity so the pixel mapping is exercised.
  constexpr float kMean = 0.1f, kStd = 0.8f;
  v1::JobSpec spec;
  v1::NapConfig& config = *spec.mutable_nap();
  config.mutable_preprocess()->set_scale(1.0f / 255);
  config.mutable_preprocess()->add_mean(kMean);
  config.mutable_preprocess()->add_std(kStd);
  config.set_timeout_seconds(20);
  config.set_exclusivity(true);
  *config.mutable_patterns() = *NapSetFromJson(R"({"patterns": [
      {"label": 1, "neurons": [{"layer": 1, "neuron": 3, "state": "ACTIVE"}]},
      {"label": 5, "neurons": [{"layer": 1, "neuron": 3, "state": "INACTIVE"}]},
      {"label": 8, "neurons": [{"layer": 0, "neuron": 10, "state": "ACTIVE"}]}]})");
  const Outcome outcome = RunNap(spec, nullptr);
  ASSERT_TRUE(outcome.report.ok()) << outcome.report.status();
  const v1::NapReport& report = outcome.report->nap();
  ASSERT_EQ(report.classes_size(), 3);
  const std::vector<PatternMap> maps = {{{{1, 3}, 1}}, {{{1, 3}, -1}}, {{{0, 10}, 1}}};
  for (int r = 0; r < 3; ++r) {
    const v1::NapClass& row = report.classes(r);
    SCOPED_TRACE(row.label());
    ASSERT_EQ(row.verified(), v1::SAT) << row.detail();
    ASSERT_EQ(row.counterexample().input_size(), 784);
    for (double p : row.counterexample().input()) {
      EXPECT_GE(p, -1e-6);
      EXPECT_LE(p, 1 + 1e-6);
    }
    Reference ref;
    testing::ForwardOne(*net_, NetworkInput(row.counterexample(), kMean, kStd), ref);
    EXPECT_TRUE(testing::Satisfies(ref, 0, maps[r]));
    EXPECT_NE(ref.predicted[0], row.label());
    ASSERT_EQ(row.counterexample().output_size(), kClasses);
    for (int64_t c = 0; c < kClasses; ++c) EXPECT_NEAR(row.counterexample().output(c), ref.logits[0][c], 1e-3);
  }
  ASSERT_EQ(report.exclusivity_size(), 3);
  for (const v1::NapExclusivity& pair : report.exclusivity()) {
    SCOPED_TRACE(absl::StrCat(pair.first_label(), " ", pair.second_label()));
    if (pair.first_label() == 1 && pair.second_label() == 5) {
      EXPECT_EQ(pair.result(), v1::UNSAT);  // neuron (1, 3) on in one, off in the other
      continue;
    }
    ASSERT_EQ(pair.result(), v1::SAT) << pair.detail();
    Reference ref;
    testing::ForwardOne(*net_, NetworkInput(pair.witness(), kMean, kStd), ref);
    const int first = pair.first_label() == 1 ? 0 : 1;
    EXPECT_TRUE(testing::Satisfies(ref, 0, maps[first]));
    EXPECT_TRUE(testing::Satisfies(ref, 0, maps[2]));
  }
}

TEST_F(NapEngineTest, MinedNapsAreVerifiedAndRobustnessIsBisected) {
  v1::JobSpec spec = MiningSpec();
  v1::NapConfig& config = *spec.mutable_nap();
  config.set_mine_only(false);
  config.add_classes(1);
  config.add_classes(8);
  config.set_timeout_seconds(3);
  config.add_robustness_inputs(0);
  config.add_robustness_inputs(2);
  config.set_max_epsilon(0.02f);
  config.set_bisection_steps(3);
  const Outcome outcome = RunNap(spec, data_);
  ASSERT_TRUE(outcome.report.ok()) << outcome.report.status();
  const v1::NapReport& report = outcome.report->nap();
  for (const v1::NapClass& row : report.classes()) {
    SCOPED_TRACE(row.label());
    if (row.label() != 1 && row.label() != 8) {
      EXPECT_EQ(row.verified(), v1::VERIFICATION_RESULT_UNSPECIFIED);
      continue;
    }
    EXPECT_NE(row.verified(), v1::VERIFICATION_RESULT_UNSPECIFIED);
    std::printf("class %lld: %s in %.2f s (%s)\n", static_cast<long long>(row.label()),
                v1::VerificationResult_Name(row.verified()).c_str(), row.seconds(), row.detail().c_str());
    if (row.verified() == v1::SAT) {
      Reference ref;
      testing::ForwardOne(*net_, NetworkInput(row.counterexample(), 0, 1), ref);
      EXPECT_NE(ref.predicted[0], row.label());
    }
  }
  ASSERT_EQ(report.robustness_size(), 2);
  EXPECT_EQ(report.robustness(1).detail(), "");
  for (const v1::NapRobustness& r : report.robustness()) {
    SCOPED_TRACE(r.input_index());
    EXPECT_EQ(r.label(), data_->labels[r.input_index()]);
    EXPECT_EQ(r.correctly_classified(), reference_->predicted[r.input_index()] == r.label());
    EXPECT_GE(r.epsilon_with_nap(), r.epsilon_without_nap());
    EXPECT_LE(r.epsilon_with_nap(), 0.02 + 1e-6);
    std::printf("input %lld: epsilon %.4f without NAP, %.4f with\n", static_cast<long long>(r.input_index()),
                r.epsilon_without_nap(), r.epsilon_with_nap());
    // A verified epsilon survives random corners of its box (pixels moved by +-epsilon, clipped to [0, 1]).
    std::mt19937 rng(r.input_index());
    const int64_t size = data_->inputs.num_elements() / data_->num_examples();
    for (int sample = 0; sample < 200 && r.epsilon_without_nap() > 0; ++sample) {
      std::vector<double> x(size);
      for (int64_t p = 0; p < size; ++p) {
        const double pixel = data_->inputs.at(r.input_index() * size + p) / 255.0;
        x[p] = std::clamp(pixel + (rng() % 2 ? 1 : -1) * r.epsilon_without_nap(), 0.0, 1.0);
      }
      Reference ref;
      testing::ForwardOne(*net_, x, ref);
      ASSERT_EQ(ref.predicted[0], r.label()) << "sample " << sample;
    }
  }
}

TEST_F(NapEngineTest, CancellationStopsTheJobWhileRecordingOrVerifying) {
  // The 1,000 inputs are one batch: cancelled before it (nap_miner_test cancels between batches).
  const Outcome recording = RunNap(MiningSpec(), data_, /*cancel_after_progress=*/0);
  EXPECT_EQ(recording.report.status().code(), absl::StatusCode::kCancelled) << recording.report.status();
  EXPECT_EQ(recording.last_progress, 0.0);

  v1::JobSpec spec = MiningSpec();
  spec.mutable_nap()->set_mine_only(false);
  spec.mutable_nap()->set_exclusivity(true);
  const Outcome verifying = RunNap(spec, data_, /*cancel_after_progress=*/6);
  EXPECT_EQ(verifying.report.status().code(), absl::StatusCode::kCancelled) << verifying.report.status();
  EXPECT_GT(verifying.last_progress, kRecordShareBound);
  EXPECT_LT(verifying.last_progress, 1.0);
}

}  // namespace
}  // namespace crucible
