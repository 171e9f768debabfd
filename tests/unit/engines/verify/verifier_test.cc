// The verification stack against independent truth: CROWN bounds contain
// every sampled point (ACAS Xu, the Fashion-MNIST MLP, with and without ReLU
// splits); the Z3 encoding agrees with the executor; the VNN-COMP test nets
// and a fast ACAS Xu subset give the VNN-COMP ground-truth answers, with SAT
// counterexamples re-checked here by the executor; a forward pass that
// refuses every counterexample never yields SAT; cancellation and timeouts.
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/verify/bounds.h"
#include "engines/verify/branch_and_bound.h"
#include "engines/verify/executor_forward.h"
#include "engines/verify/network.h"
#include "engines/verify/smt.h"
#include "engines/verify/vnnlib.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

std::string Fixture(const std::string& relative) { return std::string(CRUCIBLE_FIXTURES_DIR) + "/" + relative; }

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Pre-activations of every layer at x, in double.
std::vector<std::vector<double>> PreActivations(const AffineNetwork& net, const std::vector<double>& x) {
  std::vector<std::vector<double>> out;
  std::vector<double> a = x;
  for (const AffineLayer& layer : net.layers) {
    std::vector<double> z(layer.bias);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      for (int64_t i = 0; i < layer.inputs; ++i) z[o] += layer.weight(o, i) * a[i];
    }
    out.push_back(z);
    a = z;
    if (layer.relu) {
      for (double& v : a) v = std::max(v, 0.0);
    }
  }
  return out;
}

void ExpectBoundsContainSamples(const AffineNetwork& net, double lo_value, double hi_value, double radius,
                                bool with_splits) {
  const NetworkBounds bounds(net);
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> unit(0, 1);
  int checked = 0;
  for (int trial = 0; trial < 6; ++trial) {
    Eigen::VectorXd lo(net.input_size()), hi(net.input_size());
    for (int64_t i = 0; i < lo.size(); ++i) {
      const double c = lo_value + unit(rng) * (hi_value - lo_value);
      lo[i] = c - radius;
      hi[i] = c + radius;
    }
    ReluSplits splits;
    std::vector<double> centre(lo.size());
    for (int64_t i = 0; i < lo.size(); ++i) centre[i] = 0.5 * (lo[i] + hi[i]);
    if (with_splits) {  // split the first-layer neurons the centre decides, as a domain of ReLU splitting would
      const auto z = PreActivations(net, centre);
      splits.resize(net.layers.size());
      for (size_t k = 0; k < net.layers.size(); ++k) splits[k].assign(net.layers[k].outputs, 0);
      for (int64_t i = 0; i < net.layers[0].outputs; i += 3) splits[0][i] = z[0][i] >= 0 ? 1 : -1;
    }
    LayerBounds layers;
    ASSERT_TRUE(bounds.PreActivation(lo, hi, splits, layers));
    Eigen::MatrixXd a = Eigen::MatrixXd::Random(3, net.output_size());
    Eigen::VectorXd c = Eigen::VectorXd::Random(3);
    const OutputBounds ob = bounds.LowerBound(a, c, layers, lo, hi);
    for (int s = 0; s < 300; ++s) {
      std::vector<double> x(lo.size());
      for (int64_t i = 0; i < lo.size(); ++i) x[i] = lo[i] + unit(rng) * (hi[i] - lo[i]);
      if (s == 0) x = centre;
      const auto z = PreActivations(net, x);
      bool in_domain = true;
      for (size_t k = 0; k < splits.size() && in_domain; ++k) {
        for (size_t i = 0; i < splits[k].size(); ++i) {
          if ((splits[k][i] > 0 && z[k][i] < 0) || (splits[k][i] < 0 && z[k][i] > 0)) in_domain = false;
        }
      }
      if (!in_domain) continue;
      ++checked;
      for (size_t k = 0; k + 1 < net.layers.size(); ++k) {
        for (size_t i = 0; i < z[k].size(); ++i) {
          ASSERT_GE(z[k][i], layers.lower[k][i] - 1e-9) << "layer " << k << " neuron " << i;
          ASSERT_LE(z[k][i], layers.upper[k][i] + 1e-9) << "layer " << k << " neuron " << i;
        }
      }
      const std::vector<double>& y = z.back();
      for (int r = 0; r < 3; ++r) {
        double value = c[r];
        for (int64_t j = 0; j < net.output_size(); ++j) value += a(r, j) * y[j];
        ASSERT_GE(value, ob.value[r] - 1e-9);
      }
    }
  }
  EXPECT_GT(checked, 300);
}

TEST(BoundsTest, AcasXuBoundsContainSampledPoints) {
  auto model = Model::FromOnnxFile(Fixture("vnncomp/acasxu/ACASXU_run2a_1_1_batch_2000.onnx"));
  ASSERT_TRUE(model.ok());
  auto net = ExtractAffineNetwork(*model);
  ASSERT_TRUE(net.ok());
  ExpectBoundsContainSamples(*net, -0.4, 0.4, 0.05, false);
  ExpectBoundsContainSamples(*net, -0.4, 0.4, 0.05, true);
}

TEST(BoundsTest, MlpBoundsContainSampledPoints) {
  auto model = Model::FromOnnxFile(Fixture("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok());
  auto net = ExtractAffineNetwork(*model);
  ASSERT_TRUE(net.ok());
  ExpectBoundsContainSamples(*net, 0.2, 0.8, 0.01, false);
  ExpectBoundsContainSamples(*net, 0.2, 0.8, 0.01, true);
}

TEST(SmtTest, Z3EncodingAgreesWithExecutor) {
  auto model = Model::FromOnnxFile(Fixture("vnncomp/acasxu/ACASXU_run2a_2_7_batch_2000.onnx"));
  ASSERT_TRUE(model.ok());
  auto net = ExtractAffineNetwork(*model);
  ASSERT_TRUE(net.ok());
  auto forward = MakeExecutorForwardPass(*model, 1);
  ASSERT_TRUE(forward.ok());
  const NetworkBounds bounds(*net);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-0.45f, 0.45f);
  for (int trial = 0; trial < 4; ++trial) {
    std::vector<float> xf(5);
    for (float& v : xf) v = uniform(rng);
    auto y = (*forward)(xf);
    ASSERT_TRUE(y.ok());
    // On the single point x, Z3 must find outputs within 1e-4 of the executor's, and nothing 1e-3 below Y_j.
    Eigen::VectorXd point(5);
    for (int i = 0; i < 5; ++i) point[i] = xf[i];
    LayerBounds layers;
    ASSERT_TRUE(bounds.PreActivation(point, point, {}, layers));
    for (int j = 0; j < 5; ++j) {
      std::vector<double> e(5, 0.0);
      e[j] = 1.0;
      std::vector<double> minus_e(5, 0.0);
      minus_e[j] = -1.0;
      const std::vector<OutputConstraint> near = {{e, (*y)[j] + 1e-4}, {minus_e, -((*y)[j] - 1e-4)}};
      EXPECT_EQ(CheckLeafWithZ3(*net, layers, point, point, {&near}, 10, nullptr).answer, SmtAnswer::kSat) << j;
      const std::vector<OutputConstraint> below = {{e, (*y)[j] - 1e-3}};
      EXPECT_EQ(CheckLeafWithZ3(*net, layers, point, point, {&below}, 10, nullptr).answer, SmtAnswer::kUnsat) << j;
    }
    // On a small box, Z3's model for "Y_0 >= executor's Y_0 at the centre" meets it in the executor too.
    Eigen::VectorXd lo = point.array() - 0.0005, hi = point.array() + 0.0005;
    ASSERT_TRUE(bounds.PreActivation(lo, hi, {}, layers));
    const std::vector<OutputConstraint> above = {{{-1, 0, 0, 0, 0}, -(*y)[0]}};
    const SmtResult r = CheckLeafWithZ3(*net, layers, lo, hi, {&above}, 60, nullptr);
    ASSERT_EQ(r.answer, SmtAnswer::kSat) << r.reason << " unstable " << layers.UnstableCount();
    std::vector<float> model_point(r.input.begin(), r.input.end());
    auto y_model = (*forward)(model_point);
    ASSERT_TRUE(y_model.ok());
    EXPECT_GE((*y_model)[0], (*y)[0] - 1e-4);
  }
}

VerifierOptions Options(double timeout_seconds) {
  VerifierOptions options;
  options.timeout_seconds = timeout_seconds;
  options.threads = 2;
  return options;
}

struct Instance {
  std::string onnx, vnnlib, expected;
};

absl::StatusOr<VerifierResult> Verify(const std::string& onnx, const std::string& vnnlib, VerifierOptions options,
                                      std::function<bool()> cancelled = [] { return false; },
                                      ForwardPass* forward_override = nullptr) {
  auto model = Model::FromOnnxFile(onnx);
  if (!model.ok()) return model.status();
  auto net = ExtractAffineNetwork(*model);
  if (!net.ok()) return net.status();
  auto property = ParseVnnLib(ReadText(vnnlib));
  if (!property.ok()) return property.status();
  auto forward = MakeExecutorForwardPass(*model, 1);
  if (!forward.ok()) return forward.status();
  return VerifyProperty(*net, *property, options, forward_override ? *forward_override : *forward, cancelled,
                        nullptr);
}

// The counterexample lies in the property's box and violates it in the executor's forward pass.
void ExpectCounterexampleViolates(const std::string& onnx, const std::string& vnnlib, const VerifierResult& r) {
  auto model = Model::FromOnnxFile(onnx);
  ASSERT_TRUE(model.ok());
  auto property = ParseVnnLib(ReadText(vnnlib));
  ASSERT_TRUE(property.ok());
  auto executor = Executor::Create(*model, {.batch_size = 1, .num_threads = 1});
  ASSERT_TRUE(executor.ok());
  std::vector<float> xf(r.input.begin(), r.input.end());
  auto y = (*executor)->Forward(Tensor(model->InputShape(1), xf));
  ASSERT_TRUE(y.ok());
  const std::vector<double> output(y->values().begin(), y->values().end());
  bool violated = false;
  for (const PropertyCase& c : property->cases) violated = violated || property->Violates(c, r.input, output);
  EXPECT_TRUE(violated);
}

TEST(VerifierTest, VnncompTestNetsGiveTheirKnownAnswers) {
  const std::vector<Instance> instances = {{"test_nano.onnx", "test_nano.vnnlib", "unsat"},
                                           {"test_tiny.onnx", "test_tiny.vnnlib", "unsat"},
                                           {"test_small.onnx", "test_small.vnnlib", "unsat"},
                                           {"test_sat.onnx", "test_prop.vnnlib", "sat"},
                                           {"test_unsat.onnx", "test_prop.vnnlib", "unsat"}};
  for (const Instance& i : instances) {
    const std::string onnx = Fixture("vnncomp/test/" + i.onnx), vnnlib = Fixture("vnncomp/test/" + i.vnnlib);
    auto r = Verify(onnx, vnnlib, Options(30));
    ASSERT_TRUE(r.ok()) << i.onnx << ": " << r.status();
    EXPECT_EQ(r->outcome, i.expected == "sat" ? VerifierOutcome::kSat : VerifierOutcome::kUnsat)
        << i.onnx << ": " << r->detail;
    if (r->outcome == VerifierOutcome::kSat) ExpectCounterexampleViolates(onnx, vnnlib, *r);
  }
}

// The committed VNN-COMP consensus (ground_truth.csv, last column).
std::map<std::pair<std::string, std::string>, std::string> GroundTruth() {
  std::map<std::pair<std::string, std::string>, std::string> truth;
  std::ifstream in(Fixture("vnncomp/acasxu/ground_truth.csv"));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream s(line);
    std::string field;
    while (std::getline(s, field, ',')) f.push_back(field);
    if (f.size() >= 3) truth[{f[0], f[1]}] = f.back();
  }
  return truth;
}

TEST(VerifierTest, AcasXuSubsetMatchesGroundTruth) {
  const auto truth = GroundTruth();
  const std::vector<std::pair<std::string, std::string>> subset = {
      {"ACASXU_run2a_2_1_batch_2000.onnx", "prop_2.vnnlib"}, {"ACASXU_run2a_1_7_batch_2000.onnx", "prop_3.vnnlib"},
      {"ACASXU_run2a_2_9_batch_2000.onnx", "prop_8.vnnlib"}, {"ACASXU_run2a_1_2_batch_2000.onnx", "prop_1.vnnlib"},
      {"ACASXU_run2a_1_4_batch_2000.onnx", "prop_1.vnnlib"}};
  for (const auto& [onnx_name, vnnlib_name] : subset) {
    const std::string expected = truth.at({onnx_name, vnnlib_name});
    const std::string onnx = Fixture("vnncomp/acasxu/" + onnx_name);
    const std::string vnnlib = Fixture("vnncomp/acasxu/vnnlib/" + vnnlib_name);
    auto r = Verify(onnx, vnnlib, Options(60));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->outcome, expected == "sat" ? VerifierOutcome::kSat : VerifierOutcome::kUnsat)
        << onnx_name << " " << vnnlib_name << ": " << r->detail;
    if (r->outcome == VerifierOutcome::kSat) ExpectCounterexampleViolates(onnx, vnnlib, *r);
  }
}

// 1_9 prop_7 (sat in the ground truth) hides its counterexamples in a small
// region of a wide box: depth-first search timed out at 116 s, best-first by
// the most negative case bound reaches one in about 400 domains.
TEST(VerifierTest, BestFirstSearchFindsTheAcasXu19Prop7Counterexample) {
  const std::string onnx = Fixture("vnncomp/acasxu/ACASXU_run2a_1_9_batch_2000.onnx");
  const std::string vnnlib = Fixture("vnncomp/acasxu/vnnlib/prop_7.vnnlib");
  ASSERT_EQ(GroundTruth().at({"ACASXU_run2a_1_9_batch_2000.onnx", "prop_7.vnnlib"}), "sat");
  VerifierOptions options = Options(30);
  ASSERT_TRUE(options.best_first);
  auto r = Verify(onnx, vnnlib, options);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, VerifierOutcome::kSat) << r->detail;
  EXPECT_LT(r->domains, 5000) << r->detail;
  ExpectCounterexampleViolates(onnx, vnnlib, *r);
}

TEST(VerifierTest, CounterexamplesTheExecutorRejectsAreNeverReported) {
  // A forward pass whose outputs never violate the property: every candidate fails its re-check.
  ForwardPass refusing = [](const std::vector<float>&) -> absl::StatusOr<std::vector<double>> {
    return std::vector<double>{1e9, -1e9, -1e9, -1e9, -1e9};
  };
  auto r = Verify(Fixture("vnncomp/test/test_sat.onnx"), Fixture("vnncomp/test/test_prop.vnnlib"),
                  Options(3), [] { return false; }, &refusing);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->outcome, VerifierOutcome::kSat);
  EXPECT_NE(r->outcome, VerifierOutcome::kUnsat);
}

TEST(VerifierTest, TimeoutAndCancellationStopTheSearchPromptly) {
  // A hard instance (unsat; about 29,000 domains, 4.4 s on two cores in bench/acasxu_verify_results.csv).
  const std::string onnx = Fixture("vnncomp/acasxu/ACASXU_run2a_3_3_batch_2000.onnx");
  const std::string vnnlib = Fixture("vnncomp/acasxu/vnnlib/prop_2.vnnlib");
  auto start = std::chrono::steady_clock::now();
  auto r = Verify(onnx, vnnlib, Options(1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, VerifierOutcome::kTimeout);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 3.0);

  start = std::chrono::steady_clock::now();
  r = Verify(onnx, vnnlib, Options(60), [start] {
    return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(500);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, VerifierOutcome::kCancelled);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.5);
}

// ReLU splitting (the MLP has 784 inputs): a tiny box around a test image is
// robust for its predicted class; a large one is not.
TEST(VerifierTest, ReluSplittingOnTheMlp) {
  auto model = Model::FromOnnxFile(Fixture("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok());
  auto net = ExtractAffineNetwork(*model);
  ASSERT_TRUE(net.ok());
  auto forward = MakeExecutorForwardPass(*model, 1);
  ASSERT_TRUE(forward.ok());
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> unit(0.2, 0.8);
  std::vector<double> image(784);
  for (double& v : image) v = unit(rng);
  const std::vector<double> y = net->Evaluate(image);
  const int label = static_cast<int>(std::max_element(y.begin(), y.end()) - y.begin());
  for (double epsilon : {0.001, 0.5}) {
    Property p;
    p.num_inputs = 784;
    p.num_outputs = 10;
    for (int other = 0; other < 10; ++other) {  // violated if some other class scores at least the label's
      if (other == label) continue;
      PropertyCase c;
      for (double v : image) {
        c.input_lower.push_back(std::max(0.0, v - epsilon));
        c.input_upper.push_back(std::min(1.0, v + epsilon));
      }
      std::vector<double> coefficients(10, 0.0);
      coefficients[label] = 1;
      coefficients[other] = -1;
      c.constraints.push_back({coefficients, 0.0});
      p.cases.push_back(std::move(c));
    }
    auto r = VerifyProperty(*net, p, Options(30), *forward, [] { return false; }, nullptr);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->outcome, epsilon < 0.01 ? VerifierOutcome::kUnsat : VerifierOutcome::kSat) << r->detail;
  }
}

}  // namespace
}  // namespace crucible
