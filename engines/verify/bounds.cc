#include "engines/verify/bounds.h"

#include <algorithm>
#include <cmath>

namespace crucible {
namespace {

constexpr int64_t kSymbolicFilterMaxInputs = 32;
constexpr double kEmptyMargin = 1e-9;

}  // namespace

int64_t LayerBounds::UnstableCount() const {
  int64_t n = 0;
  for (size_t k = 0; k + 1 < lower.size(); ++k) {
    for (int64_t i = 0; i < lower[k].size(); ++i) n += lower[k][i] < 0 && upper[k][i] > 0;
  }
  return n;
}

NetworkBounds::NetworkBounds(const AffineNetwork& net) {
  for (const AffineLayer& layer : net.layers) {
    Eigen::MatrixXd w(layer.outputs, layer.inputs);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      for (int64_t i = 0; i < layer.inputs; ++i) w(o, i) = layer.weight(o, i);
    }
    positive_weights_.push_back(w.cwiseMax(0.0));
    negative_weights_.push_back(w.cwiseMin(0.0));
    weights_.push_back(std::move(w));
    biases_.push_back(Eigen::Map<const Eigen::VectorXd>(layer.bias.data(), layer.outputs));
    relu_.push_back(layer.relu);
  }
}

void NetworkBounds::IntervalBounds(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, LayerBounds& out) const {
  out.lower.resize(num_layers());
  out.upper.resize(num_layers());
  Eigen::VectorXd a_lo = lo, a_hi = hi;
  for (int64_t k = 0; k < num_layers(); ++k) {
    const Eigen::MatrixXd& pos = positive_weights_[k];
    const Eigen::MatrixXd& neg = negative_weights_[k];
    out.lower[k] = pos * a_lo + neg * a_hi + biases_[k];
    out.upper[k] = pos * a_hi + neg * a_lo + biases_[k];
    a_lo = relu_[k] ? Eigen::VectorXd(out.lower[k].cwiseMax(0.0)) : out.lower[k];
    a_hi = relu_[k] ? Eigen::VectorXd(out.upper[k].cwiseMax(0.0)) : out.upper[k];
  }
}

bool NetworkBounds::PreActivation(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, const ReluSplits& splits,
                                  LayerBounds& out) const {
  return ComputePreActivation(lo, hi, splits, nullptr, out);
}

bool NetworkBounds::PreActivation(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, const ReluSplits& splits,
                                  const LayerBounds& known, LayerBounds& out) const {
  return ComputePreActivation(lo, hi, splits, &known, out);
}

bool NetworkBounds::ComputePreActivation(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                                         const ReluSplits& splits, const LayerBounds* known,
                                         LayerBounds& out) const {
  // With few inputs, forward symbolic bounds are cheap and leave fewer
  // unstable neurons for the back-substitution to tighten.
  const bool symbolic = splits.empty() && lo.size() <= kSymbolicFilterMaxInputs;
  LayerBounds symbolic_bounds;
  if (symbolic) ForwardSymbolicWithin(lo, hi, known, symbolic_bounds);
  out.lower.assign(num_layers(), Eigen::VectorXd());
  out.upper.assign(num_layers(), Eigen::VectorXd());
  for (int64_t k = 0; k + 1 < num_layers(); ++k) {
    const Eigen::MatrixXd& pos = positive_weights_[k];
    const Eigen::MatrixXd& neg = negative_weights_[k];
    Eigen::VectorXd a_lo = lo, a_hi = hi;
    if (k > 0) {
      a_lo = relu_[k - 1] ? Eigen::VectorXd(out.lower[k - 1].cwiseMax(0.0)) : out.lower[k - 1];
      a_hi = relu_[k - 1] ? Eigen::VectorXd(out.upper[k - 1].cwiseMax(0.0)) : out.upper[k - 1];
    }
    Eigen::VectorXd l = pos * a_lo + neg * a_hi + biases_[k];
    Eigen::VectorXd u = pos * a_hi + neg * a_lo + biases_[k];
    if (symbolic && k > 0) {
      l = l.cwiseMax(symbolic_bounds.lower[k]);
      u = u.cwiseMin(symbolic_bounds.upper[k]);
    }
    if (known != nullptr) {
      l = l.cwiseMax(known->lower[k]);
      u = u.cwiseMin(known->upper[k]);
    }
    if (k > 0) {  // the first layer's interval bounds are exact
      std::vector<int64_t> open;
      for (int64_t i = 0; i < l.size(); ++i) {
        if (!relu_[k] || (l[i] < 0 && u[i] > 0)) open.push_back(i);
      }
      if (!open.empty()) {
        const int64_t r = static_cast<int64_t>(open.size());
        Eigen::MatrixXd lambda = Eigen::MatrixXd::Zero(2 * r, l.size());
        for (int64_t j = 0; j < r; ++j) {
          lambda(j, open[j]) = 1.0;
          lambda(r + j, open[j]) = -1.0;
        }
        const OutputBounds b =
            BackSubstitute(std::move(lambda), Eigen::VectorXd::Zero(2 * r), k, out, lo, hi, Slope::kAdaptive, false);
        for (int64_t j = 0; j < r; ++j) {
          l[open[j]] = std::max(l[open[j]], b.value[j]);
          u[open[j]] = std::min(u[open[j]], -b.value[r + j]);
        }
      }
    }
    if (!splits.empty() && !splits[k].empty()) {
      for (int64_t i = 0; i < l.size(); ++i) {
        if (splits[k][i] > 0) l[i] = std::max(l[i], 0.0);
        if (splits[k][i] < 0) u[i] = std::min(u[i], 0.0);
      }
    }
    for (int64_t i = 0; i < l.size(); ++i) {
      if (l[i] <= u[i]) continue;
      // Crossed bounds mean an empty sub-domain only when a split clamped them
      // clearly apart; otherwise they are rounding on a (near-)point box.
      const bool split = !splits.empty() && !splits[k].empty() && splits[k][i] != 0;
      if (split && l[i] - u[i] > kEmptyMargin) return false;
      std::swap(l[i], u[i]);
    }
    out.lower[k] = std::move(l);
    out.upper[k] = std::move(u);
  }
  return true;
}

void NetworkBounds::ForwardSymbolic(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, LayerBounds& out) const {
  ForwardSymbolicWithin(lo, hi, nullptr, out);
}

void NetworkBounds::ForwardSymbolicWithin(const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                                          const LayerBounds* known, LayerBounds& out) const {
  out.lower.assign(num_layers(), Eigen::VectorXd());
  out.upper.assign(num_layers(), Eigen::VectorXd());
  const int64_t n = lo.size();
  // Activations bounded by lower_a·[x;1] and upper_a·[x;1] (rows: neurons, last column: constant).
  Eigen::MatrixXd lower_a = Eigen::MatrixXd::Zero(n, n + 1), upper_a = Eigen::MatrixXd::Zero(n, n + 1);
  lower_a.leftCols(n).setIdentity();
  upper_a.leftCols(n).setIdentity();
  Eigen::VectorXd a_lo = lo, a_hi = hi;
  auto concretize_min = [&](const Eigen::MatrixXd& f) -> Eigen::VectorXd {
    return f.leftCols(n).cwiseMax(0.0) * lo + f.leftCols(n).cwiseMin(0.0) * hi + f.col(n);
  };
  for (int64_t k = 0; k + 1 < num_layers(); ++k) {
    const Eigen::MatrixXd& pos = positive_weights_[k];
    const Eigen::MatrixXd& neg = negative_weights_[k];
    Eigen::MatrixXd lower_z = pos * lower_a + neg * upper_a;
    Eigen::MatrixXd upper_z = pos * upper_a + neg * lower_a;
    lower_z.col(n) += biases_[k];
    upper_z.col(n) += biases_[k];
    Eigen::VectorXd l = concretize_min(lower_z).cwiseMax(pos * a_lo + neg * a_hi + biases_[k]);
    Eigen::VectorXd u = (-concretize_min(-upper_z)).cwiseMin(pos * a_hi + neg * a_lo + biases_[k]);
    if (known != nullptr) {
      l = l.cwiseMax(known->lower[k]);
      u = u.cwiseMin(known->upper[k]);
      for (int64_t i = 0; i < l.size(); ++i) {
        if (l[i] > u[i]) std::swap(l[i], u[i]);  // rounding on a (near-)point box
      }
    }
    out.lower[k] = l;
    out.upper[k] = u;
    if (!relu_[k]) {
      lower_a = std::move(lower_z);
      upper_a = std::move(upper_z);
      a_lo = l;
      a_hi = u;
      continue;
    }
    for (int64_t i = 0; i < l.size(); ++i) {
      if (u[i] <= 0) {
        lower_z.row(i).setZero();
        upper_z.row(i).setZero();
      } else if (l[i] < 0) {
        const double s = u[i] / (u[i] - l[i]);
        upper_z.row(i) *= s;
        upper_z(i, n) -= s * l[i];
        if (u[i] <= -l[i]) lower_z.row(i).setZero();
      }
    }
    lower_a = std::move(lower_z);
    upper_a = std::move(upper_z);
    a_lo = l.cwiseMax(0.0);
    a_hi = u.cwiseMax(0.0);
  }
}

OutputBounds NetworkBounds::BackSubstitute(Eigen::MatrixXd lambda, Eigen::VectorXd constants, int64_t layer,
                                           const LayerBounds& layers, const Eigen::VectorXd& lo,
                                           const Eigen::VectorXd& hi, Slope slope,
                                           bool want_relu_coefficients) const {
  OutputBounds out;
  if (want_relu_coefficients) out.relu_coefficients.assign(num_layers(), Eigen::VectorXd());
  // Columns of lambda belong to the neurons of layer j listed in `live`
  // (all of them when `all_live`): inactive ReLUs contribute nothing, so
  // their rows of the next weight matrix are left out of the product.
  std::vector<Eigen::Index> live;
  bool all_live = true;
  for (int64_t j = layer; j >= 0; --j) {
    if (all_live) {
      constants += lambda * biases_[j];
      lambda = lambda * weights_[j];
    } else {
      constants += lambda * biases_[j](live);
      lambda = lambda * weights_[j](live, Eigen::all);
    }
    all_live = true;
    if (j == 0 || !relu_[j - 1]) continue;
    const Eigen::VectorXd& l = layers.lower[j - 1];
    const Eigen::VectorXd& u = layers.upper[j - 1];
    const int64_t n = l.size();
    if (want_relu_coefficients) out.relu_coefficients[j - 1] = lambda.row(0).transpose();
    live.clear();
    for (int64_t i = 0; i < n; ++i) {
      if (u[i] > 0) live.push_back(i);
    }
    Eigen::MatrixXd relaxed(lambda.rows(), static_cast<Eigen::Index>(live.size()));
    for (size_t q = 0; q < live.size(); ++q) {
      const int64_t i = live[q];
      if (l[i] >= 0) {
        relaxed.col(q) = lambda.col(i);
        continue;
      }
      const double s = u[i] / (u[i] - l[i]);
      const double t = -s * l[i];
      double alpha = 0.0;
      switch (slope) {
        case Slope::kAdaptive: alpha = u[i] > -l[i] ? 1.0 : 0.0; break;
        case Slope::kZero: alpha = 0.0; break;
        case Slope::kOne: alpha = 1.0; break;
        case Slope::kParallel: alpha = s; break;
      }
      const auto column = lambda.col(i);
      constants += t * column.cwiseMin(0.0);
      relaxed.col(q) = alpha * column.cwiseMax(0.0) + s * column.cwiseMin(0.0);
    }
    lambda = std::move(relaxed);
    all_live = static_cast<int64_t>(live.size()) == n;
  }
  out.value = constants + lambda.cwiseMax(0.0) * lo + lambda.cwiseMin(0.0) * hi;
  out.coefficients = std::move(lambda);
  out.constants = std::move(constants);
  return out;
}

OutputBounds NetworkBounds::LowerBound(const Eigen::MatrixXd& a, const Eigen::VectorXd& c, const LayerBounds& layers,
                                       const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                                       bool want_relu_coefficients) const {
  const int64_t last = num_layers() - 1;
  OutputBounds best = BackSubstitute(a, c, last, layers, lo, hi, Slope::kAdaptive, want_relu_coefficients);
  for (Slope slope : {Slope::kZero, Slope::kOne, Slope::kParallel}) {
    const OutputBounds other = BackSubstitute(a, c, last, layers, lo, hi, slope, false);
    for (int64_t r = 0; r < best.value.size(); ++r) {
      if (other.value[r] > best.value[r]) {
        best.value[r] = other.value[r];
        best.coefficients.row(r) = other.coefficients.row(r);
        best.constants[r] = other.constants[r];
      }
    }
  }
  return best;
}

Eigen::VectorXd NetworkBounds::AbsoluteSensitivity(const Eigen::RowVectorXd& a, const LayerBounds& layers) const {
  Eigen::RowVectorXd lambda = a.cwiseAbs();
  for (int64_t k = num_layers() - 1; k >= 0; --k) {
    lambda = lambda * weights_[k].cwiseAbs();
    if (k == 0 || !relu_[k - 1]) continue;
    const Eigen::VectorXd& u = layers.upper[k - 1];
    for (int64_t i = 0; i < u.size(); ++i) {
      if (u[i] <= 0) lambda[i] = 0.0;
    }
  }
  return lambda.transpose();
}

double NetworkBounds::RowBound(const Eigen::RowVectorXd& a, double c, const LayerBounds& layers,
                              const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, const LowerSlopes& alpha,
                              LowerSlopes* gradient, Eigen::RowVectorXd* coefficients, double* constant) const {
  const int64_t last = num_layers() - 1;
  // mu[k]: the bound's coefficients on layer k's inputs (the activations of layer k-1).
  std::vector<Eigen::RowVectorXd> mu(num_layers());
  Eigen::RowVectorXd lambda = a;
  double value = c;
  for (int64_t k = last; k >= 0; --k) {
    value += (lambda * biases_[k]).value();
    mu[k] = lambda * weights_[k];
    if (k == 0 || !relu_[k - 1]) {
      lambda = mu[k];
      continue;
    }
    const Eigen::VectorXd& l = layers.lower[k - 1];
    const Eigen::VectorXd& u = layers.upper[k - 1];
    lambda.resize(l.size());
    for (int64_t i = 0; i < l.size(); ++i) {
      const double m = mu[k][i];
      if (u[i] <= 0) {
        lambda[i] = 0.0;
      } else if (l[i] >= 0) {
        lambda[i] = m;
      } else if (m >= 0) {
        lambda[i] = alpha[k - 1][i] * m;
      } else {
        const double s = u[i] / (u[i] - l[i]);
        lambda[i] = s * m;
        value -= m * s * l[i];
      }
    }
  }
  const Eigen::RowVectorXd& input = mu[0];
  if (coefficients != nullptr) *coefficients = input;
  if (constant != nullptr) *constant = value;
  for (int64_t i = 0; i < input.size(); ++i) value += input[i] * (input[i] >= 0 ? lo[i] : hi[i]);
  if (gradient == nullptr) return value;
  // Reverse pass: d(value)/d(mu[k]) from the input upwards, and d(value)/d(alpha) on the way.
  gradient->assign(num_layers(), Eigen::VectorXd());
  Eigen::VectorXd g_mu(input.size());
  for (int64_t i = 0; i < input.size(); ++i) g_mu[i] = input[i] >= 0 ? lo[i] : hi[i];
  for (int64_t k = 0; k < last; ++k) {
    const Eigen::VectorXd g_lambda = biases_[k] + weights_[k] * g_mu;  // d(value)/d(lambda_k)
    if (!relu_[k]) {
      g_mu = g_lambda;
      continue;
    }
    const Eigen::VectorXd& l = layers.lower[k];
    const Eigen::VectorXd& u = layers.upper[k];
    const Eigen::RowVectorXd& m = mu[k + 1];
    Eigen::VectorXd& g_alpha = (*gradient)[k];
    g_alpha = Eigen::VectorXd::Zero(l.size());
    g_mu.resize(l.size());
    for (int64_t i = 0; i < l.size(); ++i) {
      if (u[i] <= 0) {
        g_mu[i] = 0.0;
      } else if (l[i] >= 0) {
        g_mu[i] = g_lambda[i];
      } else if (m[i] >= 0) {
        g_alpha[i] = g_lambda[i] * m[i];
        g_mu[i] = alpha[k][i] * g_lambda[i];
      } else {
        const double s = u[i] / (u[i] - l[i]);
        g_mu[i] = s * g_lambda[i] - s * l[i];
      }
    }
  }
  return value;
}

OutputBounds NetworkBounds::OptimizedLowerBound(const Eigen::RowVectorXd& a, double c, const LayerBounds& layers,
                                                const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                                                int iterations, LowerSlopes& alpha) const {
  const int64_t last = num_layers() - 1;
  LowerSlopes adaptive(num_layers());
  for (int64_t k = 0; k < last; ++k) {
    const Eigen::VectorXd& l = layers.lower[k];
    const Eigen::VectorXd& u = layers.upper[k];
    adaptive[k] = (u.array() > -l.array()).cast<double>().matrix();
  }
  LowerSlopes current = adaptive;
  if (static_cast<int64_t>(alpha.size()) == num_layers()) {
    for (int64_t k = 0; k < last; ++k) {
      if (alpha[k].size() == current[k].size()) current[k] = alpha[k].cwiseMax(0.0).cwiseMin(1.0);
    }
  }
  OutputBounds best;
  best.value.resize(1);
  best.constants.resize(1);
  Eigen::RowVectorXd coefficients;
  double constant = 0;
  best.value[0] = RowBound(a, c, layers, lo, hi, adaptive, nullptr, &coefficients, &constant);
  best.coefficients = coefficients;
  best.constants[0] = constant;
  alpha = adaptive;
  LowerSlopes gradient;
  for (int step = 0; step <= iterations; ++step) {
    const bool last_step = step == iterations;
    const double value = RowBound(a, c, layers, lo, hi, current, last_step ? nullptr : &gradient, &coefficients,
                                  &constant);
    if (value > best.value[0]) {
      best.value[0] = value;
      best.coefficients = coefficients;
      best.constants[0] = constant;
      alpha = current;
    }
    if (last_step) break;
    // Normalised ascent step with a decaying size, projected onto [0, 1].
    double scale = 0.0;
    for (int64_t k = 0; k < last; ++k) {
      if (gradient[k].size() > 0) scale = std::max(scale, gradient[k].cwiseAbs().maxCoeff());
    }
    if (scale <= 0.0) break;
    const double size = 0.5 * std::pow(0.5, step * 4.0 / std::max(1, iterations)) / scale;
    for (int64_t k = 0; k < last; ++k) {
      if (gradient[k].size() > 0) current[k] = (current[k] + size * gradient[k]).cwiseMax(0.0).cwiseMin(1.0);
    }
  }
  return best;
}

}  // namespace crucible
