// The backdoor engine on the fixtures of tools/make_backdoor_fixtures.py: a
// BadNets CNN (trigger: 4x4 white patch, target class 0) and a clean CNN
// trained the same way, a poisoned training subset with its ground-truth
// poison indices, and STRIP inputs whose trojaned half is known.
#include "engines/backdoor/backdoor_engine.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "engines/core/file_io.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"
#include "tests/unit/engines/fake_job_context.h"

namespace crucible {
namespace {

using testing::FakeJobContext;
using testing::FixturePath;

constexpr int64_t kTarget = 0;

Model LoadModel(const std::string& name) {
  auto model = Model::FromOnnxFile(FixturePath("backdoor/" + name));
  EXPECT_TRUE(model.ok()) << model.status();
  return *std::move(model);
}

Dataset LoadDataset(const std::string& images, const std::string& labels = "") {
  auto image_bytes = ReadFileBytes(FixturePath("backdoor/" + images));
  EXPECT_TRUE(image_bytes.ok()) << image_bytes.status();
  std::string label_bytes;
  if (!labels.empty()) label_bytes = *ReadFileBytes(FixturePath("backdoor/" + labels));
  auto data = ParseDataset(*image_bytes, label_bytes);
  EXPECT_TRUE(data.ok()) << data.status();
  return *std::move(data);
}

std::vector<int64_t> LoadIndices(const std::string& name) {
  auto array = ParseNpy(*ReadFileBytes(FixturePath("backdoor/" + name)));
  EXPECT_TRUE(array.ok()) << array.status();
  std::vector<int64_t> out;
  const Tensor t = ToFloatTensor(*array);
  for (float v : t.values()) out.push_back(int64_t(v));
  return out;
}

v1::JobSpec Spec(std::initializer_list<v1::BackdoorConfig::Method> methods) {
  v1::JobSpec spec;
  v1::BackdoorConfig& config = *spec.mutable_backdoor();
  for (auto m : methods) config.add_methods(m);
  config.mutable_preprocess()->set_scale(1.0f / 255);
  return spec;
}

v1::BackdoorReport RunEngine(const v1::JobSpec& spec, const Model& model, const Dataset& data, FakeJobContext* context_out = nullptr) {
  BackdoorEngine engine;
  EXPECT_TRUE(engine.Validate(spec, model, &data).ok()) << engine.Validate(spec, model, &data);
  FakeJobContext context(model, &data);
  auto report = engine.Run(spec, context);
  EXPECT_TRUE(report.ok()) << report.status();
  EXPECT_DOUBLE_EQ(context.last_progress, 1.0);
  if (context_out != nullptr) {
    context_out->artifacts = context.artifacts;
    context_out->stages = context.stages;
  }
  return report.ok() ? report->backdoor() : v1::BackdoorReport();
}

v1::JobSpec NeuralCleanseSpec() {
  v1::JobSpec spec = Spec({v1::BackdoorConfig::NEURAL_CLEANSE});
  spec.mutable_backdoor()->set_nc_samples(300);
  spec.mutable_backdoor()->set_nc_steps(500);
  return spec;
}

TEST(BackdoorEngineTest, NeuralCleanseFlagsExactlyTheBadNetsTarget) {
  const Model model = LoadModel("badnets_cnn.onnx");
  const Dataset data = LoadDataset("strip_images.npy");  // clean test images first
  FakeJobContext context(model, &data);
  const v1::BackdoorReport report = RunEngine(NeuralCleanseSpec(), model, data, &context);
  for (const auto& c : report.classes()) {
    std::cout << "badnets label " << c.label() << " l1 " << c.mask_l1() << " index " << c.anomaly_index()
              << " asr " << c.attack_success_rate() << "\n";
  }
  EXPECT_THAT(report.flagged_classes(), ::testing::ElementsAre(kTarget));
  ASSERT_EQ(report.classes_size(), 10);
  EXPECT_GT(report.classes(kTarget).anomaly_index(), 2.0);
  EXPECT_TRUE(report.classes(kTarget).flagged());
  EXPECT_GE(report.classes(kTarget).attack_success_rate(), 0.9);
  // The reversed masks are artifacts: [10, 28, 28], target's the smallest.
  ASSERT_TRUE(context.artifacts.count("nc_masks.npy"));
  auto masks = ParseNpy(context.artifacts["nc_masks.npy"]);
  ASSERT_TRUE(masks.ok());
  EXPECT_EQ(masks->shape, (Shape{10, 28, 28}));
  EXPECT_TRUE(context.artifacts.count("nc_patterns.npy"));
  ASSERT_TRUE(context.artifacts.count("nc_triggers.png"));
  EXPECT_EQ(context.artifacts["nc_triggers.png"].substr(1, 3), "PNG");
}

TEST(BackdoorEngineTest, NeuralCleanseFlagsNothingOnTheCleanModel) {
  const Model model = LoadModel("clean_cnn.onnx");
  const Dataset data = LoadDataset("strip_images.npy");
  const v1::BackdoorReport report = RunEngine(NeuralCleanseSpec(), model, data);
  for (const auto& c : report.classes()) {
    std::cout << "clean label " << c.label() << " l1 " << c.mask_l1() << " index " << c.anomaly_index() << "\n";
  }
  EXPECT_THAT(report.flagged_classes(), ::testing::IsEmpty());
  EXPECT_EQ(report.classes_size(), 10);
}

TEST(BackdoorEngineTest, StripRejectsTrojanedInputsAtOnePercentFalseRejection) {
  const Model model = LoadModel("badnets_cnn.onnx");
  const Dataset data = LoadDataset("strip_images.npy");
  const std::vector<int64_t> trojaned = LoadIndices("strip_trojaned.npy");
  v1::JobSpec spec = Spec({v1::BackdoorConfig::STRIP});
  spec.mutable_backdoor()->set_strip_clean_examples(200);
  const v1::BackdoorReport report = RunEngine(spec, model, data);
  int64_t caught = 0, false_rejections = 0, trojans = 0, clean = 0;
  for (int64_t i = 200; i < int64_t(trojaned.size()); ++i) trojaned[i] ? ++trojans : ++clean;
  for (int64_t i : report.flagged_inputs()) {
    ASSERT_GE(i, 200);
    trojaned[i] ? ++caught : ++false_rejections;
  }
  std::cout << "strip: caught " << caught << "/" << trojans << ", false rejections " << false_rejections << "/"
            << clean << ", threshold " << report.strip().entropy_threshold() << "\n";
  EXPECT_GE(caught, 0.95 * trojans);
  EXPECT_LE(false_rejections, 0.04 * clean);  // 1% FRR calibrated on 200 clean inputs, checked on 100 others.
  EXPECT_LE(report.strip().false_rejection_rate(), 0.01);
  EXPECT_EQ(report.strip().entropies_size(), 200);
}

void ExpectFindsPoison(v1::BackdoorConfig::Method method) {
  const Model model = LoadModel("badnets_cnn.onnx");
  const Dataset data = LoadDataset("poisoned_train_images.npy", "poisoned_train_labels.npy");
  const std::vector<int64_t> poison = LoadIndices("poisoned_train_poison_indices.npy");
  const std::set<int64_t> truth(poison.begin(), poison.end());
  const v1::BackdoorReport report = RunEngine(Spec({method}), model, data);
  int64_t hits = 0, false_positives = 0;
  for (int64_t i : report.flagged_samples()) truth.count(i) ? ++hits : ++false_positives;
  const int64_t clean = data.num_examples() - int64_t(truth.size());
  std::cout << v1::BackdoorConfig::Method_Name(method) << ": recall " << hits << "/" << truth.size()
            << ", false positives " << false_positives << "/" << clean << "\n";
  for (const auto& f : report.activation_clustering()) {
    std::cout << "  ac class " << f.label() << " size " << f.relative_size() << " silhouette " << f.silhouette() << "\n";
  }
  for (const auto& f : report.spectral_signatures()) {
    std::cout << "  ss class " << f.label() << " skewness " << f.skewness() << "\n";
  }
  EXPECT_GE(hits, 0.8 * truth.size());
  EXPECT_LE(false_positives, 0.1 * clean);
  EXPECT_THAT(report.flagged_classes(), ::testing::ElementsAre(kTarget));
}

TEST(BackdoorEngineTest, ActivationClusteringFindsThePoisonedSamples) {
  ExpectFindsPoison(v1::BackdoorConfig::ACTIVATION_CLUSTERING);
}

TEST(BackdoorEngineTest, SpectralSignaturesFindThePoisonedSamples) {
  ExpectFindsPoison(v1::BackdoorConfig::SPECTRAL_SIGNATURES);
}

TEST(BackdoorEngineTest, ValidationErrorsNameTheField) {
  const Model model = LoadModel("badnets_cnn.onnx");
  const Dataset labelled = LoadDataset("poisoned_train_images.npy", "poisoned_train_labels.npy");
  const Dataset unlabelled = LoadDataset("strip_images.npy");
  BackdoorEngine engine;
  auto expect_invalid = [&](const v1::JobSpec& spec, const Dataset* data, const std::string& field) {
    const absl::Status status = engine.Validate(spec, model, data);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field << ": " << status;
    EXPECT_THAT(status.message(), ::testing::HasSubstr(field));
  };
  v1::JobSpec spec = Spec({});
  spec.mutable_backdoor()->add_methods(static_cast<v1::BackdoorConfig::Method>(9));
  expect_invalid(spec, &labelled, "backdoor.methods[0]");
  spec = Spec({v1::BackdoorConfig::METHOD_UNSPECIFIED});
  expect_invalid(spec, &labelled, "backdoor.methods[0]");
  spec = Spec({v1::BackdoorConfig::SPECTRAL_SIGNATURES});
  spec.mutable_backdoor()->set_poison_fraction(0.6f);
  expect_invalid(spec, &labelled, "backdoor.poison_fraction");
  spec.mutable_backdoor()->set_poison_fraction(-0.1f);
  expect_invalid(spec, &labelled, "backdoor.poison_fraction");
  expect_invalid(Spec({v1::BackdoorConfig::ACTIVATION_CLUSTERING}), &unlabelled, "labels");
  expect_invalid(Spec({v1::BackdoorConfig::SPECTRAL_SIGNATURES}), &unlabelled, "labels");
  spec = Spec({v1::BackdoorConfig::NEURAL_CLEANSE});
  spec.mutable_backdoor()->add_nc_labels(10);
  expect_invalid(spec, &unlabelled, "backdoor.nc_labels[0]");
  spec = Spec({v1::BackdoorConfig::STRIP});
  spec.mutable_backdoor()->set_strip_clean_examples(400);
  expect_invalid(spec, &unlabelled, "backdoor.strip_clean_examples");
  expect_invalid(Spec({v1::BackdoorConfig::STRIP}), nullptr, "dataset");
  EXPECT_TRUE(engine.Validate(Spec({v1::BackdoorConfig::STRIP}), model, &unlabelled).ok());
}

}  // namespace
}  // namespace crucible
