// cw against a PyTorch port of Carlini's l2_attack.py (tests/fixtures/attacks/cw_*, made by
// tools/make_cw_reference.py): on the first 100 bundled images the engine's CW-L2 must flip
// as many decisions as the reference with a mean L2 at most 2% above it. Every reported
// adversarial is re-classified here by a separate forward pass. CW-L-inf is held to
// properties (success on most inputs, smaller perturbations than FGSM needs), and bad
// configs must name their field.
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "engines/attack/cw.h"
#include "engines/attack/fgsm.h"
#include "engines/core/batched_forward.h"
#include "engines/core/executor.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"
#include "tests/unit/engines/fake_job_context.h"

namespace crucible {
namespace {

using testing::FakeJobContext;
using testing::FixturePath;
using testing::LoadTensor;

// key=value words of the line of cw_reference.txt whose first word is `first`.
std::map<std::string, std::string> ReferenceLine(const std::string& first) {
  std::ifstream file(FixturePath("attacks/cw_reference.txt"));
  std::string line;
  while (std::getline(file, line)) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.empty() || words[0] != first) continue;
    std::map<std::string, std::string> values;
    for (size_t i = 1; i < words.size(); ++i) {
      std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
      values[kv.first] = kv.second;
    }
    return values;
  }
  ADD_FAILURE() << "no line " << first << " in cw_reference.txt";
  return {};
}

double Number(const std::map<std::string, std::string>& values, const std::string& key) {
  double v = 0;
  EXPECT_TRUE(values.count(key) && absl::SimpleAtod(values.at(key), &v)) << key;
  return v;
}

// The first n bundled images as uint8 values (the engine scales them by 1/255) with labels.
Dataset FixtureImages(int64_t n) {
  Dataset data;
  data.inputs = LoadTensor(FixturePath("data/fmnist_test_1000_images.npy")).Slice(0, n);
  std::vector<int64_t> labels = *ToLabels(*ReadNpyFile(FixturePath("data/fmnist_test_1000_labels.npy")));
  data.labels.assign(labels.begin(), labels.begin() + n);
  return data;
}

v1::JobSpec ReferenceSpec() {
  const auto params = ReferenceLine("params");
  v1::JobSpec spec;
  v1::CwConfig& config = *spec.mutable_cw();
  config.set_norm(v1::L2);
  config.set_confidence(Number(params, "confidence"));
  config.set_learning_rate(Number(params, "learning_rate"));
  config.set_binary_search_steps(Number(params, "binary_search_steps"));
  config.set_max_iterations(Number(params, "max_iterations"));
  config.set_initial_const(Number(params, "initial_const"));
  config.set_abort_early(Number(params, "abort_early") != 0);
  config.set_batch_size(100);
  config.mutable_preprocess()->set_scale(1.0f / 255);
  return spec;
}

// Re-classifies the adversarial_examples.npy artifact with a fresh executor and checks every
// per-example record against it: prediction, success, norms, pixel range. Returns the artifact.
Tensor RecheckReport(const Model& model, const Dataset& data, const v1::AttackReport& report,
                     const FakeJobContext& context, bool targeted, int64_t target_class) {
  const Tensor adversarial = ToFloatTensor(*ParseNpy(context.artifacts.at("adversarial_examples.npy")));
  EXPECT_EQ(adversarial.dim(0), data.num_examples());
  auto executor = Executor::Create(model, {.batch_size = data.num_examples(), .num_threads = 2});
  EXPECT_TRUE(executor.ok());
  const std::vector<int64_t> predicted = ArgMaxRows(*(*executor)->Forward(adversarial));
  Tensor clean = data.inputs;
  for (float& v : clean.values()) v *= 1.0f / 255;
  const std::vector<int64_t> clean_predicted = ArgMaxRows(*(*executor)->Forward(clean));
  const int64_t per = adversarial.num_elements() / adversarial.dim(0);
  EXPECT_EQ(report.examples_size(), data.num_examples());
  for (const v1::AttackExample& example : report.examples()) {
    const int64_t i = example.index();
    EXPECT_EQ(example.adversarial_prediction(), predicted[i]) << i;
    EXPECT_EQ(example.clean_prediction(), clean_predicted[i]) << i;
    const bool success = targeted ? predicted[i] == target_class
                                  : clean_predicted[i] == data.labels[i] && predicted[i] != data.labels[i];
    EXPECT_EQ(example.success(), success) << i;
    double l2 = 0, linf = 0;
    for (int64_t j = i * per; j < (i + 1) * per; ++j) {
      EXPECT_GE(adversarial.at(j), 0.0f);
      EXPECT_LE(adversarial.at(j), 1.0f);
      const double d = double(adversarial.at(j)) - clean.at(j);
      l2 += d * d;
      linf = std::max(linf, std::abs(d));
    }
    EXPECT_NEAR(example.l2(), std::sqrt(l2), 1e-6) << i;
    EXPECT_NEAR(example.linf(), linf, 1e-6) << i;
  }
  return adversarial;
}

class CwReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CwReferenceTest, L2MatchesCarlinisAlgorithmInPyTorch) {
  const std::string name = GetParam();
  auto model = Model::FromOnnxFile(FixturePath("models/" + name + ".onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  const Dataset data = FixtureImages(100);
  const v1::JobSpec spec = ReferenceSpec();
  ASSERT_TRUE(CwEngine().Validate(spec, *model, &data).ok());
  FakeJobContext context(*model, &data);
  auto report = CwEngine().Run(spec, context);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_DOUBLE_EQ(context.last_progress, 1.0);
  const v1::AttackReport& attack = report->attack();
  RecheckReport(*model, data, attack, context, false, 0);
  EXPECT_TRUE(context.artifacts.count("adversarial_examples.png"));

  const auto reference = ReferenceLine(name);
  const double reference_rate = Number(reference, "success_rate");
  const double reference_mean_l2 = Number(reference, "mean_l2");
  EXPECT_DOUBLE_EQ(attack.clean_accuracy(), Number(reference, "clean_correct") / 100);
  EXPECT_NEAR(attack.success_rate(), reference_rate, 1e-6);
  EXPECT_LE(attack.mean_l2(), 1.02 * reference_mean_l2);
  // Per example the two float32 runs drift apart a little; their distances stay close.
  const Tensor reference_l2 = LoadTensor(FixturePath("attacks/cw_" + name + "_adversarial_l2.npy"));
  int64_t within_ten_percent = 0, both = 0;
  for (const v1::AttackExample& example : attack.examples()) {
    if (!example.success() || reference_l2.at(example.index()) < 0) continue;
    ++both;
    within_ten_percent += std::abs(example.l2() - reference_l2.at(example.index())) <= 0.1 * reference_l2.at(example.index());
  }
  EXPECT_GE(within_ten_percent, both * 9 / 10);
  std::cout << name << ": success rate " << attack.success_rate() << " (reference " << reference_rate
            << "), mean L2 " << attack.mean_l2() << " (reference " << reference_mean_l2 << ", ratio "
            << attack.mean_l2() / reference_mean_l2 << "), median L2 " << attack.median_l2() << " (reference "
            << Number(reference, "median_l2") << ")\n";
}

INSTANTIATE_TEST_SUITE_P(PyTorch, CwReferenceTest, ::testing::Values("fmnist_mlp", "fmnist_lenet"));

// Examples are optimised independently: running them one batch or several gives the same adversarials.
TEST(CwEngineTest, ResultsDoNotDependOnTheBatching) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok());
  const Dataset data = FixtureImages(12);
  v1::JobSpec spec = ReferenceSpec();
  spec.mutable_cw()->set_batch_size(12);
  FakeJobContext whole(*model, &data);
  ASSERT_TRUE(CwEngine().Run(spec, whole).ok());
  spec.mutable_cw()->set_batch_size(5);
  FakeJobContext split(*model, &data);
  ASSERT_TRUE(CwEngine().Run(spec, split).ok());
  const Tensor a = ToFloatTensor(*ParseNpy(whole.artifacts.at("adversarial_examples.npy")));
  const Tensor b = ToFloatTensor(*ParseNpy(split.artifacts.at("adversarial_examples.npy")));
  EXPECT_LE(testing::MaxScaledError(a, b), 1e-4);
}

// CW-L-inf against independent properties: it flips most decisions, every reported norm is
// what the artifact holds, and FGSM with the epsilon CW needed on average flips far fewer.
TEST(CwEngineTest, LinfFindsSmallerPerturbationsThanFgsmNeeds) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(model.ok());
  const Dataset data = FixtureImages(32);
  v1::JobSpec spec;
  v1::CwConfig& config = *spec.mutable_cw();
  config.set_norm(v1::LINF);
  config.set_learning_rate(0.05f);
  config.set_max_iterations(50);
  config.set_initial_const(0.1f);
  config.mutable_preprocess()->set_scale(1.0f / 255);
  ASSERT_TRUE(CwEngine().Validate(spec, *model, &data).ok());
  FakeJobContext context(*model, &data);
  auto report = CwEngine().Run(spec, context);
  ASSERT_TRUE(report.ok()) << report.status();
  const v1::AttackReport& cw = report->attack();
  RecheckReport(*model, data, cw, context, false, 0);
  EXPECT_GE(cw.success_rate(), 0.9);
  EXPECT_GT(cw.mean_linf(), 0.0);
  double largest_linf = 0;
  for (const v1::AttackExample& example : cw.examples()) {
    if (example.success()) largest_linf = std::max(largest_linf, example.linf());
  }
  EXPECT_LT(largest_linf, 0.5);

  v1::JobSpec fgsm;
  fgsm.mutable_fgsm()->set_epsilon(static_cast<float>(cw.mean_linf()));
  fgsm.mutable_fgsm()->mutable_preprocess()->set_scale(1.0f / 255);
  FakeJobContext fgsm_context(*model, &data);
  auto fgsm_report = FgsmEngine().Run(fgsm, fgsm_context);
  ASSERT_TRUE(fgsm_report.ok()) << fgsm_report.status();
  std::cout << "CW-Linf: success rate " << cw.success_rate() << ", mean Linf " << cw.mean_linf()
            << "; FGSM at that epsilon: success rate " << fgsm_report->attack().success_rate() << "\n";
  EXPECT_LT(fgsm_report->attack().success_rate(), cw.success_rate() - 0.2);
}

TEST(CwEngineTest, TargetedL2ReachesTheTargetClass) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(model.ok());
  const Dataset data = FixtureImages(16);
  v1::JobSpec spec = ReferenceSpec();
  spec.mutable_cw()->set_targeted(true);
  spec.mutable_cw()->set_target_class(3);
  spec.mutable_cw()->set_confidence(1.0f);
  spec.mutable_cw()->set_learning_rate(0.1f);
  FakeJobContext context(*model, &data);
  auto report = CwEngine().Run(spec, context);
  ASSERT_TRUE(report.ok()) << report.status();
  const Tensor adversarial = RecheckReport(*model, data, report->attack(), context, true, 3);
  EXPECT_GE(report->attack().success_rate(), 0.9);
  // kappa = 1: where the attack succeeded, the target's logit leads every other by at least 1.
  auto executor = Executor::Create(*model, {.batch_size = 16, .num_threads = 2});
  ASSERT_TRUE(executor.ok());
  const Tensor logits = *(*executor)->Forward(adversarial);
  for (const v1::AttackExample& example : report->attack().examples()) {
    if (!example.success() || example.clean_prediction() == 3) continue;
    const float* z = logits.data() + example.index() * 10;
    for (int c = 0; c < 10; ++c) {
      if (c != 3) EXPECT_GE(z[3] - z[c], 1.0f - 1e-4f) << example.index() << " class " << c;
    }
  }
}

TEST(CwEngineTest, CancellationStopsTheJob) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok());
  const Dataset data = FixtureImages(8);
  v1::JobSpec spec;
  spec.mutable_cw()->mutable_preprocess()->set_scale(1.0f / 255);  // Reference defaults: 90,000 iterations.
  FakeJobContext context(*model, &data);
  context.cancel_after_progress_calls = 50;
  auto report = CwEngine().Run(spec, context);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(context.progress_calls, 60);
}

TEST(CwEngineTest, InvalidConfigsNameTheField) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok());
  Dataset data;
  data.inputs = Tensor({2, 1, 28, 28});
  data.labels = {0, 1};
  const std::vector<std::pair<std::string, std::function<void(v1::CwConfig&)>>> cases = {
      {"cw.confidence", [](v1::CwConfig& c) { c.set_confidence(-0.5f); }},
      {"cw.confidence", [](v1::CwConfig& c) { c.set_confidence(NAN); }},
      {"cw.learning_rate", [](v1::CwConfig& c) { c.set_learning_rate(-0.01f); }},
      {"cw.learning_rate", [](v1::CwConfig& c) { c.set_learning_rate(INFINITY); }},
      {"cw.initial_const", [](v1::CwConfig& c) { c.set_initial_const(-1.0f); }},
      {"cw.binary_search_steps", [](v1::CwConfig& c) { c.set_binary_search_steps(-1); }},
      {"cw.max_iterations", [](v1::CwConfig& c) { c.set_max_iterations(-5); }},
      {"cw.norm", [](v1::CwConfig& c) { c.set_norm(static_cast<v1::Norm>(7)); }},
      {"cw.target_class", [](v1::CwConfig& c) { c.set_targeted(true); c.set_target_class(10); }},
      {"cw.target_class", [](v1::CwConfig& c) { c.set_targeted(true); c.set_target_class(-2); }},
      {"cw.batch_size", [](v1::CwConfig& c) { c.set_batch_size(-1); }},
      {"cw.threads", [](v1::CwConfig& c) { c.set_threads(-1); }},
      {"preprocess.std", [](v1::CwConfig& c) { c.mutable_preprocess()->add_std(0.0f); }},
  };
  for (const auto& [field, mutate] : cases) {
    v1::JobSpec spec;
    mutate(*spec.mutable_cw());
    const absl::Status status = CwEngine().Validate(spec, *model, &data);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(field));
  }
  v1::JobSpec fine;
  fine.mutable_cw()->set_targeted(true);
  fine.mutable_cw()->set_target_class(-1);
  EXPECT_TRUE(CwEngine().Validate(fine, *model, &data).ok());
  const absl::Status no_dataset = CwEngine().Validate(fine, *model, nullptr);
  EXPECT_EQ(no_dataset.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_dataset.message()), ::testing::HasSubstr("dataset"));
}

}  // namespace
}  // namespace crucible
