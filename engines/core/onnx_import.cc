#include "engines/core/onnx_import.h"

#include <cstring>
#include <exception>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engines/core/status_macros.h"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"

namespace crucible {
namespace {

// Decoded contents of an ONNX TensorProto: floats for weights, integers for
// shapes and axes.
struct DecodedTensor {
  Shape shape;
  bool is_float = true;
  std::vector<float> floats;
  std::vector<int64_t> ints;
};

template <typename T>
std::vector<T> FromRawData(const std::string& raw) {
  std::vector<T> out(raw.size() / sizeof(T));
  std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
  return out;
}

absl::StatusOr<DecodedTensor> DecodeTensor(const onnx::TensorProto& proto) {
  DecodedTensor out;
  for (int64_t d : proto.dims()) {
    if (d < 0) return absl::InvalidArgumentError(absl::StrCat("tensor '", proto.name(), "' has a negative dimension"));
    out.shape.push_back(d);
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", proto.name(), "' uses external data; embed the weights in the ONNX file"));
  }
  const int64_t n = NumElements(out.shape);
  const std::string& raw = proto.raw_data();
  switch (proto.data_type()) {
    case onnx::TensorProto::FLOAT:
      out.floats = proto.has_raw_data() ? FromRawData<float>(raw)
                                        : std::vector<float>(proto.float_data().begin(), proto.float_data().end());
      break;
    case onnx::TensorProto::DOUBLE: {
      std::vector<double> d = proto.has_raw_data()
                                  ? FromRawData<double>(raw)
                                  : std::vector<double>(proto.double_data().begin(), proto.double_data().end());
      out.floats.assign(d.begin(), d.end());
      break;
    }
    case onnx::TensorProto::INT64:
      out.is_float = false;
      out.ints = proto.has_raw_data() ? FromRawData<int64_t>(raw)
                                      : std::vector<int64_t>(proto.int64_data().begin(), proto.int64_data().end());
      break;
    case onnx::TensorProto::INT32: {
      out.is_float = false;
      std::vector<int32_t> d = proto.has_raw_data()
                                   ? FromRawData<int32_t>(raw)
                                   : std::vector<int32_t>(proto.int32_data().begin(), proto.int32_data().end());
      out.ints.assign(d.begin(), d.end());
      break;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", proto.name(), "' has data type ",
          onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(proto.data_type())),
          "; only float, double, int32 and int64 are supported"));
  }
  const int64_t have = out.is_float ? static_cast<int64_t>(out.floats.size()) : static_cast<int64_t>(out.ints.size());
  if (have != n) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", proto.name(), "' has ", have,
                                                   " values but its shape ", ShapeToString(out.shape),
                                                   " needs ", n));
  }
  return out;
}

void AddConstant(Graph& graph, const std::string& name, DecodedTensor tensor) {
  if (tensor.is_float) {
    graph.float_constants[name] = Tensor(tensor.shape, std::move(tensor.floats));
  } else {
    graph.int_constant_shapes[name] = tensor.shape;
    graph.int_constants[name] = std::move(tensor.ints);
  }
}

// A Constant node's value: the `value` tensor attribute or, from opset 12,
// one of the scalar/list attributes.
absl::StatusOr<DecodedTensor> ConstantNodeValue(const onnx::NodeProto& node) {
  for (const onnx::AttributeProto& attr : node.attribute()) {
    if (attr.name() == "value") return DecodeTensor(attr.t());
    DecodedTensor out;
    if (attr.name() == "value_float") {
      out.floats = {attr.f()};
      return out;
    }
    if (attr.name() == "value_floats") {
      out.shape = {attr.floats_size()};
      out.floats.assign(attr.floats().begin(), attr.floats().end());
      return out;
    }
    out.is_float = false;
    if (attr.name() == "value_int") {
      out.ints = {attr.i()};
      return out;
    }
    if (attr.name() == "value_ints") {
      out.shape = {attr.ints_size()};
      out.ints.assign(attr.ints().begin(), attr.ints().end());
      return out;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("Constant node '", node.name(), "' has no supported value attribute"));
}

absl::StatusOr<Attributes> ConvertAttributes(const onnx::NodeProto& node) {
  Attributes out;
  for (const onnx::AttributeProto& attr : node.attribute()) {
    switch (attr.type()) {
      case onnx::AttributeProto::INT: out.SetInt(attr.name(), attr.i()); break;
      case onnx::AttributeProto::FLOAT: out.SetFloat(attr.name(), attr.f()); break;
      case onnx::AttributeProto::STRING: out.SetString(attr.name(), attr.s()); break;
      case onnx::AttributeProto::INTS:
        out.SetInts(attr.name(), std::vector<int64_t>(attr.ints().begin(), attr.ints().end()));
        break;
      case onnx::AttributeProto::TENSOR: {
        ASSIGN_OR_RETURN(DecodedTensor t, DecodeTensor(attr.t()));
        if (t.is_float) out.SetTensor(attr.name(), Tensor(t.shape, std::move(t.floats)));
        break;
      }
      default: break;  // Attribute kinds no supported operator uses.
    }
  }
  return out;
}

absl::StatusOr<Shape> DeclaredShape(const onnx::ValueInfoProto& input) {
  if (!input.type().has_tensor_type()) {
    return absl::InvalidArgumentError(absl::StrCat("graph input '", input.name(), "' is not a tensor"));
  }
  const onnx::TypeProto::Tensor& type = input.type().tensor_type();
  if (type.elem_type() != onnx::TensorProto::FLOAT) {
    return absl::FailedPreconditionError(absl::StrCat(
        "graph input '", input.name(), "' has element type ",
        onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(type.elem_type())),
        "; Crucible models take float32 input"));
  }
  if (!type.has_shape()) {
    return absl::InvalidArgumentError(absl::StrCat("graph input '", input.name(), "' has no shape"));
  }
  Shape shape;
  for (int i = 0; i < type.shape().dim_size(); ++i) {
    const auto& dim = type.shape().dim(i);
    if (dim.has_dim_value() && dim.dim_value() > 0) {
      shape.push_back(dim.dim_value());
    } else if (i == 0) {
      shape.push_back(1);  // Symbolic batch dimension.
    } else {
      return absl::InvalidArgumentError(absl::StrCat("graph input '", input.name(), "' dimension ", i,
                                                     " is not a fixed positive size"));
    }
  }
  return shape;
}

}  // namespace

absl::StatusOr<Graph> ImportOnnx(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::ResourceExhaustedError("ONNX model larger than 2 GiB");
  }
  onnx::ModelProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(
        "not a valid ONNX model: the bytes do not parse as an ONNX ModelProto (truncated or not ONNX)");
  }
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("ONNX checker rejected the model: ", e.what()));
  }

  Graph graph;
  for (const auto& opset : proto.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") graph.opset = opset.version();
  }
  const onnx::GraphProto& g = proto.graph();
  for (const onnx::TensorProto& init : g.initializer()) {
    ASSIGN_OR_RETURN(DecodedTensor t, DecodeTensor(init));
    AddConstant(graph, init.name(), std::move(t));
  }

  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const onnx::ValueInfoProto& input : g.input()) {
    if (!graph.IsConstant(input.name())) inputs.push_back(&input);
  }
  if (inputs.size() != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model has ", inputs.size(), " non-initializer inputs; Crucible audits models with exactly one input"));
  }
  graph.input_name = inputs[0]->name();
  ASSIGN_OR_RETURN(graph.declared_input_shape, DeclaredShape(*inputs[0]));
  if (g.output_size() < 1) return absl::InvalidArgumentError("model has no graph output");
  graph.output_name = g.output(0).name();

  std::vector<Node> nodes;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    if (!n.domain().empty() && n.domain() != "ai.onnx") {
      return absl::FailedPreconditionError(absl::StrCat("unsupported operator '", n.domain(), ".", n.op_type(),
                                                        "' (node '", n.name(), "'): custom domains are not supported"));
    }
    if (n.op_type() == "Constant") {
      if (n.output_size() != 1) return absl::InvalidArgumentError("Constant node without one output");
      ASSIGN_OR_RETURN(DecodedTensor t, ConstantNodeValue(n));
      AddConstant(graph, n.output(0), std::move(t));
      continue;
    }
    Node node;
    node.name = n.name().empty() ? absl::StrCat(n.op_type(), "_", i) : n.name();
    node.op_type = n.op_type();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    ASSIGN_OR_RETURN(node.attributes, ConvertAttributes(n));
    nodes.push_back(std::move(node));
  }

  // Keep only what the output depends on (the checker guarantees topological order).
  absl::flat_hash_set<std::string> needed = {graph.output_name};
  std::vector<bool> keep(nodes.size(), false);
  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    for (const std::string& out : nodes[i].outputs) {
      if (needed.contains(out)) keep[i] = true;
    }
    if (keep[i]) {
      for (const std::string& in : nodes[i].inputs) {
        if (!in.empty()) needed.insert(in);
      }
    }
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (keep[i]) graph.nodes.push_back(std::move(nodes[i]));
  }
  if (graph.output_name != graph.input_name && !graph.IsConstant(graph.output_name) && graph.nodes.empty()) {
    return absl::InvalidArgumentError("model output is not computed by any node");
  }
  return graph;
}

}  // namespace crucible
