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
// Branch and bound passes a domain's bounds to its children as `known`
// bounds: a child's domain lies inside its parent's, so they stay valid, are
// intersected in layer by layer (bounds never loosen down the tree) and
// neurons already stable there are not back-substituted again.
// OptimizedLowerBound improves one objective row further by projected
// gradient ascent on the lower slopes (alpha-CROWN); every slope vector in
// [0, 1] gives a valid bound, so the best one seen is returned.
// All arithmetic is double precision; callers leave a small margin before
// treating a bound as a proof.
//
// Thread-safe: const methods only.
//
//   NetworkBounds bounds(net);
//   LayerBounds layers;
//   if (bounds.PreActivation(lo, hi, {}, layers)) {
//     OutputBounds ob = bounds.LowerBound(A, c, layers, lo, hi);   // rows of A·y + c
//     LowerSlopes alpha;                                            // warm start: the parent's
//     OutputBounds row = bounds.OptimizedLowerBound(A.row(0), c[0], layers, lo, hi, 8, alpha);
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

// Lower ReLU slopes α per layer (the last layer's vector is unused); an empty
// vector means "not chosen yet".
using LowerSlopes = std::vector<Eigen::VectorXd>;

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
  // The same, intersected layer by layer with `known`: sound bounds of a
  // domain containing this one (e.g. the parent's in branch and bound; its
  // splits a subset of `splits`). Neurons `known` proves stable are not
  // back-substituted. REQUIRES: known has this network's layer sizes.
  bool PreActivation(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, const ReluSplits& splits,
                     const LayerBounds& known, LayerBounds& out) const;
  // Cheaper intermediate bounds for few inputs: linear lower and upper
  // functions of the input propagated forward through the same relaxations
  // (symbolic intervals), intersected with IBP. Costs O(inputs) per neuron
  // instead of a back-substitution per layer.
  void ForwardSymbolic(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, LayerBounds& out) const;
  OutputBounds LowerBound(const Eigen::MatrixXd& a, const Eigen::VectorXd& c, const LayerBounds& layers,
                          const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                          bool want_relu_coefficients = false) const;
  // For each input, Σ over paths through ReLUs not proven inactive of
  // |a|·|W_L|···|W_1|: how fast a·y can change per unit of that input at
  // most. Unlike the coefficients of a linear bound, where paths of opposite
  // sign cancel, it grows with every path the relaxation has to cover.
  Eigen::VectorXd AbsoluteSensitivity(const Eigen::RowVectorXd& a, const LayerBounds& layers) const;
  // Lower bound of a·y + c over the box with the lower slopes of unstable
  // ReLUs optimised by `iterations` steps of projected gradient ascent,
  // starting from `alpha` (empty: the adaptive slopes) and returning the best
  // slopes in it. The result has one row; it is never below the adaptive
  // slopes' bound.
  OutputBounds OptimizedLowerBound(const Eigen::RowVectorXd& a, double c, const LayerBounds& layers,
                                   const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, int iterations,
                                   LowerSlopes& alpha) const;

 private:
  enum class Slope { kAdaptive, kZero, kOne, kParallel };
  // Lower bounds of rows of Λ·z_k + c for the pre-activation z_k of `layer`.
  OutputBounds BackSubstitute(Eigen::MatrixXd lambda, Eigen::VectorXd constants, int64_t layer,
                              const LayerBounds& layers, const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                              Slope slope, bool want_relu_coefficients) const;
  bool ComputePreActivation(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, const ReluSplits& splits,
                            const LayerBounds* known, LayerBounds& out) const;
  void ForwardSymbolicWithin(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, const LayerBounds* known,
                             LayerBounds& out) const;
  // One row's bound for the slopes `alpha`; with `gradient`, also its
  // gradient with respect to them (same layout as alpha).
  double RowBound(const Eigen::RowVectorXd& a, double c, const LayerBounds& layers, const Eigen::VectorXd& lo,
                  const Eigen::VectorXd& hi, const LowerSlopes& alpha, LowerSlopes* gradient,
                  Eigen::RowVectorXd* coefficients, double* constant) const;

  std::vector<Eigen::MatrixXd> weights_;
  std::vector<Eigen::MatrixXd> positive_weights_, negative_weights_;  // for interval arithmetic
  std::vector<Eigen::VectorXd> biases_;
  std::vector<bool> relu_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_BOUNDS_H_
