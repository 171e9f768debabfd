#include "engines/core/constant_folding.h"

#include <algorithm>
#include <functional>

#include "absl/container/flat_hash_set.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

// Offset into a tensor of `shape` broadcast to `out_shape` for the multi-index of flat `index`.
int64_t BroadcastOffset(int64_t index, const Shape& out_shape, const Shape& shape) {
  const size_t lead = out_shape.size() - shape.size();
  const std::vector<int64_t> in_strides = Strides(shape);
  int64_t offset = 0;
  for (int d = static_cast<int>(out_shape.size()) - 1; d >= 0; --d) {
    const int64_t coord = index % out_shape[d];
    index /= out_shape[d];
    if (d >= static_cast<int>(lead) && shape[d - lead] != 1) offset += coord * in_strides[d - lead];
  }
  return offset;
}

Tensor FoldBinary(const std::string& op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  static const absl::flat_hash_map<std::string, std::function<float(float, float)>> kOps = {
      {"Add", std::plus<float>()}, {"Sub", std::minus<float>()},
      {"Mul", std::multiplies<float>()}, {"Div", std::divides<float>()}};
  const auto& fn = kOps.at(op);
  Tensor out(out_shape);
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    out.at(i) = fn(a.at(BroadcastOffset(i, out_shape, a.shape())), b.at(BroadcastOffset(i, out_shape, b.shape())));
  }
  return out;
}

Tensor FoldTranspose(const Tensor& x, const std::vector<int64_t>& perm, const Shape& out_shape) {
  const std::vector<int64_t> in_strides = Strides(x.shape());
  Tensor out(out_shape);
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    int64_t rest = i, offset = 0;
    for (int d = static_cast<int>(out_shape.size()) - 1; d >= 0; --d) {
      offset += (rest % out_shape[d]) * in_strides[perm[d]];
      rest /= out_shape[d];
    }
    out.at(i) = x.at(offset);
  }
  return out;
}

}  // namespace

absl::Status FoldConstants(Graph& graph) {
  ShapeMap shapes;
  for (const auto& [name, t] : graph.float_constants) shapes[name] = t.shape();
  for (const auto& [name, s] : graph.int_constant_shapes) shapes[name] = s;
  static const absl::flat_hash_set<std::string> kShapeOnly = {"Identity", "Dropout", "Reshape", "Flatten",
                                                              "Squeeze", "Unsqueeze"};
  static const absl::flat_hash_set<std::string> kBinary = {"Add", "Sub", "Mul", "Div"};
  std::vector<Node> kept;
  for (Node& node : graph.nodes) {
    const bool all_constant = std::all_of(node.inputs.begin(), node.inputs.end(), [&](const std::string& in) {
      return in.empty() || graph.IsConstant(in);
    });
    const bool foldable = kShapeOnly.contains(node.op_type) || kBinary.contains(node.op_type) ||
                          node.op_type == "Transpose";
    if (!all_constant || !foldable || node.inputs.empty()) {
      kept.push_back(std::move(node));
      continue;
    }
    const std::string& out = node.outputs[0];
    ASSIGN_OR_RETURN(shapes[out], InferNodeShape(graph, node, shapes, 0));
    const Shape& out_shape = shapes.at(out);
    const std::string& first = node.inputs[0];
    if (all_constant && kShapeOnly.contains(node.op_type)) {
      if (graph.float_constants.contains(first)) {
        graph.float_constants[out] = graph.float_constants.at(first).Reshaped(out_shape);
      } else {
        graph.int_constants[out] = graph.int_constants.at(first);
        graph.int_constant_shapes[out] = out_shape;
      }
      continue;
    }
    const bool all_float = std::all_of(node.inputs.begin(), node.inputs.end(), [&](const std::string& in) {
      return in.empty() || graph.float_constants.contains(in);
    });
    if (all_constant && all_float && kBinary.contains(node.op_type)) {
      graph.float_constants[out] = FoldBinary(node.op_type, graph.float_constants.at(first),
                                              graph.float_constants.at(node.inputs[1]), out_shape);
      continue;
    }
    if (all_constant && all_float && node.op_type == "Transpose") {
      const Tensor& x = graph.float_constants.at(first);
      std::vector<int64_t> perm(x.rank());
      for (int64_t i = 0; i < x.rank(); ++i) perm[i] = x.rank() - 1 - i;
      graph.float_constants[out] = FoldTranspose(x, node.attributes.GetInts("perm", perm), out_shape);
      continue;
    }
    kept.push_back(std::move(node));
  }
  graph.nodes = std::move(kept);
  return absl::OkStatus();
}

}  // namespace crucible
