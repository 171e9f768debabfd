// NetworkBounds' refinements used by branch and bound, against sampled
// forward passes: bounds computed with a parent domain's bounds as `known`
// contain every sampled point of the child box and are never looser than the
// parent's, and alpha-optimised objective bounds (OptimizedLowerBound) stay
// below the objective at every sampled point, never fall below the adaptive
// slopes' bound, and do improve on it somewhere; the absolute path
// sensitivity (the input-split heuristic) bounds how fast the objective
// actually changes along each input.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "engines/core/model.h"
#include "engines/verify/bounds.h"
#include "engines/verify/network.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

AffineNetwork LoadAcasXu(const std::string& name) {
  auto model = Model::FromOnnxFile(std::string(CRUCIBLE_FIXTURES_DIR) + "/vnncomp/acasxu/" + name);
  EXPECT_TRUE(model.ok()) << model.status();
  auto net = ExtractAffineNetwork(*model);
  EXPECT_TRUE(net.ok()) << net.status();
  return *net;
}

// Pre-activations of every layer at x, in double.
std::vector<Eigen::VectorXd> PreActivations(const AffineNetwork& net, const Eigen::VectorXd& x) {
  std::vector<Eigen::VectorXd> out;
  Eigen::VectorXd a = x;
  for (const AffineLayer& layer : net.layers) {
    Eigen::VectorXd z = Eigen::Map<const Eigen::VectorXd>(layer.bias.data(), layer.outputs);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      for (int64_t i = 0; i < layer.inputs; ++i) z[o] += layer.weight(o, i) * a[i];
    }
    out.push_back(z);
    a = layer.relu ? Eigen::VectorXd(z.cwiseMax(0.0)) : z;
  }
  return out;
}

Eigen::VectorXd Sample(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, std::mt19937& rng) {
  std::uniform_real_distribution<double> unit(0, 1);
  Eigen::VectorXd x(lo.size());
  for (int64_t i = 0; i < lo.size(); ++i) x[i] = lo[i] + unit(rng) * (hi[i] - lo[i]);
  return x;
}

TEST(BoundsRefinementTest, ChildBoundsWithParentBoundsContainSamplesAndNeverLoosen) {
  const AffineNetwork net = LoadAcasXu("ACASXU_run2a_1_1_batch_2000.onnx");
  const NetworkBounds bounds(net);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 8; ++trial) {
    Eigen::VectorXd lo = Sample(Eigen::VectorXd::Constant(5, -0.4), Eigen::VectorXd::Constant(5, 0.3), rng);
    Eigen::VectorXd hi = lo.array() + 0.1;
    LayerBounds parent;
    ASSERT_TRUE(bounds.PreActivation(lo, hi, {}, parent));
    // Two levels of halving, each child using its parent's bounds.
    for (int level = 0; level < 2; ++level) {
      const int dim = (trial + level) % 5;
      const double mid = 0.5 * (lo[dim] + hi[dim]);
      (trial % 2 == 0 ? hi[dim] : lo[dim]) = mid;
      LayerBounds child;
      ASSERT_TRUE(bounds.PreActivation(lo, hi, {}, parent, child));
      for (size_t k = 0; k + 1 < child.lower.size(); ++k) {
        for (int64_t i = 0; i < child.lower[k].size(); ++i) {
          EXPECT_GE(child.lower[k][i], parent.lower[k][i]) << "layer " << k << " neuron " << i;
          EXPECT_LE(child.upper[k][i], parent.upper[k][i]) << "layer " << k << " neuron " << i;
        }
      }
      for (int s = 0; s < 200; ++s) {
        const std::vector<Eigen::VectorXd> z = PreActivations(net, Sample(lo, hi, rng));
        for (size_t k = 0; k + 1 < z.size(); ++k) {
          for (int64_t i = 0; i < z[k].size(); ++i) {
            ASSERT_GE(z[k][i], child.lower[k][i] - 1e-9) << "layer " << k << " neuron " << i;
            ASSERT_LE(z[k][i], child.upper[k][i] + 1e-9) << "layer " << k << " neuron " << i;
          }
        }
      }
      parent = child;
    }
  }
}

TEST(BoundsRefinementTest, OptimisedSlopesGiveSoundAndTighterObjectiveBounds) {
  const AffineNetwork net = LoadAcasXu("ACASXU_run2a_4_7_batch_2000.onnx");
  const NetworkBounds bounds(net);
  std::mt19937 rng(13);
  int improved = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const Eigen::VectorXd lo = Sample(Eigen::VectorXd::Constant(5, -0.45), Eigen::VectorXd::Constant(5, 0.2), rng);
    const Eigen::VectorXd hi = lo.array() + 0.25;
    LayerBounds layers;
    ASSERT_TRUE(bounds.PreActivation(lo, hi, {}, layers));
    Eigen::RowVectorXd a = Eigen::RowVectorXd::Zero(5);
    a[trial % 5] = 1.0;
    a[(trial + 1) % 5] = -1.0;
    const double c = 0.25;
    const OutputBounds plain = bounds.LowerBound(a, Eigen::VectorXd::Constant(1, c), layers, lo, hi);
    LowerSlopes alpha;
    const OutputBounds opt = bounds.OptimizedLowerBound(a, c, layers, lo, hi, 20, alpha);
    // Warm-started from its own result, another round cannot do worse.
    const OutputBounds again = bounds.OptimizedLowerBound(a, c, layers, lo, hi, 5, alpha);
    EXPECT_GE(again.value[0], opt.value[0] - 1e-12);
    if (opt.value[0] > plain.value[0] + 1e-6) ++improved;
    for (const OutputBounds* b : {&opt, &again}) {
      // The reported linear bound concretises to the reported value.
      double min_linear = b->constants[0];
      for (int64_t i = 0; i < 5; ++i) min_linear += std::min(b->coefficients(0, i) * lo[i], b->coefficients(0, i) * hi[i]);
      EXPECT_NEAR(min_linear, b->value[0], 1e-9);
    }
    for (int s = 0; s < 400; ++s) {
      const Eigen::VectorXd x = Sample(lo, hi, rng);
      const double objective = a.dot(PreActivations(net, x).back()) + c;
      for (const OutputBounds* b : {&opt, &again}) {
        ASSERT_GE(objective, b->value[0] - 1e-9);
        ASSERT_GE(objective, b->coefficients.row(0).dot(x) + b->constants[0] - 1e-9);
      }
    }
  }
  // The adaptive slopes are a starting point, not an optimum: ascent improves some bounds.
  EXPECT_GE(improved, 3);
}

TEST(BoundsRefinementTest, AbsoluteSensitivityBoundsTheObjectivesSlopeInTheBox) {
  const AffineNetwork net = LoadAcasXu("ACASXU_run2a_4_8_batch_2000.onnx");
  const NetworkBounds bounds(net);
  std::mt19937 rng(21);
  for (int trial = 0; trial < 6; ++trial) {
    const Eigen::VectorXd lo = Sample(Eigen::VectorXd::Constant(5, -0.45), Eigen::VectorXd::Constant(5, 0.3), rng);
    const Eigen::VectorXd hi = lo.array() + 0.15;
    LayerBounds layers;
    ASSERT_TRUE(bounds.PreActivation(lo, hi, {}, layers));
    Eigen::RowVectorXd a = Eigen::RowVectorXd::Zero(5);
    a[0] = 1.0;
    a[1 + trial % 4] = -1.0;
    const Eigen::VectorXd sensitivity = bounds.AbsoluteSensitivity(a, layers);
    for (int s = 0; s < 100; ++s) {
      const Eigen::VectorXd x = Sample(lo, hi, rng);
      const double fx = a.dot(PreActivations(net, x).back());
      for (int64_t i = 0; i < 5; ++i) {
        Eigen::VectorXd x2 = x;
        x2[i] = lo[i] + (hi[i] - lo[i]) * std::uniform_real_distribution<double>(0, 1)(rng);
        const double change = std::abs(a.dot(PreActivations(net, x2).back()) - fx);
        ASSERT_LE(change, sensitivity[i] * std::abs(x2[i] - x[i]) + 1e-9) << "input " << i;
      }
    }
  }
}

}  // namespace
}  // namespace crucible
