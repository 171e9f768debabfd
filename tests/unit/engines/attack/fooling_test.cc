// The fooling engine on the fixture CNN (fmnist_lenet): with the default
// budget both methods reach 0.99 softmax confidence for every class, checked
// again by an independent forward pass (a fresh Executor over the
// fooling_images.npy artifact, softmax computed here); a seed fixes the
// result; bad configs are INVALID_ARGUMENT naming the field.
#include "engines/attack/fooling.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "engines/core/executor.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"
#include "tests/unit/engines/fake_job_context.h"
#include "tests/unit/engines/core/test_png.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;
using testing::FakeJobContext;
using testing::FixturePath;

const Model& LeNet() {
  static const Model* model = [] {
    auto loaded = Model::FromOnnxFile(FixturePath("models/fmnist_lenet.onnx"));
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new Model(std::move(*loaded));
  }();
  return *model;
}

// Softmax of the model's logits on the images of the artifact, row by row.
std::vector<std::vector<double>> IndependentProbabilities(const Model& model, const std::string& npy) {
  auto array = ParseNpy(npy);
  EXPECT_TRUE(array.ok()) << array.status();
  const Tensor images = ToFloatTensor(*array);
  const int64_t n = images.dim(0);
  auto executor = Executor::Create(model, {.batch_size = n, .num_threads = 1});
  EXPECT_TRUE(executor.ok()) << executor.status();
  auto logits = (*executor)->Forward(images);
  EXPECT_TRUE(logits.ok()) << logits.status();
  const int64_t classes = logits->num_elements() / n;
  std::vector<std::vector<double>> probabilities(n, std::vector<double>(classes));
  for (int64_t i = 0; i < n; ++i) {
    double total = 0;
    for (int64_t c = 0; c < classes; ++c) total += std::exp(double(logits->at(i * classes + c)));
    for (int64_t c = 0; c < classes; ++c) probabilities[i][c] = std::exp(double(logits->at(i * classes + c))) / total;
  }
  for (float v : images.values()) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
  return probabilities;
}

// Runs the engine and checks that every class reached 0.99 by the report and
// by an independent forward pass of the artifact; returns the report.
v1::FoolingReport ExpectEveryClassFooled(v1::JobSpec spec, FakeJobContext& context) {
  FoolingEngine engine;
  EXPECT_TRUE(engine.Validate(spec, LeNet(), nullptr).ok());
  auto report = engine.Run(spec, context);
  EXPECT_TRUE(report.ok()) << report.status();
  if (!report.ok()) return {};
  const v1::FoolingReport& fooling = report->fooling();
  EXPECT_EQ(fooling.classes_size(), 10);
  const auto probabilities = IndependentProbabilities(LeNet(), context.artifacts["fooling_images.npy"]);
  EXPECT_EQ(probabilities.size(), size_t(fooling.classes_size()));
  for (int k = 0; k < fooling.classes_size() && k < int(probabilities.size()); ++k) {
    const v1::FoolingClass& c = fooling.classes(k);
    EXPECT_EQ(c.target(), k);
    EXPECT_TRUE(c.reached()) << "class " << k;
    EXPECT_GE(c.confidence(), 0.99) << "class " << k;
    EXPECT_GE(probabilities[k][k], 0.99) << "class " << k << " by an independent forward pass";
    EXPECT_NEAR(probabilities[k][k], c.confidence(), 1e-4) << "class " << k;
  }
  const testing::DecodedPng png = testing::DecodePng(context.artifacts["fooling_images.png"]);
  EXPECT_EQ(png.color_type, 2);
  EXPECT_GT(png.width, 10u * 28u);
  return fooling;
}

TEST(FoolingEngineTest, EvolutionFoolsEveryClassWithTheDefaultBudget) {
  v1::JobSpec spec;
  spec.mutable_fooling()->set_method(v1::FoolingConfig::EVOLUTION);
  FakeJobContext context(LeNet(), nullptr, /*threads=*/1);
  const v1::FoolingReport report = ExpectEveryClassFooled(spec, context);
  for (const v1::FoolingClass& c : report.classes()) EXPECT_GT(c.iterations(), 0);
  EXPECT_GT(context.progress_calls, 0);
}

TEST(FoolingEngineTest, GradientFoolsEveryClassWithTheDefaultBudget) {
  v1::JobSpec spec;
  spec.mutable_fooling()->set_method(v1::FoolingConfig::GRADIENT);
  FakeJobContext context(LeNet(), nullptr, /*threads=*/1);
  ExpectEveryClassFooled(spec, context);
}

TEST(FoolingEngineTest, GradientWithBlurFoolsEveryClass) {
  v1::JobSpec spec;
  spec.mutable_fooling()->set_method(v1::FoolingConfig::GRADIENT);
  spec.mutable_fooling()->set_blur_every(4);
  FakeJobContext context(LeNet(), nullptr, /*threads=*/1);
  ExpectEveryClassFooled(spec, context);
}

std::string RunForArtifact(const v1::JobSpec& spec) {
  FakeJobContext context(LeNet(), nullptr, /*threads=*/1);
  auto report = FoolingEngine().Run(spec, context);
  EXPECT_TRUE(report.ok()) << report.status();
  return context.artifacts["fooling_images.npy"];
}

TEST(FoolingEngineTest, SameSeedSameImagesOtherSeedOtherImages) {
  for (auto method : {v1::FoolingConfig::EVOLUTION, v1::FoolingConfig::GRADIENT}) {
    v1::JobSpec spec;
    v1::FoolingConfig& config = *spec.mutable_fooling();
    config.set_method(method);
    config.add_classes(3);
    config.add_classes(8);
    config.set_generations(20);
    config.set_steps(10);
    config.set_seed(7);
    const std::string first = RunForArtifact(spec);
    EXPECT_EQ(RunForArtifact(spec), first) << "method " << method;
    config.set_seed(8);
    EXPECT_NE(RunForArtifact(spec), first) << "method " << method;
  }
}

TEST(FoolingEngineTest, ReportsRequestedClassesInOrderAndStopsAtTheBudget) {
  v1::JobSpec spec;
  v1::FoolingConfig& config = *spec.mutable_fooling();
  config.add_classes(7);
  config.add_classes(2);
  config.set_generations(3);
  config.set_population(8);
  config.set_target_confidence(0.999999f);
  FakeJobContext context(LeNet(), nullptr, /*threads=*/1);
  auto report = FoolingEngine().Run(spec, context);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->fooling().classes_size(), 2);
  EXPECT_EQ(report->fooling().classes(0).target(), 7);
  EXPECT_EQ(report->fooling().classes(1).target(), 2);
  const auto probabilities = IndependentProbabilities(LeNet(), context.artifacts["fooling_images.npy"]);
  ASSERT_EQ(probabilities.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    const v1::FoolingClass& c = report->fooling().classes(k);
    EXPECT_FALSE(c.reached());
    EXPECT_EQ(c.iterations(), 3);
    EXPECT_NEAR(probabilities[k][c.target()], c.confidence(), 1e-4);
  }
}

TEST(FoolingEngineTest, Cancelled) {
  v1::JobSpec spec;
  FakeJobContext context(LeNet(), nullptr, /*threads=*/1);
  context.cancelled = true;
  EXPECT_EQ(FoolingEngine().Run(spec, context).status().code(), absl::StatusCode::kCancelled);
}

TEST(FoolingEngineTest, RejectsBadConfigsNamingTheField) {
  const std::vector<std::pair<std::function<void(v1::FoolingConfig&)>, std::string>> cases = {
      {[](v1::FoolingConfig& c) { c.set_target_confidence(1.0f); }, "fooling.target_confidence"},
      {[](v1::FoolingConfig& c) { c.set_target_confidence(-0.5f); }, "fooling.target_confidence"},
      {[](v1::FoolingConfig& c) { c.set_target_confidence(NAN); }, "fooling.target_confidence"},
      {[](v1::FoolingConfig& c) { c.add_classes(10); }, "fooling.classes"},
      {[](v1::FoolingConfig& c) { c.add_classes(-1); }, "fooling.classes"},
      {[](v1::FoolingConfig& c) {
         c.add_classes(4);
         c.add_classes(4);
       },
       "fooling.classes"},
      {[](v1::FoolingConfig& c) { c.set_generations(-1); }, "fooling.generations"},
      {[](v1::FoolingConfig& c) { c.set_population(-3); }, "fooling.population"},
      {[](v1::FoolingConfig& c) { c.set_steps(-1); }, "fooling.steps"},
      {[](v1::FoolingConfig& c) { c.set_method(static_cast<v1::FoolingConfig::Method>(7)); }, "fooling.method"},
      {[](v1::FoolingConfig& c) { c.set_mutation_rate(1.5f); }, "fooling.mutation_rate"},
      {[](v1::FoolingConfig& c) { c.set_step_size(-0.1f); }, "fooling.step_size"},
      {[](v1::FoolingConfig& c) { c.set_l2_decay(1.0f); }, "fooling.l2_decay"},
      {[](v1::FoolingConfig& c) { c.set_blur_every(-2); }, "fooling.blur_every"},
      {[](v1::FoolingConfig& c) { c.set_threads(-1); }, "fooling.threads"},
      {[](v1::FoolingConfig& c) { c.mutable_preprocess()->add_std(0.0f); }, "std"},
  };
  for (const auto& [mutate, field] : cases) {
    v1::JobSpec spec;
    mutate(*spec.mutable_fooling());
    const absl::Status status = FoolingEngine().Validate(spec, LeNet(), nullptr);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(std::string(status.message()), HasSubstr(field));
  }
  v1::JobSpec good;
  good.mutable_fooling()->add_classes(9);
  good.mutable_fooling()->set_target_confidence(0.5f);
  EXPECT_TRUE(FoolingEngine().Validate(good, LeNet(), nullptr).ok());
}

}  // namespace
}  // namespace crucible
