#include "engines/verify/dlv_margin_bound.h"

#include <algorithm>
#include <cmath>

namespace crucible {
namespace {

// Interval of a ReLU's derivative over its pre-activation interval.
enum class Slope { kOn, kOff, kEither };

}  // namespace

double MarginChangeBound(const AffineNetwork& net, int k, const LayerBox& box, int64_t label,
                         const std::vector<double>& deltas) {
  // Forward: which ReLUs of the layers after k are stable over the box.
  std::vector<std::vector<Slope>> slopes;
  LayerBox current = box;
  for (size_t i = k; i < net.layers.size(); ++i) {
    AffineLayer linear = net.layers[i];
    linear.relu = false;
    LayerBox pre = IntervalImage(linear, current);
    std::vector<Slope> layer_slopes(linear.outputs, Slope::kOn);
    if (net.layers[i].relu) {
      for (int64_t o = 0; o < linear.outputs; ++o) {
        layer_slopes[o] = pre.lower[o] >= 0 ? Slope::kOn : pre.upper[o] <= 0 ? Slope::kOff : Slope::kEither;
        pre.lower[o] = std::max(pre.lower[o], 0.0);
        pre.upper[o] = std::max(pre.upper[o], 0.0);
      }
    }
    slopes.push_back(std::move(layer_slopes));
    current = std::move(pre);
  }
  double worst = 0.0;
  const int64_t classes = net.layers.back().outputs;
  for (int64_t j = 0; j < classes; ++j) {
    if (j == label) continue;
    // Backward in midpoint/radius form: derivative in [mid - rad, mid + rad].
    std::vector<double> mid(classes, 0.0), rad(classes, 0.0);
    mid[label] = 1.0;
    mid[j] = -1.0;
    for (int i = static_cast<int>(net.layers.size()) - 1; i >= k; --i) {
      const AffineLayer& layer = net.layers[i];
      const std::vector<Slope>& s = slopes[i - k];
      for (int64_t o = 0; o < layer.outputs; ++o) {
        if (s[o] == Slope::kOff) {
          mid[o] = rad[o] = 0.0;
        } else if (s[o] == Slope::kEither) {
          const double low = std::min(0.0, mid[o] - rad[o]), high = std::max(0.0, mid[o] + rad[o]);
          mid[o] = 0.5 * (low + high);
          rad[o] = 0.5 * (high - low);
        }
      }
      std::vector<double> prev_mid(layer.inputs, 0.0), prev_rad(layer.inputs, 0.0);
      for (int64_t o = 0; o < layer.outputs; ++o) {
        if (mid[o] == 0.0 && rad[o] == 0.0) continue;
        const double* w = &layer.weights[o * layer.inputs];
        for (int64_t in = 0; in < layer.inputs; ++in) {
          prev_mid[in] += w[in] * mid[o];
          prev_rad[in] += std::fabs(w[in]) * rad[o];
        }
      }
      mid = std::move(prev_mid);
      rad = std::move(prev_rad);
    }
    double change = 0.0;
    for (size_t p = 0; p < deltas.size(); ++p) {
      if (deltas[p] > 0) change += (std::fabs(mid[p]) + rad[p]) * deltas[p];
    }
    worst = std::max(worst, change);
  }
  // Cover the rounding of the sums above.
  return worst * (1.0 + 1e-9) + 1e-12;
}

}  // namespace crucible
