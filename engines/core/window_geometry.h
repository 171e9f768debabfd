// WindowGeometry: the resolved sliding-window parameters of a Conv, MaxPool or
// AveragePool node for a given input shape (strides, dilations, explicit pads
// from `pads` or `auto_pad`, ceil_mode) and the resulting output size.
//
// Shared by shape inference and the executor so both agree on every size.
#ifndef CRUCIBLE_ENGINES_CORE_WINDOW_GEOMETRY_H_
#define CRUCIBLE_ENGINES_CORE_WINDOW_GEOMETRY_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/graph.h"

namespace crucible {

struct WindowGeometry {
  std::vector<int64_t> kernel;       // Spatial kernel size.
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;    // ONNX convention: 1 = dense.
  std::vector<int64_t> pads_begin;
  std::vector<int64_t> pads_end;     // Includes the extra right padding of ceil_mode.
  std::vector<int64_t> output;       // Spatial output size.
};

// `input` is the full NC... shape; `kernel` the spatial kernel size.
absl::StatusOr<WindowGeometry> ResolveWindow(const Node& node, const Shape& input,
                                             const std::vector<int64_t>& kernel);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_WINDOW_GEOMETRY_H_
