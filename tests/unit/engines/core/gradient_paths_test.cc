// The executor's faster gradient paths against independent truth:
// GradientSharing's safety rule on hand-worked backward schedules; input
// gradients of graphs where gradients share buffers (same-shape Add, ReLU
// backward in place) against closed-form derivatives; and the backward-data of
// one-input-channel convolutions (SingleChannelConvBackward) against a direct
// double-precision scatter written here; the residual Add folded into a
// Conv (its logits and gradients are checked against PyTorch in executor_test);
// and the gradient of a model whose input has no batch dimension.
#include <cmath>
#include <random>

#include "engines/core/executor.h"
#include "engines/core/gradient_sharing.h"
#include "engines/core/model.h"
#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"
#include "tests/unit/engines/core/test_files.h"

namespace crucible {
namespace {

using testing::MaxScaledError;

// --- GradientSharing --------------------------------------------------------

TEST(GradientSharingTest, AddPassesItsOutputGradientToBothOperands) {
  // y = Add(x, h) at time 2, h = f(x) at time 1, x the graph input.
  GradientSharing sharing;
  sharing.AddOwn("y", {.created = 3, .read = 2, .modified = {}});
  EXPECT_TRUE(sharing.TryShare("h", "y", {.created = 2, .read = 1, .modified = {}}));
  // x also gets f's contribution at time 1, after h was read at time 1.
  EXPECT_TRUE(sharing.TryShare("x", "y", {.created = 2, .read = -1, .modified = {1}}));
  EXPECT_EQ(sharing.BufferOf("x"), "y");
  EXPECT_EQ(sharing.BufferOf("h"), "y");
}

TEST(GradientSharingTest, NoModificationWhileAnotherGradientWaits) {
  // y = Add(x, r) at 2, r = Relu(z) at 1, z = Conv(x) at 0: x and r share y's
  // buffer; the ReLU's in-place rewrite at 1 would change x's gradient, which
  // is read only after the pass.
  GradientSharing sharing;
  sharing.AddOwn("y", {.created = 3, .read = 2, .modified = {}});
  ASSERT_TRUE(sharing.TryShare("x", "y", {.created = 2, .read = -1, .modified = {0}}));
  ASSERT_TRUE(sharing.TryShare("r", "y", {.created = 2, .read = 1, .modified = {}}));
  EXPECT_FALSE(sharing.TryShare("z", "r", {.created = 1, .read = 0, .modified = {1}}));
  sharing.AddOwn("z", {.created = 1, .read = 0, .modified = {}});
  EXPECT_EQ(sharing.BufferOf("z"), "z");

  // An accumulation into one operand before the other operand's reader ran.
  GradientSharing late_reader;
  late_reader.AddOwn("y", {.created = 5, .read = 4, .modified = {}});
  ASSERT_TRUE(late_reader.TryShare("a", "y", {.created = 4, .read = 1, .modified = {}}));
  EXPECT_FALSE(late_reader.TryShare("b", "y", {.created = 4, .read = 0, .modified = {2}}));
}

// --- Graphs built here --------------------------------------------------------

class GraphBuilder {
 public:
  GraphBuilder(const std::vector<int64_t>& input_dims) {
    model_.set_ir_version(8);
    model_.add_opset_import()->set_version(13);
    graph_ = model_.mutable_graph();
    graph_->set_name("g");
    Value(graph_->add_input(), "x", input_dims);
  }
  onnx::NodeProto* Node(const std::string& op, std::vector<std::string> inputs, const std::string& output) {
    onnx::NodeProto* node = graph_->add_node();
    node->set_name(output + "_node");
    node->set_op_type(op);
    for (const std::string& in : inputs) node->add_input(in);
    node->add_output(output);
    return node;
  }
  void Constant(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& data) {
    onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : data) t->add_float_data(v);
  }
  Model Build(const std::string& output, const std::vector<int64_t>& dims) {
    Value(graph_->add_output(), output, dims);
    auto model = Model::FromOnnx(model_.SerializeAsString());
    EXPECT_TRUE(model.ok()) << model.status();
    return *std::move(model);
  }

 private:
  static void Value(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
};

void AddIntsAttribute(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

Tensor Random(const Shape& shape, uint32_t seed, float offset = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  Tensor t(shape);
  for (float& v : t.values()) v = normal(rng) + offset;
  return t;
}

Tensor Gradient(const Model& model, int64_t batch, const Tensor& x, const Tensor& cotangent) {
  auto exec = Executor::Create(model, {.batch_size = batch, .num_threads = 2});
  EXPECT_TRUE(exec.ok()) << exec.status();
  auto grad = (*exec)->InputGradient(x, cotangent);
  EXPECT_TRUE(grad.ok()) << grad.status();
  return grad.ok() ? *grad : Tensor();
}

float Step(float v) { return v > 0.0f ? 1.0f : 0.0f; }

TEST(SharedGradientGraphTest, ResidualAddsAroundReLUs) {
  // a = relu(x); b = a + x; c = relu(b); d = c + a.
  // dd/dx = [b > 0] ([x > 0] + 1) + [x > 0].
  const Shape shape = {2, 3, 4, 4};
  GraphBuilder g({2, 3, 4, 4});
  g.Node("Relu", {"x"}, "a");
  g.Node("Add", {"a", "x"}, "b");
  g.Node("Relu", {"b"}, "c");
  g.Node("Add", {"c", "a"}, "d");
  const Model model = g.Build("d", {2, 3, 4, 4});
  const Tensor x = Random(shape, 1), cotangent = Random(shape, 2);
  Tensor expected(shape);
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const float a = std::max(x.at(i), 0.0f), b = a + x.at(i);
    expected.at(i) = cotangent.at(i) * (Step(b) * (Step(x.at(i)) + 1.0f) + Step(x.at(i)));
  }
  EXPECT_LE(MaxScaledError(Gradient(model, 2, x, cotangent), expected), 1e-6);
}

TEST(SharedGradientGraphTest, OperandUsedTwiceAndReLUBeforeASkip) {
  // y = relu(x) + relu(x) (one value used twice): dy/dx = 2 [x > 0].
  const Shape shape = {2, 5};
  GraphBuilder twice({2, 5});
  twice.Node("Relu", {"x"}, "r");
  twice.Node("Add", {"r", "r"}, "y");
  const Model doubled = twice.Build("y", {2, 5});
  const Tensor x = Random(shape, 3), cotangent = Random(shape, 4);
  Tensor expected(shape);
  for (int64_t i = 0; i < x.num_elements(); ++i) expected.at(i) = 2.0f * cotangent.at(i) * Step(x.at(i));
  EXPECT_LE(MaxScaledError(Gradient(doubled, 2, x, cotangent), expected), 1e-6);

  // y = relu(0.5 x) + x: the ReLU must not rewrite the skip's gradient in
  // place. dy/dx = 0.5 [x > 0] + 1.
  GraphBuilder skip({2, 5});
  skip.Constant("half", {1}, {0.5f});
  skip.Node("Mul", {"x", "half"}, "h");
  skip.Node("Relu", {"h"}, "r");
  skip.Node("Add", {"r", "x"}, "y");
  const Model skipped = skip.Build("y", {2, 5});
  for (int64_t i = 0; i < x.num_elements(); ++i) expected.at(i) = cotangent.at(i) * (0.5f * Step(x.at(i)) + 1.0f);
  EXPECT_LE(MaxScaledError(Gradient(skipped, 2, x, cotangent), expected), 1e-6);
}

TEST(SharedGradientGraphTest, ModelWithoutABatchDimension) {
  // A rank-1 input has no batch dimension: the cotangent is the whole output,
  // not rows of it. y = relu(x) + x: dy/dx = [x > 0] + 1.
  const Shape shape = {5};
  GraphBuilder g({5});
  g.Node("Relu", {"x"}, "r");
  g.Node("Add", {"r", "x"}, "y");
  const Model model = g.Build("y", {5});
  ASSERT_FALSE(model.has_batch_dimension());
  const Tensor x = Random(shape, 5), cotangent = Random(shape, 6);
  Tensor expected(shape);
  for (int64_t i = 0; i < x.num_elements(); ++i) expected.at(i) = cotangent.at(i) * (Step(x.at(i)) + 1.0f);
  EXPECT_LE(MaxScaledError(Gradient(model, 1, x, cotangent), expected), 1e-6);
}

// The fixture ResNet's projection block: the projection Conv adds into the
// other Conv's output in place (no Add pass). What comes out must still be
// the block's ReLU output, checked through the global average pool after it;
// the two Conv outputs no longer exist on their own.
TEST(ResidualSumTest, BlockOutputIsIntactAndFoldedConvOutputsAreNotOffered) {
  auto model = Model::FromOnnxFile(testing::FixturePath("models/fmnist_resnet.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto exec = Executor::Create(*model, {.batch_size = 8, .num_threads = 2});
  ASSERT_TRUE(exec.ok()) << exec.status();
  const Tensor x = testing::LoadTensor(testing::FixturePath("golden/fmnist_resnet_inputs.npy"));
  const std::string block = "/4/Relu_1_output_0", pooled = "/5/GlobalAveragePool_output_0";
  absl::flat_hash_map<std::string, Tensor> act;
  ASSERT_TRUE((*exec)->Forward(x, {block, pooled}, &act).ok());
  const Tensor& r = act[block];
  ASSERT_EQ(r.shape(), Shape({8, 32, 14, 14}));
  double worst = 0;
  for (int64_t nc = 0; nc < 8 * 32; ++nc) {
    double mean = 0;
    for (int64_t i = 0; i < 196; ++i) {
      EXPECT_GE(r.at(nc * 196 + i), 0.0f);
      mean += r.at(nc * 196 + i) / 196.0;
    }
    worst = std::max(worst, std::abs(mean - act[pooled].at(nc)));
  }
  EXPECT_LT(worst, 1e-5);
  const auto status = (*exec)->Forward(x, {"/4/proj/proj.1/BatchNormalization_output_0"}, &act).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(status.message()).find(block), std::string::npos) << status;
}

// --- One-input-channel convolutions --------------------------------------------

struct StemCase {
  std::string name;
  int64_t channels;
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: h_begin, w_begin, h_end, w_end.
  bool relu;
};

// d(sum(cotangent * f(x)))/dx for f = [relu] conv(x, w) + bias, by scattering
// each output's gradient to the input pixels it read, in double precision.
// `mask` is the ReLU's output (its sign decides; empty without a ReLU).
Tensor ReferenceGradient(const StemCase& c, const Shape& x_shape, const Shape& y_shape, const std::vector<float>& w,
                         const Tensor& cotangent, const Tensor* relu_output) {
  std::vector<double> dx(x_shape[0] * x_shape[2] * x_shape[3], 0.0);
  const int64_t kh_n = c.kernel[0], kw_n = c.kernel[1];
  for (int64_t n = 0; n < y_shape[0]; ++n) {
    for (int64_t oc = 0; oc < y_shape[1]; ++oc) {
      for (int64_t oh = 0; oh < y_shape[2]; ++oh) {
        for (int64_t ow = 0; ow < y_shape[3]; ++ow) {
          const int64_t at = ((n * y_shape[1] + oc) * y_shape[2] + oh) * y_shape[3] + ow;
          if (relu_output != nullptr && relu_output->at(at) <= 0.0f) continue;
          for (int64_t kh = 0; kh < kh_n; ++kh) {
            for (int64_t kw = 0; kw < kw_n; ++kw) {
              const int64_t ih = oh * c.strides[0] - c.pads[0] + kh * c.dilations[0];
              const int64_t iw = ow * c.strides[1] - c.pads[1] + kw * c.dilations[1];
              if (ih < 0 || ih >= x_shape[2] || iw < 0 || iw >= x_shape[3]) continue;
              dx[(n * x_shape[2] + ih) * x_shape[3] + iw] += double(cotangent.at(at)) * w[(oc * kh_n + kh) * kw_n + kw];
            }
          }
        }
      }
    }
  }
  Tensor out(x_shape);
  for (int64_t i = 0; i < out.num_elements(); ++i) out.at(i) = static_cast<float>(dx[i]);
  return out;
}

class SingleChannelConvTest : public ::testing::TestWithParam<StemCase> {};

TEST_P(SingleChannelConvTest, InputGradientMatchesDirectScatter) {
  const StemCase& c = GetParam();
  const Shape x_shape = {3, 1, 13, 12};
  auto out_size = [&](int64_t in, int axis) {
    const int64_t span = c.dilations[axis] * (c.kernel[axis] - 1) + 1;
    return (in + c.pads[axis] + c.pads[axis + 2] - span) / c.strides[axis] + 1;
  };
  const Shape y_shape = {3, c.channels, out_size(13, 0), out_size(12, 1)};
  GraphBuilder g({3, 1, 13, 12});
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  std::vector<float> w(c.channels * c.kernel[0] * c.kernel[1]), bias(c.channels);
  for (float& v : w) v = normal(rng);
  for (float& v : bias) v = 0.5f * normal(rng);
  g.Constant("w", {c.channels, 1, c.kernel[0], c.kernel[1]}, w);
  g.Constant("b", {c.channels}, bias);
  onnx::NodeProto* conv = g.Node("Conv", {"x", "w", "b"}, "conv");
  AddIntsAttribute(conv, "kernel_shape", c.kernel);
  AddIntsAttribute(conv, "strides", c.strides);
  AddIntsAttribute(conv, "dilations", c.dilations);
  AddIntsAttribute(conv, "pads", c.pads);
  // A second consumer keeps the graph output away from the convolution, so
  // that the ReLU is fused into it as in a network's stem.
  std::string last = "conv";
  if (c.relu) {
    g.Node("Relu", {"conv"}, "relu");
    last = "relu";
  }
  g.Constant("scale", {1}, {1.5f});
  g.Node("Mul", {last, "scale"}, "y");
  const Model model = g.Build("y", {y_shape.begin(), y_shape.end()});

  const Tensor x = Random(x_shape, 6), cotangent = Random(y_shape, 7);
  auto exec = Executor::Create(model, {.batch_size = 4, .num_threads = 2});
  ASSERT_TRUE(exec.ok()) << exec.status();
  absl::flat_hash_map<std::string, Tensor> activations;
  std::vector<std::string> names;
  if (c.relu) names.push_back("relu");
  ASSERT_TRUE((*exec)->Forward(x, names, &activations).ok());
  auto grad = (*exec)->Backward(cotangent);
  ASSERT_TRUE(grad.ok()) << grad.status();

  Tensor scaled = cotangent;
  for (float& v : scaled.values()) v *= 1.5f;
  const Tensor* relu_output = c.relu ? &activations["relu"] : nullptr;
  if (relu_output != nullptr) {
    int64_t active = 0;
    for (float v : relu_output->values()) active += v > 0.0f;
    ASSERT_GT(active, 0);
    ASSERT_LT(active, relu_output->num_elements());  // The mask matters.
  }
  EXPECT_LE(MaxScaledError(*grad, ReferenceGradient(c, x_shape, y_shape, w, scaled, relu_output)), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SingleChannelConvTest,
    ::testing::Values(StemCase{"stem3x3_relu", 16, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      StemCase{"strided_dilated_asymmetric_relu", 32, {3, 3}, {2, 2}, {2, 2}, {2, 1, 0, 1}, true},
                      StemCase{"rectangular_no_relu", 16, {3, 2}, {1, 2}, {1, 1}, {0, 1, 1, 0}, false},
                      StemCase{"not_a_multiple_of_16", 6, {5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}, true}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace crucible
