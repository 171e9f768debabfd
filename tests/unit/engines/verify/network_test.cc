// ExtractAffineNetwork: the double forward pass of the extracted affine/ReLU
// network against the executor's (oneDNN, float) forward pass on the ACAS Xu
// networks, the VNN-COMP test nets, the Fashion-MNIST MLP fixture and a
// Conv+BatchNorm model built here; unsupported graphs are FAILED_PRECONDITION.
#include "engines/verify/network.h"

#include <random>

#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"

namespace crucible {
namespace {

std::string Fixture(const std::string& relative) { return std::string(CRUCIBLE_FIXTURES_DIR) + "/" + relative; }

// Largest |double - executor| / max(1, |executor|) over random inputs in [lo, hi].
double WorstDifference(const Model& model, const AffineNetwork& net, double lo, double hi, int samples) {
  auto executor = Executor::Create(model, {.batch_size = 1, .num_threads = 1});
  EXPECT_TRUE(executor.ok()) << executor.status();
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> uniform(lo, hi);
  double worst = 0;
  for (int s = 0; s < samples; ++s) {
    Tensor x(model.InputShape(1));
    std::vector<double> input(x.num_elements());
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      x.at(i) = static_cast<float>(uniform(rng));
      input[i] = x.at(i);
    }
    auto logits = (*executor)->Forward(x);
    EXPECT_TRUE(logits.ok()) << logits.status();
    const std::vector<double> y = net.Evaluate(input);
    EXPECT_EQ(static_cast<int64_t>(y.size()), logits->num_elements());
    for (size_t i = 0; i < y.size(); ++i) {
      worst = std::max(worst, std::abs(y[i] - logits->at(i)) / std::max(1.0, std::abs(double(logits->at(i)))));
    }
  }
  return worst;
}

TEST(NetworkTest, AcasXuMatchesExecutor) {
  for (const char* name : {"ACASXU_run2a_1_1_batch_2000.onnx", "ACASXU_run2a_2_7_batch_2000.onnx",
                           "ACASXU_run2a_5_9_batch_2000.onnx"}) {
    auto model = Model::FromOnnxFile(Fixture(std::string("vnncomp/acasxu/") + name));
    ASSERT_TRUE(model.ok()) << model.status();
    auto net = ExtractAffineNetwork(*model);
    ASSERT_TRUE(net.ok()) << net.status();
    EXPECT_EQ(net->input_size(), 5);
    EXPECT_EQ(net->output_size(), 5);
    ASSERT_EQ(net->layers.size(), 7u) << name;  // six hidden ReLU layers of 50 and the logits
    for (size_t i = 0; i + 1 < net->layers.size(); ++i) {
      EXPECT_TRUE(net->layers[i].relu);
      EXPECT_EQ(net->layers[i].outputs, 50);
    }
    EXPECT_FALSE(net->layers.back().relu);
    EXPECT_LT(WorstDifference(*model, *net, -0.5, 0.5, 50), 1e-5) << name;
  }
}

TEST(NetworkTest, VnncompTestNetsMatchExecutor) {
  for (const char* name : {"test_nano.onnx", "test_tiny.onnx", "test_small.onnx", "test_sat.onnx"}) {
    auto model = Model::FromOnnxFile(Fixture(std::string("vnncomp/test/") + name));
    ASSERT_TRUE(model.ok()) << name << ": " << model.status();
    auto net = ExtractAffineNetwork(*model);
    ASSERT_TRUE(net.ok()) << name << ": " << net.status();
    EXPECT_FALSE(net->layers.back().relu);
    EXPECT_LT(WorstDifference(*model, *net, -2, 2, 30), 1e-5) << name;
  }
}

TEST(NetworkTest, FashionMnistMlpMatchesExecutor) {
  auto model = Model::FromOnnxFile(Fixture("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto net = ExtractAffineNetwork(*model);
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->input_size(), 784);
  EXPECT_EQ(net->output_size(), 10);
  EXPECT_LT(WorstDifference(*model, *net, 0, 1, 10), 1e-4);
}

TEST(NetworkTest, MaxPoolIsFailedPreconditionNamingOpAndNode) {
  auto model = Model::FromOnnxFile(Fixture("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto net = ExtractAffineNetwork(*model);
  EXPECT_EQ(net.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(net.status().message(), testing::HasSubstr("Pool"));
}

TEST(NetworkTest, BranchingResNetIsFailedPrecondition) {
  auto model = Model::FromOnnxFile(Fixture("models/fmnist_resnet.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(ExtractAffineNetwork(*model).status().code(), absl::StatusCode::kFailedPrecondition);
}

// A small CNN built in memory: Conv(stride 2, pad 1) -> BatchNorm -> Relu ->
// Conv(group 2) -> Relu -> Flatten -> Gemm(transB) -> Sub.
std::string SmallCnnOnnx() {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 0.5f);
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto& g = *model.mutable_graph();
  g.set_name("cnn");
  auto add_init = [&](const std::string& name, std::vector<int64_t> dims, bool positive = false) {
    onnx::TensorProto& t = *g.add_initializer();
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : dims) {
      t.add_dims(d);
      n *= d;
    }
    for (int64_t i = 0; i < n; ++i) t.add_float_data(positive ? 0.5f + std::abs(normal(rng)) : normal(rng));
  };
  auto add_node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
    onnx::NodeProto& n = *g.add_node();
    n.set_op_type(op);
    n.set_name(op + "_" + out);
    for (auto& i : in) n.add_input(i);
    n.add_output(out);
    return &n;
  };
  auto add_ints = [](onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    onnx::AttributeProto& a = *n->add_attribute();
    a.set_name(name);
    a.set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a.add_ints(x);
  };
  auto value_info = [](onnx::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  value_info(g.add_input(), "x", {1, 2, 6, 6});
  value_info(g.add_output(), "y", {1, 3});
  add_init("w1", {4, 2, 3, 3});
  add_init("b1", {4});
  add_init("scale", {4});
  add_init("shift", {4});
  add_init("mean", {4});
  add_init("var", {4}, true);
  add_init("w2", {4, 2, 2, 2});
  add_init("w3", {3, 16});
  add_init("b3", {3});
  add_init("c", {3});
  auto* conv1 = add_node("Conv", {"x", "w1", "b1"}, "c1");
  add_ints(conv1, "strides", {2, 2});
  add_ints(conv1, "pads", {1, 1, 1, 1});
  add_node("BatchNormalization", {"c1", "scale", "shift", "mean", "var"}, "bn");
  add_node("Relu", {"bn"}, "r1");
  auto* conv2 = add_node("Conv", {"r1", "w2"}, "c2");
  onnx::AttributeProto& group = *conv2->add_attribute();
  group.set_name("group");
  group.set_type(onnx::AttributeProto::INT);
  group.set_i(2);
  add_node("Relu", {"c2"}, "r2");
  add_node("Flatten", {"r2"}, "f");
  auto* gemm = add_node("Gemm", {"f", "w3", "b3"}, "g");
  onnx::AttributeProto& trans = *gemm->add_attribute();
  trans.set_name("transB");
  trans.set_type(onnx::AttributeProto::INT);
  trans.set_i(1);
  add_node("Sub", {"g", "c"}, "y");
  return model.SerializeAsString();
}

TEST(NetworkTest, ConvBatchNormCnnMatchesExecutor) {
  auto model = Model::FromOnnx(SmallCnnOnnx());
  ASSERT_TRUE(model.ok()) << model.status();
  auto net = ExtractAffineNetwork(*model);
  ASSERT_TRUE(net.ok()) << net.status();
  ASSERT_EQ(net->layers.size(), 3u);
  EXPECT_EQ(net->layers[0].outputs, 4 * 3 * 3);
  EXPECT_EQ(net->layers[1].outputs, 4 * 2 * 2);
  EXPECT_LT(WorstDifference(*model, *net, -1, 1, 30), 1e-5);
}

}  // namespace
}  // namespace crucible
