// Z3 layer refinement of dlv on the fixture MLP, checked against truths that
// do not come from Z3: sampled points of the previous region (random vertices
// and interior points) always land inside a region Z3 calls covering; the
// region contains the exact box image of one affine+ReLU layer (interval
// arithmetic is exact for a single layer); a region check that answers SAT
// gives a witness in the region that the double forward pass misclassifies,
// and UNSAT holds for sampled points; the margin change bound holds for
// sampled pairs of nearby points.
#include "engines/verify/dlv_layer_refinement.h"

#include <algorithm>
#include <random>

#include "engines/verify/dlv_margin_bound.h"
#include "engines/verify/dlv_region.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"

namespace crucible {
namespace {

using testing::FixturePath;
using testing::LoadTensor;

class DlvLayerRefinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
    ASSERT_TRUE(model.ok()) << model.status();
    auto net = ExtractAffineNetwork(*model);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    inputs_ = LoadTensor(FixturePath("attacks/inputs.npy"));
  }

  std::vector<double> Input(int64_t index) const {
    const Tensor x = inputs_.Slice(index, index + 1);
    return {x.values().begin(), x.values().end()};
  }

  static LayerBox InputBox(const std::vector<double>& x, double epsilon) {
    LayerBox box{x, x};
    for (size_t p = 0; p < x.size(); ++p) {
      box.lower[p] = std::max(0.0, x[p] - epsilon);
      box.upper[p] = std::min(1.0, x[p] + epsilon);
    }
    return box;
  }

  static std::vector<double> Sample(const LayerBox& box, std::mt19937_64& rng, bool vertex) {
    std::uniform_real_distribution<double> unit(0, 1);
    std::vector<double> p(box.size());
    for (int64_t i = 0; i < box.size(); ++i) {
      const double t = vertex ? (unit(rng) < 0.5 ? 0.0 : 1.0) : unit(rng);
      p[i] = box.lower[i] + t * (box.upper[i] - box.lower[i]);
    }
    return p;
  }

  static int64_t ArgMax(const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); }

  AffineNetwork net_;
  Tensor inputs_;
};

TEST_F(DlvLayerRefinementTest, CoveringRegionsContainSampledImagesAndTheExactBoxImage) {
  std::mt19937_64 rng(11);
  for (int64_t index : {3}) {
    const std::vector<std::vector<double>> acts = LayerActivations(net_, Input(index));
    LayerBox previous = InputBox(Input(index), 0.02);
    for (int k = 1; k < static_cast<int>(net_.layers.size()); ++k) {
      Z3Stats stats;
      auto coverage = RefineLayerRegion(net_.layers[k - 1], previous, acts[k], 5, SmtBudget{}, stats);
      ASSERT_TRUE(coverage.ok()) << coverage.status();
      ASSERT_TRUE(coverage->covered) << "layer " << k;
      EXPECT_GE(stats.calls, 1);
      // One UNSAT answer per neuron, plus one call per witness.
      EXPECT_EQ(stats.calls, coverage->rounds + net_.layers[k - 1].outputs);
      const LayerBox& region = coverage->region;
      EXPECT_TRUE(region.Contains(acts[k]));
      const LayerBox exact = IntervalImage(net_.layers[k - 1], previous);
      for (int64_t o = 0; o < region.size(); ++o) {
        EXPECT_LE(region.lower[o], exact.lower[o] + 1e-7) << "layer " << k << " neuron " << o;
        EXPECT_GE(region.upper[o], exact.upper[o] - 1e-7) << "layer " << k << " neuron " << o;
      }
      for (int s = 0; s < 200; ++s) {
        const std::vector<double> point = Sample(previous, rng, s % 2 == 0);
        AffineNetwork one;
        one.layers = {net_.layers[k - 1]};
        EXPECT_TRUE(region.Contains(one.Evaluate(point), 1e-9)) << "layer " << k << " sample " << s;
      }
      previous = region;
    }
  }
}

TEST_F(DlvLayerRefinementTest, TooSmallFirstGuessesAreWidenedByZ3Witnesses) {
  // A large box: the sampled first guess cannot reach the extremes, so Z3 must
  // return witnesses and the region must grow before coverage is proved.
  // Layer 2, from the exact box image at layer 1 of a large input box.
  const std::vector<std::vector<double>> acts = LayerActivations(net_, Input(1));
  const LayerBox previous = IntervalImage(net_.layers[0], InputBox(Input(1), 0.3));
  Z3Stats stats;
  auto coverage = RefineLayerRegion(net_.layers[1], previous, acts[2], 1, SmtBudget{}, stats);
  ASSERT_TRUE(coverage.ok());
  EXPECT_TRUE(coverage->covered);
  EXPECT_GE(coverage->rounds, 1);
}

TEST_F(DlvLayerRefinementTest, RegionCheckAgreesWithSampledAndWitnessPoints) {
  std::mt19937_64 rng(3);
  const std::vector<double> x = Input(0);
  const std::vector<std::vector<double>> acts = LayerActivations(net_, x);
  const int64_t label = ArgMax(acts.back());
  const int last_hidden = static_cast<int>(net_.layers.size()) - 1;
  // Small box: the last hidden layer's region is safe; every sampled point keeps the class.
  {
    // Regions from exact box images (the coverage itself is tested above).
    LayerBox previous = InputBox(x, 0.002);
    Z3Stats stats;
    for (int k = 1; k <= last_hidden; ++k) previous = IntervalImage(net_.layers[k - 1], previous);
    auto check = CheckRegionSafe(net_, last_hidden, previous, label, SmtBudget{}, stats);
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_EQ(check->answer, SmtAnswer::kUnsat);
    for (int s = 0; s < 500; ++s) {
      EXPECT_EQ(ArgMax(EvaluateFrom(net_, last_hidden, Sample(previous, rng, s % 2 == 0))), label);
    }
  }
  // Large box: SAT with a witness inside the region that changes the class.
  {
    LayerBox region = InputBox(x, 0.1);
    for (int k = 1; k <= last_hidden; ++k) region = IntervalImage(net_.layers[k - 1], region);
    Z3Stats stats;
    auto check = CheckRegionSafe(net_, last_hidden, region, label, SmtBudget{}, stats);
    ASSERT_TRUE(check.ok()) << check.status();
    ASSERT_EQ(check->answer, SmtAnswer::kSat);
    EXPECT_TRUE(region.Contains(check->witness, 1e-9));
    const std::vector<double> logits = EvaluateFrom(net_, last_hidden, check->witness);
    EXPECT_LE(Margin(logits, label), 1e-6);
  }
}

TEST_F(DlvLayerRefinementTest, ExpiredDeadlineAndCancellationAreReported) {
  const std::vector<std::vector<double>> acts = LayerActivations(net_, Input(0));
  Z3Stats stats;
  auto late = RefineLayerRegion(net_.layers[0], InputBox(Input(0), 0.01), acts[1], 1,
                                SmtBudget{.deadline = absl::Now() - absl::Seconds(1)}, stats);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->covered);
  EXPECT_EQ(late->last, SmtAnswer::kTimeout);
  auto cancelled = CheckRegionSafe(net_, 1, LayerBox{acts[1], acts[1]}, 0,
                                   SmtBudget{.cancelled = [] { return true; }}, stats);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->answer, SmtAnswer::kCancelled);
}

TEST_F(DlvLayerRefinementTest, MarginChangeBoundHoldsForSampledNearbyPoints) {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> unit(-1, 1);
  for (int64_t index : {0, 2, 5}) {
    const std::vector<double> x = Input(index);
    const std::vector<std::vector<double>> acts = LayerActivations(net_, x);
    const int64_t label = ArgMax(acts.back());
    for (int k : {0, 1}) {
      // Region: the input box (k = 0) or its interval image (k = 1).
      LayerBox box = InputBox(x, 0.03);
      if (k == 1) box = IntervalImage(net_.layers[0], box);
      const std::vector<double> deltas(box.size(), 0.004);
      const double bound = MarginChangeBound(net_, k, box, label, deltas);
      double worst = 0;
      for (int s = 0; s < 300; ++s) {
        std::vector<double> a = Sample(box, rng, false), b = a;
        for (int64_t p = 0; p < box.size(); ++p) {
          b[p] = std::clamp(a[p] + deltas[p] * unit(rng), box.lower[p], box.upper[p]);
        }
        worst = std::max(worst, std::fabs(Margin(EvaluateFrom(net_, k, a), label) -
                                          Margin(EvaluateFrom(net_, k, b), label)));
      }
      EXPECT_LE(worst, bound) << "input " << index << " layer " << k;
      EXPECT_GT(worst, 0.0);
    }
  }
}

}  // namespace
}  // namespace crucible
