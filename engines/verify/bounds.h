// NetworkBounds: sound bounds on an AffineNetwork over an input box —
// interval propagation (IBP) and symbolic back-substitution with CROWN /
// DeepPoly linear ReLU relaxations.
//
// Every unstable ReLU (l < 0 < u) is relaxed between the upper line
// u/(u-l)·(z-l) and a lower line α·z with α in [0, 1]. Intermediate
// pre-activation bounds use the adaptive slope (α = 1 if u > -l, else 0) and
// are intersected with IBP; the final objective's bound is the best of several
// slope choices, evaluated per row (each is a valid bound, so the maximum is
// too). ReLU splits (active / inactive) clamp the pre-activation bounds of the
// split neurons, which is sound for the sub-domain the splits describe.
// All arithmetic is double precision; callers leave a small margin before
// treating a bound as a proof.
//
// Thread-safe: const methods only.
//
//   NetworkBounds bounds(net);
//   LayerBounds layers;
//   if (bounds.PreActivation(lo, hi, {}, layers)) {
//     OutputBounds ob = bounds.LowerBound(A, c, layers, lo, hi);   // rows of A·y + c
//   }
#ifndef CRUCIBLE_ENGINES_VERIFY_BOUNDS_H_
#define CRUCIBLE_ENGINES_VERIFY_BOUNDS_H_

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "engines/verify/network.h"

namespace crucible {

// Per layer: 0 free, +1 ReLU forced active (z >= 0), -1 forced inactive (z <= 0).
// Empty: no splits.
using ReluSplits = std::vector<std::vector<int8_t>>;

// Pre-activation bounds of every layer.
struct LayerBounds {
  std::vector<Eigen::VectorXd> lower;
  std::vector<Eigen::VectorXd> upper;

  int64_t UnstableCount() const;  // ReLU layers only (all but the last)
};

// Lower bounds of rows of A·y + c over the box: value[r] <= min over the box
// of row r, and value[r] = min_x (coefficients.row(r)·x) + constants[r] — the
// linear bound in the input it came from.
struct OutputBounds {
  Eigen::VectorXd value;
  Eigen::MatrixXd coefficients;  // rows x inputs
  Eigen::VectorXd constants;
  // For each ReLU layer, the back-substituted coefficient of its activations in
  // row 0's bound (used to score ReLU splits). Only filled when requested.
  std::vector<Eigen::VectorXd> relu_coefficients;
};

class NetworkBounds {
 public:
  explicit NetworkBounds(const AffineNetwork& net);

  int64_t num_layers() const { return static_cast<int64_t>(weights_.size()); }
  int64_t input_size() const { return weights_.front().cols(); }
  int64_t output_size() const { return weights_.back().rows(); }
  bool relu(int64_t layer) const { return relu_[layer]; }

  // Interval bounds only.
  void IntervalBounds(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, LayerBounds& out) const;
  // CROWN pre-activation bounds of every ReLU layer. False when the splits are
  // contradictory (the sub-domain is empty).
  bool PreActivation(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, const ReluSplits& splits,
                     LayerBounds& out) const;
  // Cheaper intermediate bounds for few inputs: linear lower and upper
  // functions of the input propagated forward through the same relaxations
  // (symbolic intervals), intersected with IBP. Costs O(inputs) per neuron
  // instead of a back-substitution per layer.
  void ForwardSymbolic(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, LayerBounds& out) const;
  OutputBounds LowerBound(const Eigen::MatrixXd& a, const Eigen::VectorXd& c, const LayerBounds& layers,
                          const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                          bool want_relu_coefficients = false) const;

 private:
  enum class Slope { kAdaptive, kZero, kOne, kParallel };
  // Lower bounds of rows of Λ·z_k + c for the pre-activation z_k of `layer`.
  OutputBounds BackSubstitute(Eigen::MatrixXd lambda, Eigen::VectorXd constants, int64_t layer,
                              const LayerBounds& layers, const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                              Slope slope, bool want_relu_coefficients) const;

  std::vector<Eigen::MatrixXd> weights_;
  std::vector<Eigen::VectorXd> biases_;
  std::vector<bool> relu_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_BOUNDS_H_
