// Model import: real networks load and run (checked against an independent
// double-precision evaluation of the ONNX file), and bad models are rejected
// at import with the right status and a message naming what is wrong.
#include "engines/core/model.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "engines/core/executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"
#include "tests/unit/engines/core/test_files.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;
using testing::FixturePath;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A plain double-precision interpreter for the operators of the VNN-COMP
// fully connected networks (Sub, Add, Flatten, MatMul, Gemm, Relu), written
// directly against the ONNX protobuf, independent of the model core.
struct RefValue {
  std::vector<int64_t> shape;
  std::vector<double> data;
};

RefValue RefBroadcast(const RefValue& a, const RefValue& b, double sign) {
  const size_t rank = std::max(a.shape.size(), b.shape.size());
  auto pad = [&](std::vector<int64_t> s) {
    s.insert(s.begin(), rank - s.size(), 1);
    return s;
  };
  const auto sa = pad(a.shape), sb = pad(b.shape);
  RefValue out;
  for (size_t d = 0; d < rank; ++d) out.shape.push_back(std::max(sa[d], sb[d]));
  int64_t n = 1;
  for (int64_t d : out.shape) n *= d;
  out.data.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, ia = 0, ib = 0, stride_a = 1, stride_b = 1;
    for (int d = static_cast<int>(rank) - 1; d >= 0; --d) {
      const int64_t coord = rest % out.shape[d];
      rest /= out.shape[d];
      if (sa[d] != 1) ia += coord * stride_a;
      if (sb[d] != 1) ib += coord * stride_b;
      stride_a *= sa[d];
      stride_b *= sb[d];
    }
    out.data[i] = a.data[ia] + sign * b.data[ib];
  }
  return out;
}

RefValue RefMatMul(RefValue a, RefValue b, bool transpose_b) {
  const bool a_vec = a.shape.size() == 1, b_vec = b.shape.size() == 1;
  if (a_vec) a.shape.insert(a.shape.begin(), 1);
  if (b_vec) b.shape.push_back(1);
  const int64_t m = a.shape[0], k = a.shape[1];
  const int64_t n = transpose_b ? b.shape[0] : b.shape[1];
  RefValue out{{m, n}, std::vector<double>(m * n, 0.0)};
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t p = 0; p < k; ++p) {
        out.data[i * n + j] += a.data[i * k + p] * (transpose_b ? b.data[j * k + p] : b.data[p * n + j]);
      }
    }
  }
  if (a_vec) out.shape.erase(out.shape.begin());
  if (b_vec) out.shape.pop_back();
  return out;
}

RefValue RefEvaluate(const onnx::ModelProto& proto, const RefValue& input) {
  std::map<std::string, RefValue> values;
  for (const auto& init : proto.graph().initializer()) {
    RefValue v{std::vector<int64_t>(init.dims().begin(), init.dims().end()), {}};
    if (init.has_raw_data()) {
      std::vector<float> f(init.raw_data().size() / 4);
      std::memcpy(f.data(), init.raw_data().data(), f.size() * 4);
      v.data.assign(f.begin(), f.end());
    } else {
      v.data.assign(init.float_data().begin(), init.float_data().end());
    }
    values[init.name()] = v;
  }
  for (const auto& in : proto.graph().input()) {
    if (!values.contains(in.name())) values[in.name()] = input;
  }
  for (const auto& node : proto.graph().node()) {
    const RefValue& a = values.at(node.input(0));
    RefValue out;
    if (node.op_type() == "Sub" || node.op_type() == "Add") {
      out = RefBroadcast(a, values.at(node.input(1)), node.op_type() == "Sub" ? -1.0 : 1.0);
    } else if (node.op_type() == "Flatten") {
      const int64_t axis = node.attribute_size() ? node.attribute(0).i() : 1;
      int64_t lead = 1, rest = 1;
      for (int64_t d = 0; d < static_cast<int64_t>(a.shape.size()); ++d) (d < axis ? lead : rest) *= a.shape[d];
      out = RefValue{{lead, rest}, a.data};
    } else if (node.op_type() == "MatMul") {
      out = RefMatMul(a, values.at(node.input(1)), false);
    } else if (node.op_type() == "Gemm") {
      out = RefBroadcast(RefMatMul(a, values.at(node.input(1)), true), values.at(node.input(2)), 1.0);
    } else if (node.op_type() == "Relu") {
      out = a;
      for (double& v : out.data) v = std::max(v, 0.0);
    } else {
      ADD_FAILURE() << "reference interpreter lacks " << node.op_type();
    }
    values[node.output(0)] = out;
  }
  return values.at(proto.graph().output(0).name());
}

// Runs `path` on random inputs through the core and the reference; returns the
// largest scaled difference.
void ExpectMatchesReference(const std::string& path, int64_t batch, float low, float high) {
  SCOPED_TRACE(path);
  auto model = Model::FromOnnxFile(path);
  ASSERT_TRUE(model.ok()) << model.status();
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(ReadBytes(path)));
  if (!model->has_batch_dimension()) batch = 1;
  auto exec = Executor::Create(*model, {.batch_size = batch, .num_threads = 1});
  ASSERT_TRUE(exec.ok()) << exec.status();
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uniform(low, high);
  Tensor x(model->InputShape(batch));
  for (float& v : x.values()) v = uniform(rng);
  auto out = (*exec)->Forward(x);
  ASSERT_TRUE(out.ok()) << out.status();
  const int64_t per_example = NumElements(model->ExampleShape());
  for (int64_t b = 0; b < batch; ++b) {
    Shape one = model->InputShape(1);
    RefValue in{std::vector<int64_t>(one.begin(), one.end()),
                std::vector<double>(x.data() + b * per_example, x.data() + (b + 1) * per_example)};
    const RefValue ref = RefEvaluate(proto, in);
    const int64_t outputs = static_cast<int64_t>(ref.data.size());
    ASSERT_EQ(outputs * batch, out->num_elements());
    for (int64_t j = 0; j < outputs; ++j) {
      EXPECT_NEAR(out->at(b * outputs + j), ref.data[j], 1e-4 * std::max(1.0, std::abs(ref.data[j])))
          << "example " << b << " output " << j;
    }
  }
}

TEST(ModelTest, AllAcasXuNetworksMatchAnIndependentForwardPass) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FixturePath("vnncomp/acasxu"))) {
    if (entry.path().extension() != ".onnx") continue;
    ExpectMatchesReference(entry.path().string(), 16, -0.5f, 0.5f);
    ++count;
  }
  EXPECT_EQ(count, 45);
}

TEST(ModelTest, VnnCompTinyNetworksAndMnistFcMatchTheReference) {
  for (const char* name : {"test_nano", "test_tiny", "test_small", "test_sat", "test_unsat"}) {
    ExpectMatchesReference(FixturePath(std::string("vnncomp/test/") + name + ".onnx"), 4, -1.0f, 1.0f);
  }
  ExpectMatchesReference(FixturePath("vnncomp/mnist_fc/mnist-net_256x2.onnx"), 8, 0.0f, 1.0f);
}

TEST(ModelTest, DescribesInputsOutputsAndLayers) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(model->has_batch_dimension());
  EXPECT_EQ(model->InputShape(32), Shape({32, 1, 28, 28}));
  EXPECT_EQ(model->ExampleShape(), Shape({1, 28, 28}));
  EXPECT_EQ(model->num_classes(), 10);
  EXPECT_EQ(model->OutputsOfType("Relu").size(), 4u);
  auto shapes = model->ShapesForBatch(5);
  ASSERT_TRUE(shapes.ok());
  EXPECT_EQ(shapes->at(model->output_name()), Shape({5, 10}));
}

TEST(ModelTest, UnbatchedVectorModelsRunWithBatchOneOnly) {
  auto model = Model::FromOnnxFile(FixturePath("vnncomp/test/test_tiny.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE(model->has_batch_dimension());
  EXPECT_EQ(Executor::Create(*model, {.batch_size = 2}).status().code(), absl::StatusCode::kInvalidArgument);
}

// --- Bad models -------------------------------------------------------------

onnx::ModelProto TinyModel(const std::string& op_type) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("g");
  auto add_value = [](onnx::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  add_value(graph->add_input(), "x", {1, 4});
  add_value(graph->add_output(), "y", {1, 4});
  onnx::NodeProto* node = graph->add_node();
  node->set_name("the_node");
  node->set_op_type(op_type);
  node->add_input("x");
  node->add_output("y");
  return model;
}

TEST(ModelTest, MalformedBytesAreInvalidArgument) {
  const std::string bytes = ReadBytes(FixturePath("models/fmnist_lenet.onnx"));
  for (size_t cut : {bytes.size() / 2, size_t{10}, bytes.size() - 3}) {
    auto model = Model::FromOnnx(std::string_view(bytes).substr(0, cut));
    EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument) << "cut at " << cut;
  }
  auto garbage = Model::FromOnnx("this is not an onnx model at all");
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(garbage.status().message()), HasSubstr("ONNX"));
  EXPECT_EQ(Model::FromOnnx("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Model::FromOnnxFile("/nonexistent/model.onnx").status().code(), absl::StatusCode::kNotFound);
}

TEST(ModelTest, UnsupportedOperatorIsFailedPreconditionNamingOpAndNode) {
  auto model = Model::FromOnnx(TinyModel("Erf").SerializeAsString());
  ASSERT_EQ(model.status().code(), absl::StatusCode::kFailedPrecondition) << model.status();
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("'Erf'"));
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("'the_node'"));
  EXPECT_TRUE(Model::FromOnnx(TinyModel("Relu").SerializeAsString()).ok());
}

TEST(ModelTest, CheckerErrorsAndStructuralProblemsAreReported) {
  onnx::ModelProto dangling = TinyModel("Relu");
  dangling.mutable_graph()->mutable_node(0)->set_input(0, "missing");
  auto model = Model::FromOnnx(dangling.SerializeAsString());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("checker"));

  onnx::ModelProto two_inputs = TinyModel("Add");
  two_inputs.mutable_graph()->mutable_node(0)->add_input("z");
  *two_inputs.mutable_graph()->add_input() = two_inputs.graph().input(0);
  two_inputs.mutable_graph()->mutable_input(1)->set_name("z");
  EXPECT_EQ(Model::FromOnnx(two_inputs.SerializeAsString()).status().code(), absl::StatusCode::kFailedPrecondition);

  onnx::ModelProto int_input = TinyModel("Relu");
  int_input.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::INT64);
  int_input.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::INT64);
  EXPECT_EQ(Model::FromOnnx(int_input.SerializeAsString()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ModelTest, ShapeMismatchIsInvalidArgumentNamingTheNode) {
  onnx::ModelProto model = TinyModel("Gemm");
  onnx::TensorProto* w = model.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(5);
  w->add_dims(3);
  for (int i = 0; i < 15; ++i) w->add_float_data(1.0f);
  model.mutable_graph()->mutable_node(0)->add_input("w");
  auto status = Model::FromOnnx(model.SerializeAsString()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("the_node"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("inner dimensions"));
}

TEST(ModelTest, ComputedWeightsAreFailedPrecondition) {
  onnx::ModelProto model = TinyModel("MatMul");
  model.mutable_graph()->mutable_node(0)->add_input("x");  // x @ x: fine shape-wise? [1,4]x[1,4] is not.
  EXPECT_EQ(Model::FromOnnx(model.SerializeAsString()).status().code(), absl::StatusCode::kInvalidArgument);

  onnx::ModelProto conv = TinyModel("Conv");
  auto* dims = conv.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  dims->add_dim()->set_dim_value(4);  // x: [1,4,4]
  conv.mutable_graph()->mutable_node(0)->add_input("x");
  auto status = Model::FromOnnx(conv.SerializeAsString()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("weights must be a constant"));
}

}  // namespace
}  // namespace crucible
