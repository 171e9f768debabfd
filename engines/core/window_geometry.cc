#include "engines/core/window_geometry.h"

#include "absl/strings/str_cat.h"

namespace crucible {

absl::StatusOr<WindowGeometry> ResolveWindow(const Node& node, const Shape& input,
                                             const std::vector<int64_t>& kernel) {
  const size_t spatial = kernel.size();
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(node.op_type, " node '", node.name, "': ", what));
  };
  if (input.size() != spatial + 2) {
    return error(absl::StrCat("input of rank ", input.size(), " does not match a ", spatial, "-D kernel"));
  }
  WindowGeometry g;
  g.kernel = kernel;
  g.strides = node.attributes.GetInts("strides", std::vector<int64_t>(spatial, 1));
  g.dilations = node.attributes.GetInts("dilations", std::vector<int64_t>(spatial, 1));
  std::vector<int64_t> pads = node.attributes.GetInts("pads", std::vector<int64_t>(2 * spatial, 0));
  if (g.strides.size() != spatial || g.dilations.size() != spatial || pads.size() != 2 * spatial) {
    return error("strides, dilations or pads do not match the kernel rank");
  }
  const std::string auto_pad = node.attributes.GetString("auto_pad", "NOTSET");
  const bool ceil_mode = node.attributes.GetInt("ceil_mode", 0) != 0;
  g.pads_begin.assign(pads.begin(), pads.begin() + spatial);
  g.pads_end.assign(pads.begin() + spatial, pads.end());
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t in = input[i + 2];
    const int64_t k = kernel[i], s = g.strides[i], d = g.dilations[i];
    if (k <= 0 || s <= 0 || d <= 0 || g.pads_begin[i] < 0 || g.pads_end[i] < 0) {
      return error("kernel, strides and dilations must be positive and pads non-negative");
    }
    const int64_t extent = (k - 1) * d + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + extent - in);
      g.pads_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pads_end[i] = total - g.pads_begin[i];
    } else if (auto_pad == "VALID") {
      g.pads_begin[i] = g.pads_end[i] = 0;
    } else if (auto_pad != "NOTSET") {
      return error(absl::StrCat("unknown auto_pad '", auto_pad, "'"));
    }
    const int64_t span = in + g.pads_begin[i] + g.pads_end[i] - extent;
    if (span < 0) return error(absl::StrCat("kernel extent ", extent, " exceeds padded input size ", in));
    int64_t out = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
    // As in PyTorch: the last window must start inside the input or the left padding.
    if (ceil_mode && (out - 1) * s >= in + g.pads_begin[i]) --out;
    g.pads_end[i] += (out - 1) * s + extent - (in + g.pads_begin[i] + g.pads_end[i]) > 0
                         ? (out - 1) * s + extent - (in + g.pads_begin[i] + g.pads_end[i])
                         : 0;
    g.output.push_back(out);
  }
  return g;
}

}  // namespace crucible
