// Executor forward passes and input gradients against golden outputs exported
// by PyTorch (tools/make_fixtures.py) and against central finite differences.
#include "engines/core/executor.h"

#include <fstream>
#include <random>

#include "engines/core/model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"

namespace crucible {
namespace {

using testing::FixturePath;
using testing::LoadTensor;
using testing::MaxScaledError;

double Dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) s += double(a.at(i)) * b.at(i);
  return s;
}

// Directional derivative of sum(f(x) * cotangent) along random unit directions
// by central differences, compared with <gradient, direction>. Small steps
// keep ReLU and max-pool kinks from being crossed.
void ExpectGradientMatchesFiniteDifferences(Executor& exec, const Tensor& x, const Tensor& cotangent,
                                            const Tensor& gradient, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  const float eps = 3e-3f;
  for (int trial = 0; trial < 3; ++trial) {
    Tensor direction(x.shape());
    double norm = 0;
    for (float& v : direction.values()) {
      v = normal(rng);
      norm += double(v) * v;
    }
    for (float& v : direction.values()) v /= std::sqrt(norm);
    Tensor plus = x, minus = x;
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      plus.at(i) += eps * direction.at(i);
      minus.at(i) -= eps * direction.at(i);
    }
    auto f_plus = exec.Forward(plus);
    auto f_minus = exec.Forward(minus);
    ASSERT_TRUE(f_plus.ok() && f_minus.ok());
    const double numeric = (Dot(*f_plus, cotangent) - Dot(*f_minus, cotangent)) / (2 * eps);
    const double analytic = Dot(gradient, direction);
    const double typical = std::sqrt(Dot(gradient, gradient) / gradient.num_elements());
    EXPECT_NEAR(numeric, analytic, 1e-3 + 3e-2 * std::max(std::abs(analytic), typical))
        << "trial " << trial;
  }
}

std::vector<std::string> OperatorCases() {
  std::ifstream manifest(FixturePath("ops/MANIFEST.txt"));
  std::vector<std::string> cases;
  std::string line;
  while (std::getline(manifest, line)) {
    if (line.empty() || line[0] == '#') continue;
    cases.push_back(line.substr(0, line.find_first_of(" \t")));
  }
  return cases;
}

class OperatorTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OperatorTest, ForwardAndInputGradientMatchPyTorch) {
  const std::string base = FixturePath("ops/" + GetParam());
  auto model = Model::FromOnnxFile(base + ".onnx");
  ASSERT_TRUE(model.ok()) << model.status();
  const Tensor input = LoadTensor(base + "_input.npy");
  const Tensor expected = LoadTensor(base + "_output.npy");
  const Tensor cotangent = LoadTensor(base + "_cotangent.npy");
  const Tensor expected_grad = LoadTensor(base + "_input_grad.npy");
  const int64_t batch = model->has_batch_dimension() ? input.dim(0) : 1;
  auto exec = Executor::Create(*model, {.batch_size = batch, .num_threads = 2});
  ASSERT_TRUE(exec.ok()) << exec.status();

  auto output = (*exec)->Forward(input);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_LE(MaxScaledError(*output, expected), 1e-4);
  auto grad = (*exec)->Backward(cotangent);
  ASSERT_TRUE(grad.ok()) << grad.status();
  EXPECT_LE(MaxScaledError(*grad, expected_grad), 1e-4);
  ExpectGradientMatchesFiniteDifferences(**exec, input, cotangent, *grad, 7);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OperatorTest, ::testing::ValuesIn(OperatorCases()),
                         [](const auto& info) { return info.param; });

class FixtureModelTest : public ::testing::TestWithParam<std::string> {};

// Golden logits and gradients for 8 test images, at batch sizes that pad
// (32) and split (1) the 8 examples.
TEST_P(FixtureModelTest, LogitsAndInputGradientsMatchPyTorch) {
  const std::string golden = FixturePath("golden/" + GetParam());
  auto model = Model::FromOnnxFile(FixturePath("models/" + GetParam() + ".onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  const Tensor inputs = LoadTensor(golden + "_inputs.npy");
  const Tensor logits = LoadTensor(golden + "_logits.npy");
  const Tensor cotangent = LoadTensor(golden + "_cotangent.npy");
  const Tensor input_grad = LoadTensor(golden + "_input_grad.npy");

  auto padded = Executor::Create(*model, {.batch_size = 32, .num_threads = 2});
  ASSERT_TRUE(padded.ok()) << padded.status();
  auto out = (*padded)->Forward(inputs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_LE(MaxScaledError(*out, logits), 1e-4);
  auto grad = (*padded)->Backward(cotangent);
  ASSERT_TRUE(grad.ok()) << grad.status();
  EXPECT_LE(MaxScaledError(*grad, input_grad), 1e-4);
  // Finite differences on noise: real images have flat backgrounds where
  // max-pool windows tie, and a max is not differentiable at a tie.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  Tensor noise(inputs.shape());
  for (float& v : noise.values()) v = uniform(rng);
  auto noise_grad = (*padded)->InputGradient(noise, cotangent);
  ASSERT_TRUE(noise_grad.ok()) << noise_grad.status();
  ExpectGradientMatchesFiniteDifferences(**padded, noise, cotangent, *noise_grad, 11);

  auto single = Executor::Create(*model, {.batch_size = 1, .num_threads = 1});
  ASSERT_TRUE(single.ok()) << single.status();
  for (int64_t i = 0; i < inputs.dim(0); ++i) {
    auto g = (*single)->InputGradient(inputs.Slice(i, i + 1), cotangent.Slice(i, i + 1));
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_LE(MaxScaledError(*g, input_grad.Slice(i, i + 1)), 1e-4) << "example " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureModelTest,
                         ::testing::Values("fmnist_mlp", "fmnist_lenet", "fmnist_resnet"),
                         [](const auto& info) { return info.param; });

TEST(ExecutorTest, IntermediateActivationsAreReturnedByName) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<std::string> relus = model->OutputsOfType("Relu");
  ASSERT_EQ(relus.size(), 2u);
  auto exec = Executor::Create(*model, {.batch_size = 8});
  ASSERT_TRUE(exec.ok());
  const Tensor inputs = LoadTensor(FixturePath("golden/fmnist_mlp_inputs.npy"));
  absl::flat_hash_map<std::string, Tensor> activations;
  ASSERT_TRUE((*exec)->Forward(inputs.Slice(0, 3), relus, &activations).ok());
  ASSERT_EQ(activations.size(), 2u);
  EXPECT_EQ(activations[relus[0]].shape(), Shape({3, 128}));
  EXPECT_EQ(activations[relus[1]].shape(), Shape({3, 64}));
  for (float v : activations[relus[0]].values()) EXPECT_GE(v, 0.0f);
  EXPECT_FALSE((*exec)->Forward(inputs, {"no_such_value"}, &activations).ok());
}

// LeNet's activations live in oneDNN's blocked formats internally; what comes
// out must be plain row-major. Checked through the max-pool relation between
// the first ReLU's output and the pooled value.
TEST(ExecutorTest, ActivationsInBlockedFormatsComeOutRowMajor) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  const std::string relu = model->OutputsOfType("Relu")[0];
  const std::string pooled = model->OutputsOfType("MaxPool")[0];
  auto exec = Executor::Create(*model, {.batch_size = 8});
  ASSERT_TRUE(exec.ok());
  absl::flat_hash_map<std::string, Tensor> act;
  ASSERT_TRUE((*exec)->Forward(LoadTensor(FixturePath("golden/fmnist_lenet_inputs.npy")), {relu, pooled}, &act).ok());
  const Tensor& r = act[relu];
  const Tensor& p = act[pooled];
  ASSERT_EQ(r.shape(), Shape({8, 6, 28, 28}));
  ASSERT_EQ(p.shape(), Shape({8, 6, 14, 14}));
  double total = 0;
  for (int64_t nc = 0; nc < 8 * 6; ++nc) {
    for (int64_t y = 0; y < 14; ++y) {
      for (int64_t x = 0; x < 14; ++x) {
        const float* row = r.data() + nc * 784 + 2 * y * 28 + 2 * x;
        const float expected = std::max({row[0], row[1], row[28], row[29]});
        EXPECT_EQ(p.at(nc * 196 + y * 14 + x), expected);
        total += expected;
      }
    }
  }
  EXPECT_GT(total, 0.0);
}

TEST(ExecutorTest, ValuesFusedIntoTheirReluCannotBeRequested) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  const std::string conv = model->OutputsOfType("Conv")[0];
  auto exec = Executor::Create(*model, {.batch_size = 1});
  ASSERT_TRUE(exec.ok());
  absl::flat_hash_map<std::string, Tensor> act;
  auto status = (*exec)->Forward(Tensor({1, 1, 28, 28}), {conv}, &act).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("fused"));
}

TEST(ExecutorTest, RejectsWrongShapesAndNonFiniteInputs) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto exec = Executor::Create(*model, {.batch_size = 4});
  ASSERT_TRUE(exec.ok());
  auto wrong = (*exec)->Forward(Tensor({2, 1, 28, 27}));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wrong.status().message()), ::testing::HasSubstr("[2,1,28,27]"));
  EXPECT_EQ((*exec)->Forward(Tensor({5, 1, 28, 28})).status().code(), absl::StatusCode::kInvalidArgument);
  Tensor nan_input({1, 1, 28, 28});
  nan_input.at(100) = std::nanf("");
  auto nan = (*exec)->Forward(nan_input);
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(nan.status().message()), ::testing::HasSubstr("element 100"));
  Tensor inf_input({1, 1, 28, 28});
  inf_input.at(3) = INFINITY;
  EXPECT_EQ((*exec)->Forward(inf_input).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*exec)->Backward(Tensor({3, 10})).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*exec)->Forward(Tensor({2, 1, 28, 28})).ok());
  EXPECT_EQ((*exec)->Backward(Tensor({3, 10})).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Executor::Create(*model, {.batch_size = 0}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crucible
