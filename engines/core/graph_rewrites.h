// Graph rewrites applied once at import that make execution cheaper without
// changing any result beyond float rounding:
//  - a BatchNormalization whose input is a Conv output used nowhere else is
//    folded into that Conv's weights and bias (the Conv then produces the
//    BatchNormalization's output value);
//  - a Pad whose pads are all zero becomes an Identity.
// The graph output and every remaining value keep their names; the folded
// Conv's own output name disappears.
#ifndef CRUCIBLE_ENGINES_CORE_GRAPH_REWRITES_H_
#define CRUCIBLE_ENGINES_CORE_GRAPH_REWRITES_H_

#include "engines/core/graph.h"

namespace crucible {

// REQUIRES: the graph passed shape inference.
void SimplifyGraph(Graph& graph);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_GRAPH_REWRITES_H_
