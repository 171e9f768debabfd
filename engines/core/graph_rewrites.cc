#include "engines/core/graph_rewrites.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"

namespace crucible {
namespace {

absl::flat_hash_map<std::string, int> UseCounts(const Graph& graph) {
  absl::flat_hash_map<std::string, int> uses;
  for (const Node& node : graph.nodes) {
    for (const std::string& in : node.inputs) ++uses[in];
  }
  ++uses[graph.output_name];
  return uses;
}

bool IsFoldableBatchNorm(const Graph& graph, const Node& bn) {
  if (bn.op_type != "BatchNormalization" || bn.inputs.size() < 5 || bn.outputs.size() != 1) return false;
  for (size_t i = 1; i < 5; ++i) {
    auto it = graph.float_constants.find(bn.inputs[i]);
    if (it == graph.float_constants.end() || it->second.rank() != 1) return false;
  }
  return bn.attributes.GetInt("training_mode", 0) == 0;
}

// Rescales conv's weights and bias so that it computes bn(conv(x)).
void FoldInto(Graph& graph, Node& conv, const Node& bn) {
  const Tensor& w = graph.float_constants.at(conv.inputs[1]);
  const Tensor& gamma = graph.float_constants.at(bn.inputs[1]);
  const Tensor& beta = graph.float_constants.at(bn.inputs[2]);
  const Tensor& mean = graph.float_constants.at(bn.inputs[3]);
  const Tensor& var = graph.float_constants.at(bn.inputs[4]);
  const float epsilon = bn.attributes.GetFloat("epsilon", 1e-5f);
  const int64_t out_channels = w.dim(0), per_channel = w.num_elements() / out_channels;
  Tensor folded_w = w;
  Tensor folded_b({out_channels});
  const bool has_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
  for (int64_t c = 0; c < out_channels; ++c) {
    const float scale = gamma.at(c) / std::sqrt(var.at(c) + epsilon);
    for (int64_t i = 0; i < per_channel; ++i) folded_w.at(c * per_channel + i) *= scale;
    const float bias = has_bias ? graph.float_constants.at(conv.inputs[2]).at(c) : 0.0f;
    folded_b.at(c) = (bias - mean.at(c)) * scale + beta.at(c);
  }
  const std::string prefix = bn.outputs[0] + "/folded_";
  graph.float_constants[prefix + "weight"] = std::move(folded_w);
  graph.float_constants[prefix + "bias"] = std::move(folded_b);
  conv.inputs.resize(3);
  conv.inputs[1] = prefix + "weight";
  conv.inputs[2] = prefix + "bias";
  conv.outputs[0] = bn.outputs[0];
}

bool IsNoOpPad(const Graph& graph, const Node& node) {
  if (node.op_type != "Pad") return false;
  std::vector<int64_t> pads = node.attributes.GetInts("pads", {});
  if (node.inputs.size() > 1 && !node.inputs[1].empty()) {
    auto it = graph.int_constants.find(node.inputs[1]);
    if (it == graph.int_constants.end()) return false;
    pads = it->second;
  }
  return std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; });
}

}  // namespace

void SimplifyGraph(Graph& graph) {
  const absl::flat_hash_map<std::string, int> uses = UseCounts(graph);
  absl::flat_hash_map<std::string, size_t> producer;
  std::vector<bool> removed(graph.nodes.size(), false);
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& node = graph.nodes[k];
    if (IsNoOpPad(graph, node)) {
      node.op_type = "Identity";
      node.inputs.resize(1);
    }
    if (IsFoldableBatchNorm(graph, node)) {
      auto conv = producer.find(node.inputs[0]);
      if (conv != producer.end() && graph.nodes[conv->second].op_type == "Conv" &&
          uses.at(node.inputs[0]) == 1 && graph.float_constants.contains(graph.nodes[conv->second].inputs[1])) {
        FoldInto(graph, graph.nodes[conv->second], node);
        producer[node.outputs[0]] = conv->second;
        removed[k] = true;
        continue;
      }
    }
    for (const std::string& out : node.outputs) producer[out] = k;
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    if (!removed[k]) kept.push_back(std::move(graph.nodes[k]));
  }
  graph.nodes = std::move(kept);
}

}  // namespace crucible
