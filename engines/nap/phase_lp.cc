#include "engines/nap/phase_lp.h"

#include <algorithm>
#include <cmath>

#include <glpk.h>

namespace crucible {
namespace {

// As smt.cc: a ReLU counts as stable only with a clear margin.
constexpr double kStableMargin = 1e-9;
// Coefficients this much below a row's largest are left out of GLPK's copy
// (they only slow the simplex down); the sound bound uses the full rows.
constexpr double kDropRelative = 1e-13;
// Relative size of the rounding error allowance of a recomputed bound
// (a few thousand terms of double rounding are far below it).
constexpr double kRoundingAllowance = 1e-10;
// GLPK runs in slices of this many milliseconds so that `stop` is polled.
constexpr int kSliceMilliseconds = 100;

}  // namespace

PhaseLp::PhaseLp(const AffineNetwork& net, const LayerBounds& layers, const Eigen::VectorXd& lo,
                 const Eigen::VectorXd& hi, const ReluSplits& splits, const ReluSplits* implied) {
  inputs_ = net.input_size();
  auto split = [&splits](size_t k, int64_t i) -> int8_t {
    return k < splits.size() && !splits[k].empty() ? splits[k][i] : 0;
  };
  int64_t free_count = 0;
  for (size_t k = 0; k + 1 < net.layers.size(); ++k) {
    if (!net.layers[k].relu) continue;
    for (int64_t i = 0; i < net.layers[k].outputs; ++i) {
      if (split(k, i) != 0) continue;
      free_count += !(layers.lower[k][i] >= kStableMargin || layers.upper[k][i] <= -kStableMargin);
    }
  }
  variables_ = inputs_ + free_count;
  var_lower_ = Eigen::VectorXd::Zero(variables_);
  var_upper_ = Eigen::VectorXd::Zero(variables_);
  var_lower_.head(inputs_) = lo;
  var_upper_.head(inputs_) = hi;

  std::vector<Eigen::RowVectorXd> rows;
  std::vector<double> rhs;
  // Current layer's activations over the variables (last column: constant).
  Eigen::MatrixXd activations = Eigen::MatrixXd::Zero(inputs_, variables_ + 1);
  activations.leftCols(inputs_).setIdentity();
  int64_t next_column = inputs_;
  for (size_t k = 0; k < net.layers.size(); ++k) {
    const AffineLayer& layer = net.layers[k];
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> w(
        layer.weights.data(), layer.outputs, layer.inputs);
    Eigen::MatrixXd pre;
    if (k == 0) {  // the activations are the inputs themselves
      pre = Eigen::MatrixXd::Zero(layer.outputs, variables_ + 1);
      pre.leftCols(inputs_) = w;
    } else {
      pre = w * activations;
    }
    for (int64_t o = 0; o < layer.outputs; ++o) pre(o, variables_) += layer.bias[o];
    if (!layer.relu) {
      activations = std::move(pre);
      continue;
    }
    for (int64_t o = 0; o < layer.outputs; ++o) {
      const Eigen::RowVectorXd p = pre.row(o).head(variables_);
      const double p0 = pre(o, variables_);
      if (const int8_t phase = split(k, o); phase != 0) {
        const bool enforced = implied != nullptr && k < implied->size() && !(*implied)[k].empty() &&
                              (*implied)[k][o] == phase;
        if (enforced) {
          if (phase < 0) pre.row(o).setZero();
          continue;
        }
        if (phase > 0) {  // z >= 0: -p·v <= p0; the activation is z
          rows.push_back(-p);
          rhs.push_back(p0);
        } else {  // z <= 0: p·v <= -p0; the activation is 0
          rows.push_back(p);
          rhs.push_back(-p0);
          pre.row(o).setZero();
        }
        continue;
      }
      const double l = layers.lower[k][o], u = layers.upper[k][o];
      if (l >= kStableMargin) continue;
      if (u <= -kStableMargin) {
        pre.row(o).setZero();
        continue;
      }
      const double lc = std::min(l, -kStableMargin), uc = std::max(u, kStableMargin);
      const int64_t column = next_column++;
      var_upper_[column] = uc;
      Eigen::RowVectorXd above = p;  // a >= z: p·v - a <= -p0
      above[column] -= 1.0;
      rows.push_back(std::move(above));
      rhs.push_back(-p0);
      const double slope = uc / (uc - lc);  // a <= slope (z - lc)
      Eigen::RowVectorXd below = -slope * p;
      below[column] += 1.0;
      rows.push_back(std::move(below));
      rhs.push_back(slope * (p0 - lc));
      free_.push_back({static_cast<int64_t>(k), o, p, p0});
      pre.row(o).setZero();
      pre(o, column) = 1.0;
    }
    activations = std::move(pre);
  }
  outputs_ = std::move(activations);
  g_.resize(static_cast<int64_t>(rows.size()), variables_);
  h_.resize(static_cast<int64_t>(rows.size()));
  for (size_t r = 0; r < rows.size(); ++r) {
    g_.row(r) = rows[r];
    h_[r] = rhs[r];
  }
  // Phase one's t never needs to exceed the largest violation a point of the box can have.
  t_upper_ = 1.0;
  for (int64_t r = 0; r < g_.rows(); ++r) {
    const double worst = g_.row(r).cwiseMax(0.0).dot(var_upper_) + g_.row(r).cwiseMin(0.0).dot(var_lower_) - h_[r];
    t_upper_ = std::max(t_upper_, worst + 1.0);
  }

  if (!g_.allFinite() || !h_.allFinite() || !var_lower_.allFinite() || !var_upper_.allFinite() ||
      !outputs_.allFinite()) {
    return;  // lp_ stays null: every solve reports kFailed
  }
  glp_term_out(GLP_OFF);
  lp_ = glp_create_prob();
  glp_set_obj_dir(lp_, GLP_MIN);
  glp_add_cols(lp_, static_cast<int>(variables_ + 1));
  for (int64_t j = 0; j < variables_; ++j) {
    const int type = var_lower_[j] == var_upper_[j] ? GLP_FX : GLP_DB;
    glp_set_col_bnds(lp_, static_cast<int>(j + 1), type, var_lower_[j], var_upper_[j]);
  }
  glp_set_col_bnds(lp_, static_cast<int>(variables_ + 1), GLP_FX, 0.0, 0.0);  // t: phase one only
  if (g_.rows() > 0) glp_add_rows(lp_, static_cast<int>(g_.rows()));
  std::vector<int> index(variables_ + 2);
  std::vector<double> value(variables_ + 2);
  for (int64_t r = 0; r < g_.rows(); ++r) {
    const double largest = g_.row(r).cwiseAbs().maxCoeff();
    int n = 0;
    for (int64_t j = 0; j < variables_; ++j) {
      if (std::abs(g_(r, j)) > kDropRelative * largest) {
        ++n;
        index[n] = static_cast<int>(j + 1);
        value[n] = g_(r, j);
      }
    }
    ++n;
    index[n] = static_cast<int>(variables_ + 1);
    value[n] = -1.0;
    glp_set_mat_row(lp_, static_cast<int>(r + 1), n, index.data(), value.data());
    glp_set_row_bnds(lp_, static_cast<int>(r + 1), GLP_UP, 0.0, h_[r]);
  }
  glp_scale_prob(lp_, GLP_SF_EQ);
}

PhaseLp::~PhaseLp() {
  if (lp_ != nullptr) glp_delete_prob(lp_);
}

PhaseLp::Minimum PhaseLp::Minimize(const std::vector<double>& output_coefficients, double constant,
                                   const std::function<bool()>& stop) {
  const Eigen::Map<const Eigen::RowVectorXd> c(output_coefficients.data(), output_coefficients.size());
  const Eigen::RowVectorXd row = c * outputs_;
  return Solve(row.head(variables_), row[variables_] + constant, false, stop);
}

PhaseLp::Minimum PhaseLp::MinimizeFreePreActivation(int64_t index, bool negate, const std::function<bool()>& stop) {
  const double sign = negate ? -1.0 : 1.0;
  return Solve(sign * free_[index].pre, sign * free_[index].pre_constant, false, stop);
}

std::vector<std::pair<int64_t, int64_t>> PhaseLp::free_relus() const {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const FreeRelu& f : free_) out.emplace_back(f.layer, f.neuron);
  return out;
}

PhaseLp::Minimum PhaseLp::MinimizeViolation(const std::function<bool()>& stop) {
  return Solve(Eigen::RowVectorXd::Zero(variables_), 0.0, true, stop);
}

PhaseLp::Minimum PhaseLp::Solve(const Eigen::RowVectorXd& objective, double constant, bool phase_one,
                                const std::function<bool()>& stop) {
  Minimum out;
  if (lp_ == nullptr) return out;
  for (int64_t j = 0; j < variables_; ++j) glp_set_obj_coef(lp_, static_cast<int>(j + 1), objective[j]);
  const int t = static_cast<int>(variables_ + 1);
  glp_set_obj_coef(lp_, t, phase_one ? 1.0 : 0.0);
  if (phase_one) {
    glp_set_col_bnds(lp_, t, GLP_DB, -1.0, t_upper_);
  } else {
    glp_set_col_bnds(lp_, t, GLP_FX, 0.0, 0.0);
  }
  glp_set_obj_coef(lp_, 0, constant);
  glp_smcp parm;
  glp_init_smcp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  parm.presolve = GLP_OFF;
  parm.tm_lim = kSliceMilliseconds;
  if (!solved_once_) {
    glp_std_basis(lp_);
    solved_once_ = true;
  }
  int ret = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    while ((ret = glp_simplex(lp_, &parm)) == GLP_ETMLIM) {
      if (stop && stop()) return out;
    }
    if (ret != GLP_ESING && ret != GLP_ECOND && ret != GLP_EBADB) break;
    glp_std_basis(lp_);  // a numerically bad basis: start again from the slack basis
  }
  if (ret != 0) return out;
  const int status = glp_get_status(lp_);
  if (status == GLP_NOFEAS) {
    out.status = Status::kInfeasible;
    return out;
  }
  if (status != GLP_OPT) return out;
  out.status = Status::kOptimal;
  out.lp_value = glp_get_obj_val(lp_);
  primal_.assign(variables_, 0.0);
  for (int64_t j = 0; j < variables_; ++j) primal_[j] = glp_get_col_prim(lp_, static_cast<int>(j + 1));
  out.input.assign(primal_.begin(), primal_.begin() + inputs_);
  for (int64_t i = 0; i < inputs_; ++i) out.input[i] = std::clamp(out.input[i], var_lower_[i], var_upper_[i]);
  // Any μ >= 0 gives a valid bound; GLPK's row duals are <= 0 for active
  // upper-bounded rows of a minimisation, so μ = -dual — the other sign is
  // tried too so that a convention slip can only weaken the bound.
  Eigen::VectorXd negated(g_.rows()), plain(g_.rows());
  for (int64_t r = 0; r < g_.rows(); ++r) {
    const double dual = glp_get_row_dual(lp_, static_cast<int>(r + 1));
    negated[r] = std::max(0.0, -dual);
    plain[r] = std::max(0.0, dual);
  }
  out.bound = std::max(SafeBound(negated, objective, constant, phase_one), SafeBound(plain, objective, constant, phase_one));
  return out;
}

double PhaseLp::SafeBound(const Eigen::VectorXd& mu, const Eigen::RowVectorXd& objective, double constant,
                          bool phase_one) const {
  const Eigen::RowVectorXd d = objective + mu.transpose() * g_;
  const Eigen::VectorXd magnitude = var_lower_.cwiseAbs().cwiseMax(var_upper_.cwiseAbs());
  double bound = constant - mu.dot(h_);
  double scale = std::abs(constant) + mu.cwiseProduct(h_).cwiseAbs().sum();
  for (int64_t j = 0; j < variables_; ++j) bound += std::min(d[j] * var_lower_[j], d[j] * var_upper_[j]);
  const Eigen::RowVectorXd spread = objective.cwiseAbs() + mu.transpose() * g_.cwiseAbs();
  scale += spread.dot(magnitude);
  if (phase_one) {
    const double dt = 1.0 - mu.sum();
    bound += std::min(-dt, dt * t_upper_);
    scale += (1.0 + mu.sum()) * t_upper_;
  }
  return bound - kRoundingAllowance * scale;
}

std::vector<PhaseLp::Gap> PhaseLp::Gaps() const {
  std::vector<Gap> gaps;
  if (primal_.empty()) return gaps;
  const Eigen::Map<const Eigen::VectorXd> v(primal_.data(), variables_);
  for (size_t f = 0; f < free_.size(); ++f) {
    const double z = free_[f].pre.dot(v) + free_[f].pre_constant;
    const double a = primal_[inputs_ + f];
    gaps.push_back({free_[f].layer, free_[f].neuron, a - std::max(z, 0.0), z});
  }
  std::sort(gaps.begin(), gaps.end(), [](const Gap& x, const Gap& y) { return x.gap > y.gap; });
  return gaps;
}

}  // namespace crucible
