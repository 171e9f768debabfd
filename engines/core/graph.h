// Graph: the model core's intermediate representation of an imported network.
//
// Values are named (as in ONNX). Nodes are stored topologically sorted; every
// node input is either the graph input, a constant, or the output of an
// earlier node. Constants hold float data (weights) or integer data (shapes,
// axes); "" names an absent optional input.
#ifndef CRUCIBLE_ENGINES_CORE_GRAPH_H_
#define CRUCIBLE_ENGINES_CORE_GRAPH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engines/core/tensor.h"

namespace crucible {

// Node attributes, typed as ONNX declares them.
class Attributes {
 public:
  void SetInt(const std::string& name, int64_t v) { ints_[name] = v; }
  void SetFloat(const std::string& name, float v) { floats_[name] = v; }
  void SetString(const std::string& name, std::string v) { strings_[name] = std::move(v); }
  void SetInts(const std::string& name, std::vector<int64_t> v) { int_lists_[name] = std::move(v); }
  void SetTensor(const std::string& name, Tensor v) { tensors_[name] = std::move(v); }

  bool Has(const std::string& name) const;
  int64_t GetInt(const std::string& name, int64_t fallback) const;
  float GetFloat(const std::string& name, float fallback) const;
  std::string GetString(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> GetInts(const std::string& name, std::vector<int64_t> fallback) const;
  const Tensor* GetTensor(const std::string& name) const;

 private:
  absl::flat_hash_map<std::string, int64_t> ints_;
  absl::flat_hash_map<std::string, float> floats_;
  absl::flat_hash_map<std::string, std::string> strings_;
  absl::flat_hash_map<std::string, std::vector<int64_t>> int_lists_;
  absl::flat_hash_map<std::string, Tensor> tensors_;
};

struct Node {
  std::string name;     // ONNX node name, or "<op_type>_<index>" when the file has none.
  std::string op_type;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  Attributes attributes;
};

struct Graph {
  int64_t opset = 0;
  std::string input_name;
  Shape declared_input_shape;  // As in the file; a symbolic batch dimension is 1.
  std::string output_name;
  std::vector<Node> nodes;
  absl::flat_hash_map<std::string, Tensor> float_constants;
  absl::flat_hash_map<std::string, std::vector<int64_t>> int_constants;
  // Shapes of integer constants (the data of int_constants is flat).
  absl::flat_hash_map<std::string, Shape> int_constant_shapes;

  bool IsConstant(const std::string& value) const {
    return float_constants.contains(value) || int_constants.contains(value);
  }
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_GRAPH_H_
