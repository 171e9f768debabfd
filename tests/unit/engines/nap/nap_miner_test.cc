// NAP mining and held-out statistics (engines/nap/nap_miner.h,
// activation_table.h) on the fixture MLP and the 1,000 bundled Fashion-MNIST
// test images, against an independent double-precision forward pass written
// here over the network's weights (AffineNetwork's matrices, not the
// executor): the recorded activation bits and predictions, the mined patterns
// (the delta rule applied here), and recall / precision / ambiguous counts on
// the held-out part must all agree exactly.
#include "engines/nap/nap_miner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"
#include "tests/unit/engines/nap/double_forward.h"

namespace crucible {
namespace {

using testing::FixturePath;
using testing::LoadTensor;
using testing::PatternMap;
using testing::Reference;

constexpr int64_t kClasses = 10;

class NapMinerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new Model(std::move(*model));
    images_ = new Tensor(LoadTensor(FixturePath("data/fmnist_test_1000_images.npy")));
    auto labels_array = ReadNpyFile(FixturePath("data/fmnist_test_1000_labels.npy"));
    ASSERT_TRUE(labels_array.ok());
    labels_ = new std::vector<int64_t>(*ToLabels(*labels_array));
    auto layers = HiddenReluLayers(*model_);
    ASSERT_TRUE(layers.ok()) << layers.status();
    layers_ = new std::vector<HiddenLayer>(*layers);
    v1::Preprocess preprocess;
    preprocess.set_scale(1.0f / 255);
    auto recording = RecordActivations(*model_, *images_, Preprocessor(preprocess), *layers_, {0, 1}, 2, {}, 128);
    ASSERT_TRUE(recording.ok()) << recording.status();
    recording_ = new ActivationRecording(std::move(*recording));
    auto net = ExtractAffineNetwork(*model_);
    ASSERT_TRUE(net.ok()) << net.status();
    reference_ = new Reference(testing::DoubleForward(*net, *images_, 1.0 / 255));
  }

  static MinedNaps Mine(const std::vector<int64_t>& train, const std::vector<int32_t>& layers, double delta) {
    return MineNaps(recording_->table, *labels_, recording_->predicted, train, layers, kClasses, delta);
  }

  // The delta rule, applied to the reference activations.
  static std::vector<PatternMap> ExpectedPatterns(const std::vector<int64_t>& train, double delta,
                                                  const std::vector<int32_t>& layers, std::vector<int64_t>* counts) {
    std::vector<PatternMap> patterns(kClasses);
    counts->assign(kClasses, 0);
    for (int64_t c = 0; c < kClasses; ++c) {
      std::vector<int64_t> members;
      for (int64_t i : train) {
        if ((*labels_)[i] == c && reference_->predicted[i] == c) members.push_back(i);
      }
      (*counts)[c] = static_cast<int64_t>(members.size());
      for (int32_t k : layers) {
        for (int64_t j = 0; j < (*layers_)[k].size; ++j) {
          int64_t on = 0;
          for (int64_t i : members) on += reference_->pre[i][k][j] > 0;
          const double share_on = double(on) / members.size(), share_off = 1.0 - share_on;
          if (share_on >= delta - 1e-6) patterns[c][{k, j}] = 1;
          else if (share_off >= delta - 1e-6) patterns[c][{k, j}] = -1;
        }
      }
    }
    return patterns;
  }

  static Model* model_;
  static Tensor* images_;
  static std::vector<int64_t>* labels_;
  static std::vector<HiddenLayer>* layers_;
  static ActivationRecording* recording_;
  static Reference* reference_;
};

Model* NapMinerTest::model_ = nullptr;
Tensor* NapMinerTest::images_ = nullptr;
std::vector<int64_t>* NapMinerTest::labels_ = nullptr;
std::vector<HiddenLayer>* NapMinerTest::layers_ = nullptr;
ActivationRecording* NapMinerTest::recording_ = nullptr;
Reference* NapMinerTest::reference_ = nullptr;

TEST_F(NapMinerTest, RecordedActivationsMatchADoubleForwardPass) {
  const ActivationTable& table = recording_->table;
  ASSERT_EQ(table.num_inputs(), 1000);
  EXPECT_EQ(recording_->predicted, reference_->predicted);
  int64_t disagreements = 0, active = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    for (int32_t k = 0; k < 2; ++k) {
      for (int64_t j = 0; j < (*layers_)[k].size; ++j) {
        const bool on = reference_->pre[i][k][j] > 0;
        active += on;
        disagreements += table.Active(i, k, j) != on;
      }
    }
  }
  EXPECT_EQ(disagreements, 0);
  EXPECT_GT(active, 1000 * 192 / 10);  // not a table of zeros
}

TEST_F(NapMinerTest, SplitIsASeededPartition) {
  const DatasetSplit split = SplitInputs(1000, 0.8, 7);
  ASSERT_EQ(split.train.size(), 800u);
  ASSERT_EQ(split.held_out.size(), 200u);
  std::set<int64_t> all(split.train.begin(), split.train.end());
  all.insert(split.held_out.begin(), split.held_out.end());
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(split.held_out.begin(), split.held_out.end()));
  EXPECT_EQ(SplitInputs(1000, 0.8, 7).held_out, split.held_out);
  EXPECT_NE(SplitInputs(1000, 0.8, 8).held_out, split.held_out);
  EXPECT_EQ(SplitInputs(10, 0.99, 1).held_out.size(), 1u);  // at least one input on each side
  EXPECT_EQ(SplitInputs(10, 0.01, 1).train.size(), 1u);
}

TEST_F(NapMinerTest, MinedPatternsAndHeldOutStatisticsMatchAnIndependentComputation) {
  const DatasetSplit split = SplitInputs(1000, 0.8, 7);
  for (double delta : {0.99, 0.95}) {
    SCOPED_TRACE(delta);
    const MinedNaps mined = Mine(split.train, {0, 1}, delta);
    std::vector<int64_t> counts;
    const std::vector<PatternMap> expected = ExpectedPatterns(split.train, delta, {0, 1}, &counts);
    ASSERT_EQ(mined.patterns.size(), static_cast<size_t>(kClasses));  // every class has correct training inputs
    for (int64_t c = 0; c < kClasses; ++c) {
      EXPECT_EQ(mined.patterns[c].label, c);
      EXPECT_EQ(mined.mined_from[c], counts[c]) << c;
      EXPECT_EQ(testing::ToMap(mined.patterns[c]), expected[c]) << "class " << c;
    }

    const NapStatistics stats = EvaluateNaps(recording_->table, *labels_, split.held_out, mined.patterns);
    EXPECT_EQ(stats.inputs, 200);
    int64_t ambiguous = 0;
    std::vector<int64_t> in_class(kClasses, 0), matched(kClasses, 0), matched_in_class(kClasses, 0);
    for (int64_t i : split.held_out) {
      int matches = 0;
      for (int64_t c = 0; c < kClasses; ++c) {
        const bool sat = testing::Satisfies(*reference_, i, expected[c]);
        in_class[c] += (*labels_)[i] == c;
        matched[c] += sat;
        matched_in_class[c] += sat && (*labels_)[i] == c;
        matches += sat;
      }
      ambiguous += matches >= 2;
    }
    EXPECT_EQ(stats.ambiguous, ambiguous);
    double recall_sum = 0;
    for (int64_t c = 0; c < kClasses; ++c) {
      const NapStatistics::Pattern& s = stats.patterns[c];
      EXPECT_EQ(s.class_inputs, in_class[c]);
      EXPECT_EQ(s.matched, matched[c]);
      EXPECT_EQ(s.matched_in_class, matched_in_class[c]);
      EXPECT_DOUBLE_EQ(s.recall, double(matched_in_class[c]) / in_class[c]);
      EXPECT_DOUBLE_EQ(s.precision, matched[c] == 0 ? 0.0 : double(matched_in_class[c]) / matched[c]);
      recall_sum += s.recall;
      std::printf("delta %.2f class %lld: %zu fixed, mined from %lld, recall %.3f precision %.3f\n", delta,
                  static_cast<long long>(c), mined.patterns[c].neurons.size(), static_cast<long long>(counts[c]),
                  s.recall, s.precision);
    }
    std::printf("delta %.2f: mean recall %.3f, ambiguous %lld of 200\n", delta, recall_sum / kClasses,
                static_cast<long long>(ambiguous));
    EXPECT_GT(recall_sum, 0.0);
  }
}

TEST_F(NapMinerTest, ALowerDeltaFixesMoreNeuronsAndMatchesFewerInputs) {
  const DatasetSplit split = SplitInputs(1000, 0.8, 3);
  const MinedNaps strict = Mine(split.train, {0, 1}, 0.99);
  const MinedNaps loose = Mine(split.train, {0, 1}, 0.9);
  const NapStatistics strict_stats = EvaluateNaps(recording_->table, *labels_, split.held_out, strict.patterns);
  const NapStatistics loose_stats = EvaluateNaps(recording_->table, *labels_, split.held_out, loose.patterns);
  for (int64_t c = 0; c < kClasses; ++c) {
    const PatternMap a = testing::ToMap(strict.patterns[c]), b = testing::ToMap(loose.patterns[c]);
    for (const auto& [where, state] : a) {
      ASSERT_TRUE(b.count(where)) << c;
      EXPECT_EQ(b.at(where), state);
    }
    EXPECT_GT(b.size(), a.size()) << c;
    EXPECT_LE(loose_stats.patterns[c].recall, strict_stats.patterns[c].recall) << c;
  }
}

TEST_F(NapMinerTest, MiningOneLayerFixesOnlyItsNeurons) {
  const DatasetSplit split = SplitInputs(1000, 0.8, 7);
  const MinedNaps both = Mine(split.train, {0, 1}, 0.99);
  const MinedNaps last = Mine(split.train, {1}, 0.99);
  for (int64_t c = 0; c < kClasses; ++c) {
    PatternMap expected;
    for (const auto& [where, state] : testing::ToMap(both.patterns[c])) {
      if (where.first == 1) expected[where] = state;
    }
    EXPECT_EQ(testing::ToMap(last.patterns[c]), expected) << c;
  }
}

TEST_F(NapMinerTest, RecordingReportsProgressAndStopsWhenCancelled) {
  v1::Preprocess preprocess;
  preprocess.set_scale(1.0f / 255);
  int calls = 0;
  double last = 0;
  RecordingMonitor monitor{.progress =
                               [&](double fraction, const std::string&) {
                                 EXPECT_GE(fraction, last);
                                 last = fraction;
                                 ++calls;
                               },
                           .cancelled = [&] { return calls >= 2; }};
  absl::StatusOr<ActivationRecording> cancelled =
      RecordActivations(*model_, *images_, Preprocessor(preprocess), *layers_, {1}, 1, monitor, 100);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 2);

  calls = 0;
  last = 0;
  monitor.cancelled = [] { return false; };
  absl::StatusOr<ActivationRecording> done =
      RecordActivations(*model_, *images_, Preprocessor(preprocess), *layers_, {1}, 1, monitor, 100);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(calls, 10);
  EXPECT_DOUBLE_EQ(last, 1.0);
  EXPECT_FALSE(done->table.recorded(0));
  EXPECT_TRUE(done->table.recorded(1));
}

}  // namespace
}  // namespace crucible
