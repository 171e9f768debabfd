// NapVerifier on the Fashion-MNIST fixture MLP (784-128-64-10), against
// truth computed here with the executor (float ReLU outputs and logits) on
// the fixture's real test images:
//   - a weak NAP (a few neurons of a real input's pattern) is SAT, and the
//     witness is inside the box, satisfies the NAP and is misclassified;
//   - a strong NAP (a real input's full pattern) in a small box around it is
//     UNSAT, and dense sampling of the box finds no NAP-satisfying input of
//     another class; in a twice larger box it is SAT with a witness that has
//     the full pattern and another label;
//   - mined NAPs of two real classes are exclusive, or the witness has both;
//   - NAP-augmented robustness: ε with the NAP >= ε without, every verified
//     bisection step below every refuted one, and no attack sample inside
//     the verified ε-ball;
//   - on ACAS Xu (5 inputs) the search with Z3 leaves and with splitting
//     only agree; Z3 with fixed phases agrees with the box's own phases;
//   - the LP relaxation's sound bound is below every sampled point;
//   - bad arguments name the field; cancellation stops a query.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "engines/nap/nap_forward_pass.h"
#include "engines/nap/nap_verifier.h"
#include "engines/nap/phase_lp.h"
#include "engines/nap/phase_query.h"
#include "engines/verify/bounds.h"
#include "engines/verify/network.h"
#include "engines/verify/smt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

std::string Fixture(const std::string& relative) { return std::string(CRUCIBLE_FIXTURES_DIR) + "/" + relative; }

// The executor's view of one input: float logits and ReLU outputs.
struct FloatView {
  std::vector<float> logits;
  std::vector<std::vector<float>> relus;
  int64_t Predicted() const { return std::max_element(logits.begin(), logits.end()) - logits.begin(); }
};

struct Shared {
  std::unique_ptr<Model> model;
  AffineNetwork net;
  NapForwardPass forward;
  std::unique_ptr<Executor> executor;
  std::vector<std::string> relu_names;
  std::vector<std::vector<double>> images;  // pixels in [0, 1]
  std::vector<int64_t> labels;

  FloatView View(const std::vector<double>& x) {
    absl::flat_hash_map<std::string, Tensor> acts;
    std::vector<float> xf(x.begin(), x.end());
    auto logits = executor->Forward(Tensor(model->InputShape(1), xf), relu_names, &acts);
    EXPECT_TRUE(logits.ok()) << logits.status();
    FloatView v;
    v.logits.assign(logits->values().begin(), logits->values().end());
    for (const std::string& name : relu_names) {
      v.relus.emplace_back(acts.at(name).values().begin(), acts.at(name).values().end());
    }
    return v;
  }
};

Shared& Get() {
  static Shared* shared = [] {
    auto* s = new Shared;
    auto model = Model::FromOnnxFile(Fixture("models/fmnist_mlp.onnx"));
    EXPECT_TRUE(model.ok()) << model.status();
    s->model = std::make_unique<Model>(*std::move(model));
    s->net = *ExtractAffineNetwork(*s->model);
    s->forward = *MakeExecutorNapForwardPass(*s->model, 1);
    s->executor = *Executor::Create(*s->model, {.batch_size = 1, .num_threads = 1});
    s->relu_names = s->model->OutputsOfType("Relu");
    const NdArray images = *ReadNpyFile(Fixture("data/fmnist_test_1000_images.npy"));
    const Tensor t = ToFloatTensor(images);
    s->labels = *ToLabels(*ReadNpyFile(Fixture("data/fmnist_test_1000_labels.npy")));
    constexpr int64_t kImages = 400;
    for (int64_t i = 0; i < kImages; ++i) {
      std::vector<double> x(784);
      for (int64_t j = 0; j < 784; ++j) x[j] = t.at(i * 784 + j) / 255.0;
      s->images.push_back(std::move(x));
    }
    s->labels.resize(kImages);
    return s;
  }();
  return *shared;
}

bool Satisfies(const FloatView& v, const ActivationPattern& nap) {
  for (const FixedNeuron& n : nap.neurons) {
    const float a = v.relus[n.layer][n.neuron];
    if (n.state == NeuronState::kActive ? !(a > 0) : !(a <= 0)) return false;
  }
  return true;
}

// The full activation pattern of x (every hidden neuron fixed).
ActivationPattern FullPattern(const FloatView& v, int64_t label) {
  ActivationPattern nap{.label = label, .neurons = {}};
  for (size_t k = 0; k < v.relus.size(); ++k) {
    for (size_t i = 0; i < v.relus[k].size(); ++i) {
      nap.neurons.push_back({static_cast<int32_t>(k), static_cast<int64_t>(i),
                             v.relus[k][i] > 0 ? NeuronState::kActive : NeuronState::kInactive});
    }
  }
  return nap;
}

// Neurons fixed for >= delta of the correctly classified fixture images of `label`.
ActivationPattern Mine(int64_t label, double delta) {
  Shared& s = Get();
  std::vector<std::vector<int>> active;
  int count = 0;
  for (size_t i = 0; i < s.images.size(); ++i) {
    if (s.labels[i] != label) continue;
    const FloatView v = s.View(s.images[i]);
    if (v.Predicted() != label) continue;
    if (active.empty()) {
      for (const auto& layer : v.relus) active.emplace_back(layer.size(), 0);
    }
    for (size_t k = 0; k < v.relus.size(); ++k) {
      for (size_t j = 0; j < v.relus[k].size(); ++j) active[k][j] += v.relus[k][j] > 0;
    }
    ++count;
  }
  EXPECT_GT(count, 10);
  ActivationPattern nap{.label = label, .neurons = {}};
  for (size_t k = 0; k < active.size(); ++k) {
    for (size_t j = 0; j < active[k].size(); ++j) {
      if (active[k][j] >= delta * count) nap.neurons.push_back({int32_t(k), int64_t(j), NeuronState::kActive});
      if (count - active[k][j] >= delta * count) nap.neurons.push_back({int32_t(k), int64_t(j), NeuronState::kInactive});
    }
  }
  return nap;
}

// Index of the first fixture image of `label` the model classifies correctly with a clear margin.
size_t ConfidentImage(int64_t label) {
  Shared& s = Get();
  for (size_t i = 0; i < s.images.size(); ++i) {
    if (s.labels[i] != label) continue;
    const FloatView v = s.View(s.images[i]);
    std::vector<float> sorted = v.logits;
    std::sort(sorted.begin(), sorted.end());
    if (v.Predicted() == label && sorted[9] - sorted[8] > 3.0f) return i;
  }
  ADD_FAILURE() << "no confident image of class " << label;
  return 0;
}

InputBox BallBox(const std::vector<double>& x, double epsilon) {
  InputBox box;
  for (double v : x) {
    box.lower.push_back(std::max(0.0, v - epsilon));
    box.upper.push_back(std::min(1.0, v + epsilon));
  }
  return box;
}

const std::function<bool()> kNever = [] { return false; };

TEST(NapVerifierTest, FixtureModelClassifiesTheFixtureImages) {
  Shared& s = Get();
  int correct = 0;
  for (size_t i = 0; i < s.images.size(); ++i) correct += s.View(s.images[i]).Predicted() == s.labels[i];
  EXPECT_GT(correct, 0.75 * s.images.size());
}

TEST(NapVerifierTest, WeakNapIsRefutedByAWitnessThatSatisfiesItAndIsMisclassified) {
  Shared& s = Get();
  const size_t index = ConfidentImage(1);
  const ActivationPattern full = FullPattern(s.View(s.images[index]), 1);
  ActivationPattern weak{.label = 1, .neurons = {}};
  for (const FixedNeuron& n : full.neurons) {
    if (n.layer == 0 && weak.neurons.size() < 6) weak.neurons.push_back(n);
  }
  NapVerifier verifier(s.net, s.forward, {.timeout_seconds = 20});
  const InputBox box = InputBox::Uniform(784, 0.0, 1.0);
  absl::StatusOr<NapQueryResult> r = verifier.VerifyClass(weak, box, kNever);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, NapOutcome::kSat) << r->detail;
  ASSERT_EQ(r->input.size(), 784u);
  for (size_t i = 0; i < 784; ++i) {
    EXPECT_GE(r->input[i], 0.0);
    EXPECT_LE(r->input[i], 1.0);
  }
  const FloatView v = s.View(r->input);
  EXPECT_TRUE(Satisfies(v, weak));
  EXPECT_NE(v.Predicted(), 1);
  EXPECT_EQ(v.Predicted(), r->predicted);
}

TEST(NapVerifierTest, FullPatternInASmallBoxIsProvenAndSamplingAgrees) {
  Shared& s = Get();
  const int64_t label = 9;
  const size_t index = ConfidentImage(label);
  const std::vector<double>& x0 = s.images[index];
  // Over this box without the phases, CROWN cannot prove it: the LP with the phase constraints does.
  const double kRadius = 0.1;
  const ActivationPattern strong = FullPattern(s.View(x0), label);
  const InputBox box = BallBox(x0, kRadius);
  NapVerifier verifier(s.net, s.forward, {.timeout_seconds = 30});
  absl::StatusOr<NapQueryResult> r = verifier.VerifyClass(strong, box, kNever);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, NapOutcome::kUnsat) << r->detail;
  EXPECT_GT(r->lp_calls, 0);
  // Dense sampling at several radii: every sample with the pattern keeps the label.
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int with_pattern = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const double scale = std::pow(0.1, trial % 4);  // radii 0.1 down to 1e-4
    std::vector<double> x(784);
    for (int i = 0; i < 784; ++i) {
      const double lo = std::max(box.lower[i], x0[i] - kRadius * scale);
      const double hi = std::min(box.upper[i], x0[i] + kRadius * scale);
      x[i] = lo + unit(rng) * (hi - lo);
    }
    const FloatView v = s.View(x);
    if (!Satisfies(v, strong)) continue;
    ++with_pattern;
    EXPECT_EQ(v.Predicted(), label);
  }
  EXPECT_GT(with_pattern, 100);
}

TEST(NapVerifierTest, FullPatternInALargerBoxIsRefutedByAWitnessWithThePattern) {
  Shared& s = Get();
  const int64_t label = 9;
  const std::vector<double>& x0 = s.images[ConfidentImage(label)];
  const ActivationPattern strong = FullPattern(s.View(x0), label);
  const InputBox box = BallBox(x0, 0.2);
  NapVerifier verifier(s.net, s.forward, {.timeout_seconds = 30});
  absl::StatusOr<NapQueryResult> r = verifier.VerifyClass(strong, box, kNever);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, NapOutcome::kSat) << r->detail;
  for (size_t i = 0; i < 784; ++i) {
    EXPECT_GE(r->input[i], box.lower[i]);
    EXPECT_LE(r->input[i], box.upper[i]);
  }
  const FloatView v = s.View(r->input);
  EXPECT_TRUE(Satisfies(v, strong));
  EXPECT_NE(v.Predicted(), label);
}

TEST(NapVerifierTest, MinedNapsOfTwoClassesAreExclusiveOrTheWitnessHasBoth) {
  Shared& s = Get();
  const ActivationPattern trouser = Mine(1, 0.95);
  const ActivationPattern sneaker = Mine(7, 0.95);
  NapVerifier verifier(s.net, s.forward, {.timeout_seconds = 20});
  const InputBox box = InputBox::Uniform(784, 0.0, 1.0);
  absl::StatusOr<NapQueryResult> r = verifier.VerifyExclusive(trouser, sneaker, box, kNever);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_THAT(r->outcome, testing::AnyOf(NapOutcome::kUnsat, NapOutcome::kSat)) << r->detail;
  if (r->outcome == NapOutcome::kSat) {
    const FloatView v = s.View(r->input);
    EXPECT_TRUE(Satisfies(v, trouser));
    EXPECT_TRUE(Satisfies(v, sneaker));
  }
  // The same NAPs without their contradicting neurons: a real search either way.
  ActivationPattern first = trouser, second{.label = 7, .neurons = {}};
  for (const FixedNeuron& n : sneaker.neurons) {
    const bool clash = std::any_of(trouser.neurons.begin(), trouser.neurons.end(), [&](const FixedNeuron& m) {
      return m.layer == n.layer && m.neuron == n.neuron && m.state != n.state;
    });
    if (!clash) second.neurons.push_back(n);
  }
  first.neurons.erase(std::remove_if(first.neurons.begin(), first.neurons.end(),
                                     [&](const FixedNeuron& m) {
                                       return std::any_of(sneaker.neurons.begin(), sneaker.neurons.end(),
                                                          [&](const FixedNeuron& n) {
                                                            return m.layer == n.layer && m.neuron == n.neuron &&
                                                                   m.state != n.state;
                                                          });
                                     }),
                      first.neurons.end());
  r = verifier.VerifyExclusive(first, second, box, kNever);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_THAT(r->outcome, testing::AnyOf(NapOutcome::kUnsat, NapOutcome::kSat)) << r->detail;
  if (r->outcome == NapOutcome::kSat) {
    const FloatView v = s.View(r->input);
    EXPECT_TRUE(Satisfies(v, first));
    EXPECT_TRUE(Satisfies(v, second));
  }
}

TEST(NapVerifierTest, AugmentedRobustnessBisectionIsMonotoneAndTheNapOnlyHelps) {
  Shared& s = Get();
  NapVerifier verifier(s.net, s.forward, {.timeout_seconds = 0.7});
  const RobustnessOptions options{.max_epsilon = 0.1, .bisection_steps = 4};
  for (int64_t label : {0, 3}) {
    const ActivationPattern nap = Mine(label, 0.95);
    const size_t index = ConfidentImage(label);
    absl::StatusOr<RobustnessResult> r = verifier.AugmentedRobustness(s.images[index], label, nap, options, kNever);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->correctly_classified);
    EXPECT_EQ(r->satisfies_nap, Satisfies(s.View(s.images[index]), nap));
    EXPECT_GT(r->epsilon_without_nap, 0.0);
    EXPECT_GE(r->epsilon_with_nap, r->epsilon_without_nap);
    for (bool with_nap : {false, true}) {
      const double found = with_nap ? r->epsilon_with_nap : r->epsilon_without_nap;
      for (const RobustnessStep& step : r->steps) {
        if (step.with_nap != with_nap) continue;
        if (step.outcome == NapOutcome::kUnsat) {
          EXPECT_LE(step.epsilon, found);
        } else {
          EXPECT_GT(step.epsilon, found);
        }
      }
    }
    // Independent truth: no random or corner sample in the verified ball changes the label.
    const double eps = r->epsilon_without_nap;
    std::mt19937 rng(label);
    std::uniform_int_distribution<int> sign(0, 1);
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<double> x = s.images[index];
      for (double& v : x) v = std::clamp(v + (sign(rng) ? eps : -eps), 0.0, 1.0);
      EXPECT_EQ(s.View(x).Predicted(), label);
    }
  }
}

// ACAS Xu (5 inputs) lets Z3 take the leaves: the search with Z3 leaves and
// with splitting only must give the same answers, and every witness holds.
TEST(NapVerifierTest, Z3LeavesAndSplittingOnlyAgreeOnASmallInputNetwork) {
  auto model = Model::FromOnnxFile(Fixture("vnncomp/acasxu/ACASXU_run2a_1_1_batch_2000.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  const AffineNetwork net = *ExtractAffineNetwork(*model);
  const NapForwardPass forward = *MakeExecutorNapForwardPass(*model, 1);
  const NapVerifierOptions with_z3{.timeout_seconds = 10};
  NapVerifierOptions splitting_only{.timeout_seconds = 10};
  splitting_only.smt_max_inputs = 0;
  const NapVerifier z3(net, forward, with_z3), lp(net, forward, splitting_only);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> unit(-0.3, 0.3);
  int decided = 0;
  for (double width : {0.05, 0.1, 0.2, 0.3}) {
    std::vector<double> p(5);
    for (double& v : p) v = unit(rng);
    const NapForward f = *forward(std::vector<float>(p.begin(), p.end()));
    const int64_t label = std::max_element(f.logits.begin(), f.logits.end()) - f.logits.begin();
    ActivationPattern nap{.label = label, .neurons = {}};
    for (int64_t layer : {0, 1}) {
      for (int64_t i = 0; i < 50; i += layer + 1) {
        nap.neurons.push_back({static_cast<int32_t>(layer), i,
                               f.relu_outputs[layer][i] > 0 ? NeuronState::kActive : NeuronState::kInactive});
      }
    }
    InputBox box;
    for (double v : p) {
      box.lower.push_back(v - width / 2);
      box.upper.push_back(v + width / 2);
    }
    absl::StatusOr<NapQueryResult> a = z3.VerifyClass(nap, box, kNever);
    absl::StatusOr<NapQueryResult> b = lp.VerifyClass(nap, box, kNever);
    ASSERT_TRUE(a.ok() && b.ok());
    for (const NapQueryResult* r : {&*a, &*b}) {
      if (r->outcome != NapOutcome::kSat) continue;
      const NapForward w = *forward(std::vector<float>(r->input.begin(), r->input.end()));
      for (const FixedNeuron& n : nap.neurons) {
        const double out = w.relu_outputs[n.layer][n.neuron];
        EXPECT_TRUE(n.state == NeuronState::kActive ? out > 0 : out <= 0);
      }
      EXPECT_NE(std::max_element(w.logits.begin(), w.logits.end()) - w.logits.begin(), label);
    }
    const bool both = a->outcome != NapOutcome::kTimeout && a->outcome != NapOutcome::kUnknown &&
                      b->outcome != NapOutcome::kTimeout && b->outcome != NapOutcome::kUnknown;
    if (both) {
      EXPECT_EQ(a->outcome, b->outcome) << a->detail << " | " << b->detail;
      ++decided;
    }
  }
  EXPECT_GE(decided, 3);
}

// The Z3 encoding with fixed phases: a point's own phases are satisfiable
// in a small box around it (and the model has them), a phase the whole box
// contradicts is not.
TEST(NapVerifierTest, Z3WithPhasesAgreesWithThePhasesOfTheBox) {
  auto model = Model::FromOnnxFile(Fixture("vnncomp/acasxu/ACASXU_run2a_1_1_batch_2000.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  const AffineNetwork net = *ExtractAffineNetwork(*model);
  const std::vector<double> p = {0.1, -0.2, 0.05, 0.3, -0.1};
  Eigen::VectorXd lo(5), hi(5);
  for (int i = 0; i < 5; ++i) {
    lo[i] = p[i] - 0.01;
    hi[i] = p[i] + 0.01;
  }
  const NetworkBounds bounds(net);
  LayerBounds layers;
  ASSERT_TRUE(bounds.PreActivation(lo, hi, {}, layers));
  const std::vector<std::vector<double>> pre = PreActivations(net, p);
  ReluSplits phases = PhaseQuery::FreePhases(net);
  for (int64_t i = 0; i < 50; ++i) phases[1][i] = pre[1][i] > 0 ? 1 : -1;
  const std::vector<OutputConstraint> any;  // no output constraint: feasibility of the phases
  SmtResult r = CheckLeafWithZ3(net, layers, lo, hi, {&any}, 10.0, nullptr, &phases);
  ASSERT_EQ(r.answer, SmtAnswer::kSat) << r.reason;
  const std::vector<std::vector<double>> at_model = PreActivations(net, r.input);
  for (int64_t i = 0; i < 50; ++i) EXPECT_GE(phases[1][i] * at_model[1][i], -1e-6);
  // Flip the second-layer neuron that is most clearly on one side over the whole box.
  int64_t flip = -1;
  double widest = 0;
  for (int64_t i = 0; i < 50; ++i) {
    const double margin = std::max(layers.lower[1][i], -layers.upper[1][i]);
    if (margin > widest) {
      widest = margin;
      flip = i;
    }
  }
  ASSERT_GE(flip, 0);
  phases[1][flip] = layers.lower[1][flip] > 0 ? -1 : 1;
  r = CheckLeafWithZ3(net, layers, lo, hi, {&any}, 10.0, nullptr, &phases);
  EXPECT_EQ(r.answer, SmtAnswer::kUnsat) << r.reason;
}

TEST(PhaseLpTest, SoundBoundIsBelowEverySampledPointWithThePhases) {
  Shared& s = Get();
  const size_t index = ConfidentImage(2);
  const std::vector<double>& x0 = s.images[index];
  const FloatView view = s.View(x0);
  // Phases: the input's own states of every other first-layer neuron and the second layer's first 20.
  PhaseQuery q;
  const InputBox box = BallBox(x0, 0.05);
  q.lower = Eigen::Map<const Eigen::VectorXd>(box.lower.data(), 784);
  q.upper = Eigen::Map<const Eigen::VectorXd>(box.upper.data(), 784);
  q.phases = PhaseQuery::FreePhases(s.net);
  for (int i = 0; i < 128; i += 2) q.phases[0][i] = view.relus[0][i] > 0 ? 1 : -1;
  for (int i = 0; i < 20; ++i) q.phases[1][i] = view.relus[1][i] > 0 ? 1 : -1;
  const NetworkBounds bounds(s.net);
  LayerBounds layers;
  ASSERT_TRUE(bounds.PreActivation(q.lower, q.upper, q.phases, layers));
  PhaseLp lp(s.net, layers, q.lower, q.upper, q.phases);
  std::vector<double> objective(10, 0.0);
  objective[2] = 1.0;
  objective[4] = -1.0;  // y_2 - y_4
  const PhaseLp::Minimum m = lp.Minimize(objective, 0.0, kNever);
  ASSERT_EQ(m.status, PhaseLp::Status::kOptimal);
  EXPECT_LE(m.bound, m.lp_value + 1e-9);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int inside = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const double scale = std::pow(0.2, trial % 3);
    std::vector<double> x(784);
    for (int i = 0; i < 784; ++i) {
      x[i] = std::clamp(x0[i] + (2 * unit(rng) - 1) * 0.05 * scale, q.lower[i], q.upper[i]);
    }
    const std::vector<std::vector<double>> pre = PreActivations(s.net, x);
    if (q.PhaseViolation(pre) > 0) continue;
    ++inside;
    EXPECT_GE(pre.back()[2] - pre.back()[4], m.bound);
  }
  EXPECT_GT(inside, 50);
  // x0 satisfies the phases, so the relaxation is not empty.
  const PhaseLp::Minimum violation = lp.MinimizeViolation(kNever);
  ASSERT_EQ(violation.status, PhaseLp::Status::kOptimal);
  EXPECT_LE(violation.bound, 0.0);
}

TEST(NapVerifierTest, BadArgumentsNameTheField) {
  Shared& s = Get();
  NapVerifier verifier(s.net, s.forward);
  const InputBox box = InputBox::Uniform(784, 0.0, 1.0);
  ActivationPattern nap{.label = 12, .neurons = {}};
  EXPECT_THAT(verifier.VerifyClass(nap, box, kNever).status().message(), testing::HasSubstr("nap.label"));
  nap.label = 1;
  nap.neurons = {{.layer = 2, .neuron = 0}};
  EXPECT_THAT(verifier.VerifyClass(nap, box, kNever).status().message(), testing::HasSubstr("nap.neurons[0].layer"));
  nap.neurons = {{.layer = 1, .neuron = 64}};
  EXPECT_THAT(verifier.VerifyClass(nap, box, kNever).status().message(), testing::HasSubstr("nap.neurons[0].neuron"));
  nap.neurons = {{.layer = 0, .neuron = 3, .state = NeuronState::kActive},
                 {.layer = 0, .neuron = 3, .state = NeuronState::kInactive}};
  EXPECT_EQ(verifier.VerifyClass(nap, box, kNever).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(verifier.VerifyClass({.label = 1, .neurons = {}}, InputBox::Uniform(10, 0, 1), kNever).status().message(),
              testing::HasSubstr("box"));
  // Opposite states in two NAPs: exclusive without a search.
  absl::StatusOr<NapQueryResult> r = verifier.VerifyExclusive(
      {.label = 1, .neurons = {{.layer = 0, .neuron = 3, .state = NeuronState::kActive}}},
      {.label = 2, .neurons = {{.layer = 0, .neuron = 3, .state = NeuronState::kInactive}}}, box, kNever);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, NapOutcome::kUnsat);
}

TEST(NapVerifierTest, CancellationStopsAQuery) {
  Shared& s = Get();
  NapVerifier verifier(s.net, s.forward, {.timeout_seconds = 0});
  ActivationPattern nap = Mine(4, 0.99);
  absl::StatusOr<NapQueryResult> r =
      verifier.VerifyClass(nap, InputBox::Uniform(784, 0.0, 1.0), [] { return true; });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, NapOutcome::kCancelled);
  EXPECT_LT(r->seconds, 2.0);
}

}  // namespace
}  // namespace crucible
