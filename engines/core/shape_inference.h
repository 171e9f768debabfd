// Static shape inference over a Graph for one batch size, and the operator
// capability check.
//
// Every operator the executor supports has a shape rule here; any other
// operator is FAILED_PRECONDITION naming the op type and node. Attribute or
// shape inconsistencies are INVALID_ARGUMENT naming the node.
#ifndef CRUCIBLE_ENGINES_CORE_SHAPE_INFERENCE_H_
#define CRUCIBLE_ENGINES_CORE_SHAPE_INFERENCE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engines/core/graph.h"

namespace crucible {

using ShapeMap = absl::flat_hash_map<std::string, Shape>;

// Shapes of every value (input, constants, node outputs) when the graph input
// has shape `input_shape`.
absl::StatusOr<ShapeMap> InferShapes(const Graph& graph, const Shape& input_shape);

// Output shape of one node given the shapes of its inputs in `shapes`;
// `batch` is the batch size (0 when the input has no batch dimension).
absl::StatusOr<Shape> InferNodeShape(const Graph& graph, const Node& node, const ShapeMap& shapes, int64_t batch);

// Numpy-style broadcast of two shapes; INVALID_ARGUMENT if incompatible.
absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b);

// Reshape's target shape with 0 (copy) and -1 (infer) resolved. When `batch`
// is above 1 and the input leads with it, a target's leading 1 (the batch size
// the exporter traced with) follows the actual batch instead.
absl::StatusOr<Shape> ResolveReshape(const Shape& input, const std::vector<int64_t>& target,
                                     bool allow_zero, int64_t batch);

// Normalises a possibly negative axis for a tensor of `rank`.
absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_SHAPE_INFERENCE_H_
