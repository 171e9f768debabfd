// Per-layer regions of the dlv engine: a box (lower/upper bound per neuron)
// around an input's activation at one layer, and the double-precision layer
// arithmetic dlv needs on an AffineNetwork: activations of every layer, the
// rest of the network from a layer on, the exact box image of one layer
// (interval arithmetic), and the classification margin.
//
// Layer k of an AffineNetwork with L affine maps: k = 0 is the (normalised)
// model input, k = 1..L-1 the output of the k-th affine map and its ReLU, k = L
// the logits.
//
//   std::vector<std::vector<double>> acts = LayerActivations(net, input);
//   LayerBox next = IntervalImage(net.layers[0], input_box);   // contains the image of input_box
//   double m = Margin(EvaluateFrom(net, 1, acts[1]), label);   // > 0: still `label`
#ifndef CRUCIBLE_ENGINES_VERIFY_DLV_REGION_H_
#define CRUCIBLE_ENGINES_VERIFY_DLV_REGION_H_

#include <cstdint>
#include <vector>

#include "engines/verify/network.h"

namespace crucible {

struct LayerBox {
  std::vector<double> lower;
  std::vector<double> upper;

  int64_t size() const { return static_cast<int64_t>(lower.size()); }
  bool Contains(const std::vector<double>& point, double tolerance = 0.0) const;
  double MaxWidth() const;
  double MeanWidth() const;
};

// Activations of layers 0..L for `input` (layer 0 is the input itself).
std::vector<std::vector<double>> LayerActivations(const AffineNetwork& net, const std::vector<double>& input);

// Logits of the network run from layer `k` on, given that layer's activation.
std::vector<double> EvaluateFrom(const AffineNetwork& net, int k, const std::vector<double>& activation);

// The smallest box containing layer(x) for every x in `box` (one affine map
// and its optional ReLU; exact up to floating-point rounding, which callers
// cover by widening).
LayerBox IntervalImage(const AffineLayer& layer, const LayerBox& box);

// logits[label] - max over the other classes.
double Margin(const std::vector<double>& logits, int64_t label);
// The class with the largest logit other than `label`.
int64_t RunnerUp(const std::vector<double>& logits, int64_t label);

// d (logits[label] - logits[other]) / d activation at layer k, at `activation`
// (ReLU derivatives of the point; 0 at exactly 0).
std::vector<double> MarginGradientFrom(const AffineNetwork& net, int k, const std::vector<double>& activation,
                                       int64_t label, int64_t other);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_DLV_REGION_H_
