// The unlearnable engine on the Fashion-MNIST subsets of
// tools/make_backdoor_fixtures.py: CUDA class-wise convolutions and class-wise
// error-minimizing noise must be SUSPICIOUS, the untouched subset CLEAN; and
// the tiny-model trainer against known-separable data.
#include "engines/backdoor/unlearnable_engine.h"

#include <iostream>
#include <random>

#include "engines/backdoor/tiny_classifier.h"
#include "engines/core/file_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"
#include "tests/unit/engines/fake_job_context.h"

namespace crucible {
namespace {

using testing::FakeJobContext;
using testing::FixturePath;

Dataset LoadSubset(const std::string& name) {
  auto images = ReadFileBytes(FixturePath("backdoor/unlearnable_" + name + "_images.npy"));
  auto labels = ReadFileBytes(FixturePath("backdoor/unlearnable_" + name + "_labels.npy"));
  EXPECT_TRUE(images.ok() && labels.ok());
  auto data = ParseDataset(*images, *labels);
  EXPECT_TRUE(data.ok()) << data.status();
  return *std::move(data);
}

v1::JobSpec Spec() {
  v1::JobSpec spec;
  spec.mutable_unlearnable()->mutable_preprocess()->set_scale(1.0f / 255);
  return spec;
}

v1::UnlearnableReport RunOn(const std::string& subset) {
  auto model = Model::FromOnnxFile(FixturePath("backdoor/clean_cnn.onnx"));  // Required by jobs, unused.
  EXPECT_TRUE(model.ok());
  const Dataset data = LoadSubset(subset);
  UnlearnableEngine engine;
  const v1::JobSpec spec = Spec();
  EXPECT_TRUE(engine.Validate(spec, *model, &data).ok());
  FakeJobContext context(*model, &data);
  auto report = engine.Run(spec, context);
  EXPECT_TRUE(report.ok()) << report.status();
  EXPECT_DOUBLE_EQ(context.last_progress, 1.0);
  if (!report.ok()) return {};
  std::cout << subset << ": score " << report->unlearnable().score() << "\n";
  for (const std::string& line : report->unlearnable().evidence()) std::cout << "  " << line << "\n";
  return report->unlearnable();
}

TEST(UnlearnableEngineTest, CleanSubsetIsClean) {
  const v1::UnlearnableReport report = RunOn("clean");
  EXPECT_EQ(report.verdict(), v1::UnlearnableReport::CLEAN);
  EXPECT_LT(report.score(), 1.0);
  ASSERT_EQ(report.models_size(), 3);
  EXPECT_EQ(report.train_examples(), 700);
  EXPECT_EQ(report.heldout_examples(), 300);
  // A linear model on Fashion-MNIST pixels learns something real, far from chance.
  EXPECT_GT(report.models(0).heldout_accuracy().rbegin()[0], 0.6);
}

TEST(UnlearnableEngineTest, CudaSubsetIsSuspicious) {
  const v1::UnlearnableReport report = RunOn("cuda");
  EXPECT_EQ(report.verdict(), v1::UnlearnableReport::SUSPICIOUS);
  EXPECT_GE(report.score(), 1.0);
}

TEST(UnlearnableEngineTest, ErrorMinimizingNoiseSubsetIsSuspicious) {
  const v1::UnlearnableReport report = RunOn("em");
  EXPECT_EQ(report.verdict(), v1::UnlearnableReport::SUSPICIOUS);
  EXPECT_GE(report.score(), 1.0);
}

TEST(UnlearnableEngineTest, ValidationNamesTheField) {
  auto model = Model::FromOnnxFile(FixturePath("backdoor/clean_cnn.onnx"));
  ASSERT_TRUE(model.ok());
  const Dataset data = LoadSubset("clean");
  UnlearnableEngine engine;
  v1::JobSpec spec = Spec();
  spec.mutable_unlearnable()->set_holdout_fraction(0.95f);
  absl::Status status = engine.Validate(spec, *model, &data);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("unlearnable.holdout_fraction"));
  Dataset unlabelled = data;
  unlabelled.labels.clear();
  status = engine.Validate(Spec(), *model, &unlabelled);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("labels"));
}

// Two Gaussian blobs per class along distinct axes: both model kinds must
// separate them on held-out rows; labels shuffled against the features must
// stay near chance (the trainer does not leak held-out labels).
TEST(TinyClassifierTest, LearnsSeparableDataAndNotNoise) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> noise(0, 0.5f);
  const int64_t rows = 600, dim = 8, classes = 4;
  std::vector<float> features;
  std::vector<int64_t> labels, shuffled;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r % classes;
    labels.push_back(c);
    for (int64_t j = 0; j < dim; ++j) features.push_back(noise(rng) + (j == c ? 2.0f : 0.0f));
  }
  shuffled = labels;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (int hidden : {0, 16}) {
    auto separable = TrainTinyClassifier(features, dim, labels, classes, 400, {.hidden_units = hidden}, [] { return false; });
    ASSERT_TRUE(separable.ok());
    EXPECT_GT(separable->heldout_accuracy.back(), 0.9) << "hidden " << hidden;
    auto random = TrainTinyClassifier(features, dim, shuffled, classes, 400, {.hidden_units = hidden}, [] { return false; });
    ASSERT_TRUE(random.ok());
    EXPECT_LT(random->heldout_accuracy.back(), 0.4) << "hidden " << hidden;
  }
  auto cancelled = TrainTinyClassifier(features, dim, labels, classes, 400, {}, [] { return true; });
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace crucible
