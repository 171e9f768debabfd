// ONNX import: bytes of an ONNX ModelProto -> Graph.
//
// Parses and runs the ONNX checker (malformed bytes or an invalid model are
// INVALID_ARGUMENT carrying the parser's or checker's reason), turns
// initializers and Constant nodes into constants, and keeps only the nodes the
// first graph output depends on, in topological order. Operator support is not
// checked here; see model.h.
#ifndef CRUCIBLE_ENGINES_CORE_ONNX_IMPORT_H_
#define CRUCIBLE_ENGINES_CORE_ONNX_IMPORT_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "engines/core/graph.h"

namespace crucible {

absl::StatusOr<Graph> ImportOnnx(std::string_view bytes);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_ONNX_IMPORT_H_
