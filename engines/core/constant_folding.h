// Constant folding: evaluates, once at import, the nodes whose inputs are all
// constants (weight transposes, reshapes of shape tensors, arithmetic on
// initializers that exporters leave behind) and replaces them by constants.
//
// Only cheap, layout-level operators are folded (Identity, Dropout, Reshape,
// Flatten, Squeeze, Unsqueeze, Transpose, Add, Sub, Mul, Div); any other node
// with constant inputs stays in the graph and is executed normally.
#ifndef CRUCIBLE_ENGINES_CORE_CONSTANT_FOLDING_H_
#define CRUCIBLE_ENGINES_CORE_CONSTANT_FOLDING_H_

#include "engines/core/graph.h"
#include "engines/core/shape_inference.h"

namespace crucible {

// Errors are those of shape inference on the folded nodes.
absl::Status FoldConstants(Graph& graph);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_CONSTANT_FOLDING_H_
