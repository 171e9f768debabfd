// PhaseLp: the linear relaxation of an AffineNetwork on one branch-and-bound
// domain of a NAP query — an input box, ReLU phases (the NAP's and the
// branch's splits) and sound pre-activation bounds — solved with GLPK.
//
// Variables are the inputs and one activation a per free ReLU the bounds
// cannot prove stable ("free unstable"); everything else is composed into
// affine functions of those (fixed-active and stable-active neurons are the
// identity, fixed-inactive and stable-inactive ones zero). Rows: each fixed
// phase exactly (z >= 0 or z <= 0, linear in the variables), and each free
// unstable ReLU by its triangle (a >= z, a <= u(z - l)/(u - l), 0 <= a <= u).
//
// GLPK works in floating point, so its optimum is only a guide: Minimize
// returns a bound recomputed from the LP's row duals μ >= 0 by weak duality,
// min_box (c + Gᵀμ)·v + c0 - μᵀh, which is valid for any μ >= 0, minus an
// estimate of its own rounding error. Emptiness is certified the same way on
// the phase-one problem min t s.t. Gv - t <= h. Not thread-safe; one PhaseLp
// per domain. `stop` is polled between 100 ms slices of the simplex.
//
//   PhaseLp lp(net, layers, lo, hi, splits);
//   PhaseLp::Minimum m = lp.Minimize(coefficients_of_outputs, 0.0, stop);
//   if (m.status == PhaseLp::Status::kOptimal && m.bound > 1e-6) { /* refuted */ }
#ifndef CRUCIBLE_ENGINES_NAP_PHASE_LP_H_
#define CRUCIBLE_ENGINES_NAP_PHASE_LP_H_

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "engines/verify/bounds.h"
#include "engines/verify/network.h"

struct glp_prob;

namespace crucible {

class PhaseLp {
 public:
  enum class Status { kOptimal, kInfeasible, kFailed };

  struct Minimum {
    Status status = Status::kFailed;
    double bound = -1e300;      // kOptimal: sound lower bound of the objective over the domain
    double lp_value = 0;        // kOptimal: GLPK's optimum
    std::vector<double> input;  // kOptimal: the inputs at GLPK's optimum (a counterexample candidate)
  };

  struct Gap {  // a free unstable ReLU and a - max(z, 0) at the latest optimum
    int64_t layer = 0;
    int64_t neuron = 0;
    double gap = 0;
    double pre_activation = 0;  // z there
  };

  // REQUIRES: `layers` are sound pre-activation bounds of `net` over [lo, hi]
  // with `splits` (NetworkBounds::PreActivation); splits has the
  // ReluSplits layout with a vector for every ReLU layer. `implied` (may be
  // null, same layout) marks phases the box alone already enforces (sound
  // bounds without splits prove them): those neurons keep their linear
  // piece but get no row, which keeps ε-box LPs small.
  PhaseLp(const AffineNetwork& net, const LayerBounds& layers, const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
          const ReluSplits& splits, const ReluSplits* implied = nullptr);
  ~PhaseLp();
  PhaseLp(const PhaseLp&) = delete;
  PhaseLp& operator=(const PhaseLp&) = delete;

  // Minimises coefficients·y + constant over the relaxation (y: the outputs).
  Minimum Minimize(const std::vector<double>& output_coefficients, double constant,
                   const std::function<bool()>& stop);
  // Minimises the largest row violation t of the relaxation: bound > 0
  // certifies that the domain is empty; otherwise `input` is the least
  // violating point found.
  Minimum MinimizeViolation(const std::function<bool()>& stop);

  // Minimises the pre-activation z of free unstable ReLU `index` (in
  // free_relus() order), or -z with `negate`: sound bounds that tighten the
  // CROWN ones, since the LP sees the phase constraints on the inputs.
  Minimum MinimizeFreePreActivation(int64_t index, bool negate, const std::function<bool()>& stop);

  int64_t free_unstable() const { return static_cast<int64_t>(free_.size()); }
  // (layer, neuron) of each free unstable ReLU, in layer order.
  std::vector<std::pair<int64_t, int64_t>> free_relus() const;
  // Free unstable ReLUs by decreasing gap at the latest kOptimal solution.
  std::vector<Gap> Gaps() const;

 private:
  struct FreeRelu {
    int64_t layer, neuron;
    Eigen::RowVectorXd pre;  // pre-activation over the variables
    double pre_constant;
  };
  Minimum Solve(const Eigen::RowVectorXd& objective, double constant, bool phase_one,
                const std::function<bool()>& stop);
  double SafeBound(const Eigen::VectorXd& mu, const Eigen::RowVectorXd& objective, double constant,
                   bool phase_one) const;

  int64_t inputs_ = 0;
  int64_t variables_ = 0;          // inputs, free activations (the phase-one t is column variables_ + 1 in GLPK)
  Eigen::VectorXd var_lower_, var_upper_;
  Eigen::MatrixXd g_;              // rows: G v <= h
  Eigen::VectorXd h_;
  double t_upper_ = 1;             // phase one: t in [-1, t_upper_]
  Eigen::MatrixXd outputs_;        // outputs over the variables (last column: constant)
  std::vector<FreeRelu> free_;
  std::vector<double> primal_;     // variables at the latest optimum
  glp_prob* lp_ = nullptr;
  bool solved_once_ = false;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_PHASE_LP_H_
