#include "engines/core/shape_inference.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "engines/core/status_macros.h"
#include "engines/core/window_geometry.h"

namespace crucible {

absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
    return absl::InvalidArgumentError(absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return axis < 0 ? axis + rank : axis;
}

absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("shapes ", ShapeToString(a), " and ", ShapeToString(b), " do not broadcast"));
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

absl::StatusOr<Shape> ResolveReshape(const Shape& input, const std::vector<int64_t>& target,
                                     bool allow_zero, int64_t batch) {
  Shape out(target.begin(), target.end());
  auto error = [&] {
    return absl::InvalidArgumentError(absl::StrCat("cannot reshape ", ShapeToString(input), " to ",
                                                   ShapeToString(Shape(target.begin(), target.end()))));
  };
  // The exporter traced with batch 1: a literal leading 1 stands for the batch.
  if (batch > 1 && !out.empty() && out[0] == 1 && !input.empty() && input[0] == batch) out[0] = batch;
  int64_t infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !allow_zero) {
      if (i >= input.size()) return error();
      out[i] = input[i];
    } else if (out[i] == -1) {
      if (infer_at >= 0) return error();
      infer_at = static_cast<int64_t>(i);
      continue;
    } else if (out[i] < 0) {
      return error();
    }
    known *= out[i];
  }
  const int64_t total = NumElements(input);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0) return error();
    out[infer_at] = total / known;
  }
  if (NumElements(out) != total) return error();
  return out;
}

namespace {

struct ShapeContext {
  const Graph& graph;
  const Node& node;
  const ShapeMap& shapes;
  int64_t batch;  // 0 when the input has no batch dimension.

  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(node.op_type, " node '", node.name, "': ", what));
  }
  absl::Status Unsupported(const std::string& what) const {
    return absl::FailedPreconditionError(absl::StrCat(node.op_type, " node '", node.name, "': ", what));
  }
  bool HasInput(size_t i) const { return node.inputs.size() > i && !node.inputs[i].empty(); }
  absl::StatusOr<Shape> Input(size_t i) const {
    if (!HasInput(i)) return Error(absl::StrCat("missing input ", i));
    auto it = shapes.find(node.inputs[i]);
    if (it == shapes.end()) return Error(absl::StrCat("input '", node.inputs[i], "' is not defined"));
    return it->second;
  }
  absl::Status RequireConstant(size_t i, const std::string& role) const {
    if (HasInput(i) && !graph.IsConstant(node.inputs[i])) {
      return Unsupported(absl::StrCat(role, " must be a constant (initializer)"));
    }
    return absl::OkStatus();
  }
  // Integer list from an optional constant input, else from an attribute (older opsets).
  absl::StatusOr<std::optional<std::vector<int64_t>>> IntsFromInputOrAttribute(size_t i, const std::string& name) const {
    if (HasInput(i)) {
      auto it = graph.int_constants.find(node.inputs[i]);
      if (it == graph.int_constants.end()) {
        return Unsupported(absl::StrCat(name, " must be a constant integer tensor"));
      }
      return std::optional<std::vector<int64_t>>(it->second);
    }
    if (node.attributes.Has(name)) return std::optional<std::vector<int64_t>>(node.attributes.GetInts(name, {}));
    return std::optional<std::vector<int64_t>>();
  }
};

using ShapeRule = std::function<absl::StatusOr<Shape>(const ShapeContext&)>;

absl::StatusOr<Shape> SameAsInput(const ShapeContext& c) { return c.Input(0); }

absl::StatusOr<Shape> BinaryRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape a, c.Input(0));
  ASSIGN_OR_RETURN(Shape b, c.Input(1));
  auto out = BroadcastShapes(a, b);
  if (!out.ok()) return c.Error(std::string(out.status().message()));
  return out;
}

absl::StatusOr<Shape> GemmRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape a, c.Input(0));
  ASSIGN_OR_RETURN(Shape b, c.Input(1));
  RETURN_IF_ERROR(c.RequireConstant(1, "B"));
  RETURN_IF_ERROR(c.RequireConstant(2, "C"));
  if (a.size() != 2 || b.size() != 2) return c.Error("A and B must be matrices");
  const bool ta = c.node.attributes.GetInt("transA", 0) != 0;
  const bool tb = c.node.attributes.GetInt("transB", 0) != 0;
  const int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  const int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (k != kb) return c.Error(absl::StrCat("inner dimensions differ: ", k, " vs ", kb));
  if (c.HasInput(2)) {
    ASSIGN_OR_RETURN(Shape bias, c.Input(2));
    auto out = BroadcastShapes({m, n}, bias);
    if (!out.ok() || *out != Shape({m, n})) return c.Error("C does not broadcast to [M,N]");
  }
  return Shape{m, n};
}

absl::StatusOr<Shape> MatMulRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape a, c.Input(0));
  ASSIGN_OR_RETURN(Shape b, c.Input(1));
  if (a.empty() || b.empty()) return c.Error("scalar operands");
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  if (a.back() != b[b.size() - 2]) {
    return c.Error(absl::StrCat("inner dimensions differ: ", a.back(), " vs ", b[b.size() - 2]));
  }
  auto batch = BroadcastShapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
  if (!batch.ok()) return c.Error(std::string(batch.status().message()));
  Shape out = *batch;
  if (!a_vec) out.push_back(a[a.size() - 2]);
  if (!b_vec) out.push_back(b.back());
  return out;
}

absl::StatusOr<Shape> ConvRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  ASSIGN_OR_RETURN(Shape w, c.Input(1));
  RETURN_IF_ERROR(c.RequireConstant(1, "weights"));
  RETURN_IF_ERROR(c.RequireConstant(2, "bias"));
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) {
    return c.Error(absl::StrCat("input ", ShapeToString(x), " and weights ", ShapeToString(w),
                                " must both be 3-D, 4-D or 5-D"));
  }
  const int64_t group = c.node.attributes.GetInt("group", 1);
  if (group <= 0 || x[1] % group != 0 || w[0] % group != 0 || w[1] * group != x[1]) {
    return c.Error(absl::StrCat("channels ", x[1], " do not match weights ", ShapeToString(w),
                                " with group ", group));
  }
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (c.node.attributes.Has("kernel_shape") && c.node.attributes.GetInts("kernel_shape", {}) != kernel) {
    return c.Error("kernel_shape does not match the weights");
  }
  if (c.HasInput(2)) {
    ASSIGN_OR_RETURN(Shape b, c.Input(2));
    if (b != Shape{w[0]}) return c.Error("bias size does not match output channels");
  }
  auto g = ResolveWindow(c.node, x, kernel);
  if (!g.ok()) return g.status();
  Shape out = {x[0], w[0]};
  out.insert(out.end(), g->output.begin(), g->output.end());
  return out;
}

absl::StatusOr<Shape> PoolRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  if (c.node.outputs.size() > 1 && !c.node.outputs[1].empty()) {
    return c.Unsupported("the Indices output is not supported");
  }
  if (x.size() < 3 || x.size() > 5) return c.Error("input must be 3-D, 4-D or 5-D");
  if (c.node.attributes.GetInt("storage_order", 0) != 0) return c.Unsupported("storage_order=1 is not supported");
  std::vector<int64_t> kernel = c.node.attributes.GetInts("kernel_shape", {});
  if (kernel.size() != x.size() - 2) return c.Error("kernel_shape must give one size per spatial dimension");
  auto g = ResolveWindow(c.node, x, kernel);
  if (!g.ok()) return g.status();
  for (int64_t d : g->dilations) {
    if (d != 1) return c.Unsupported("pooling dilations other than 1 are not supported");
  }
  Shape out = {x[0], x[1]};
  out.insert(out.end(), g->output.begin(), g->output.end());
  return out;
}

absl::StatusOr<Shape> GlobalPoolRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  if (x.size() < 3) return c.Error("input must have spatial dimensions");
  Shape out = x;
  std::fill(out.begin() + 2, out.end(), 1);
  return out;
}

absl::StatusOr<Shape> BatchNormRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  if (x.size() < 2) return c.Error("input must have a channel dimension");
  for (size_t i = 1; i <= 4; ++i) {
    RETURN_IF_ERROR(c.RequireConstant(i, "scale, bias, mean and variance"));
    ASSIGN_OR_RETURN(Shape p, c.Input(i));
    if (p != Shape{x[1]}) return c.Error(absl::StrCat("parameter ", i, " must have shape [", x[1], "]"));
  }
  if (c.node.attributes.GetInt("training_mode", 0) != 0 ||
      (c.node.outputs.size() > 1 && !c.node.outputs[1].empty())) {
    return c.Unsupported("training-mode batch normalization is not supported (export the model in eval mode)");
  }
  return x;
}

absl::StatusOr<Shape> SoftmaxRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  const int64_t axis = c.node.attributes.GetInt("axis", c.graph.opset >= 13 ? -1 : 1);
  auto a = NormalizeAxis(axis, static_cast<int64_t>(x.size()));
  if (!a.ok()) return c.Error(std::string(a.status().message()));
  return x;
}

absl::StatusOr<Shape> ClipRule(const ShapeContext& c) {
  RETURN_IF_ERROR(c.RequireConstant(1, "min"));
  RETURN_IF_ERROR(c.RequireConstant(2, "max"));
  return c.Input(0);
}

absl::StatusOr<Shape> DropoutRule(const ShapeContext& c) {
  if (c.node.outputs.size() > 1 && !c.node.outputs[1].empty()) {
    return c.Unsupported("the mask output is not supported (inference only)");
  }
  return c.Input(0);
}

absl::StatusOr<Shape> FlattenRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t axis = c.node.attributes.GetInt("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) return c.Error(absl::StrCat("axis out of range for rank ", rank));
  return Shape{NumElements(Shape(x.begin(), x.begin() + axis)), NumElements(Shape(x.begin() + axis, x.end()))};
}

absl::StatusOr<Shape> ReshapeRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  ASSIGN_OR_RETURN(auto target, c.IntsFromInputOrAttribute(1, "shape"));
  if (!target) return c.Error("no target shape");
  auto out = ResolveReshape(x, *target, c.node.attributes.GetInt("allowzero", 0) != 0, c.batch);
  if (!out.ok()) return c.Error(std::string(out.status().message()));
  return out;
}

absl::StatusOr<Shape> TransposeRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  std::vector<int64_t> perm(x.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
  perm = c.node.attributes.GetInts("perm", perm);
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted.size() != x.size() || sorted[i] != static_cast<int64_t>(i)) return c.Error("perm is not a permutation of the axes");
  }
  Shape out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[perm[i]];
  return out;
}

absl::StatusOr<Shape> SqueezeRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  ASSIGN_OR_RETURN(auto axes, c.IntsFromInputOrAttribute(1, "axes"));
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<bool> drop(x.size(), false);
  if (!axes) {
    for (size_t i = 0; i < x.size(); ++i) drop[i] = x[i] == 1;
  } else {
    for (int64_t a : *axes) {
      auto n = NormalizeAxis(a, rank);
      if (!n.ok()) return c.Error(std::string(n.status().message()));
      if (x[*n] != 1) return c.Error(absl::StrCat("cannot squeeze axis ", a, " of size ", x[*n]));
      drop[*n] = true;
    }
  }
  Shape out;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!drop[i]) out.push_back(x[i]);
  }
  return out;
}

absl::StatusOr<Shape> UnsqueezeRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  ASSIGN_OR_RETURN(auto axes, c.IntsFromInputOrAttribute(1, "axes"));
  if (!axes) return c.Error("no axes");
  const int64_t rank = static_cast<int64_t>(x.size() + axes->size());
  std::vector<bool> inserted(rank, false);
  for (int64_t a : *axes) {
    auto n = NormalizeAxis(a, rank);
    if (!n.ok()) return c.Error(std::string(n.status().message()));
    if (inserted[*n]) return c.Error("repeated axis");
    inserted[*n] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i) out.push_back(inserted[i] ? 1 : x[next++]);
  return out;
}

absl::StatusOr<Shape> PadRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape x, c.Input(0));
  if (c.node.attributes.GetString("mode", "constant") != "constant") {
    return c.Unsupported("only constant-mode padding is supported");
  }
  RETURN_IF_ERROR(c.RequireConstant(2, "constant_value"));
  ASSIGN_OR_RETURN(auto pads, c.IntsFromInputOrAttribute(1, "pads"));
  if (!pads || pads->size() != 2 * x.size()) return c.Error("pads must give a begin and end for every axis");
  for (size_t i = 0; i < x.size(); ++i) {
    if ((*pads)[i] < 0 || (*pads)[i + x.size()] < 0) return c.Unsupported("negative pads (cropping) are not supported");
    x[i] += (*pads)[i] + (*pads)[i + x.size()];
  }
  return x;
}

absl::StatusOr<Shape> ConcatRule(const ShapeContext& c) {
  ASSIGN_OR_RETURN(Shape out, c.Input(0));
  auto axis = NormalizeAxis(c.node.attributes.GetInt("axis", 0), static_cast<int64_t>(out.size()));
  if (!axis.ok()) return c.Error(std::string(axis.status().message()));
  for (size_t i = 1; i < c.node.inputs.size(); ++i) {
    ASSIGN_OR_RETURN(Shape s, c.Input(i));
    if (s.size() != out.size()) return c.Error("inputs differ in rank");
    for (size_t d = 0; d < s.size(); ++d) {
      if (static_cast<int64_t>(d) != *axis && s[d] != out[d]) {
        return c.Error(absl::StrCat("input ", i, " shape ", ShapeToString(s), " does not match"));
      }
    }
    out[*axis] += s[*axis];
  }
  return out;
}

const absl::flat_hash_map<std::string, ShapeRule>& Rules() {
  static const auto* rules = new absl::flat_hash_map<std::string, ShapeRule>{
      {"Gemm", GemmRule},
      {"MatMul", MatMulRule},
      {"Add", BinaryRule},
      {"Sub", BinaryRule},
      {"Mul", BinaryRule},
      {"Div", BinaryRule},
      {"Conv", ConvRule},
      {"Relu", SameAsInput},
      {"LeakyRelu", SameAsInput},
      {"Sigmoid", SameAsInput},
      {"Tanh", SameAsInput},
      {"Softmax", SoftmaxRule},
      {"MaxPool", PoolRule},
      {"AveragePool", PoolRule},
      {"GlobalAveragePool", GlobalPoolRule},
      {"BatchNormalization", BatchNormRule},
      {"Flatten", FlattenRule},
      {"Reshape", ReshapeRule},
      {"Transpose", TransposeRule},
      {"Squeeze", SqueezeRule},
      {"Unsqueeze", UnsqueezeRule},
      {"Concat", ConcatRule},
      {"Pad", PadRule},
      {"Identity", SameAsInput},
      {"Dropout", DropoutRule},
      {"Clip", ClipRule},
  };
  return *rules;
}

}  // namespace

absl::StatusOr<Shape> InferNodeShape(const Graph& graph, const Node& node, const ShapeMap& shapes, int64_t batch) {
  auto rule = Rules().find(node.op_type);
  if (rule == Rules().end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("unsupported operator '", node.op_type, "' (node '", node.name, "')"));
  }
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const std::string& in = node.inputs[i];
    const bool integer_operand_allowed =
        i >= 1 && (node.op_type == "Reshape" || node.op_type == "Pad" || node.op_type == "Squeeze" ||
                   node.op_type == "Unsqueeze");
    if (!in.empty() && graph.int_constants.contains(in) && !integer_operand_allowed) {
      return absl::FailedPreconditionError(absl::StrCat(node.op_type, " node '", node.name,
                                                        "': integer tensor input '", in, "' is not supported"));
    }
  }
  if (node.outputs.empty()) return absl::InvalidArgumentError(absl::StrCat("node '", node.name, "' has no output"));
  return rule->second(ShapeContext{graph, node, shapes, batch});
}

absl::StatusOr<ShapeMap> InferShapes(const Graph& graph, const Shape& input_shape) {
  ShapeMap shapes;
  shapes[graph.input_name] = input_shape;
  for (const auto& [name, t] : graph.float_constants) shapes[name] = t.shape();
  for (const auto& [name, s] : graph.int_constant_shapes) shapes[name] = s;
  const int64_t batch = input_shape.size() >= 2 ? input_shape[0] : 0;
  for (const Node& node : graph.nodes) {
    ASSIGN_OR_RETURN(shapes[node.outputs[0]], InferNodeShape(graph, node, shapes, batch));
  }
  if (!shapes.contains(graph.output_name)) {
    return absl::InvalidArgumentError(absl::StrCat("graph output '", graph.output_name, "' is never computed"));
  }
  return shapes;
}

}  // namespace crucible
