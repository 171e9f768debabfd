#include "engines/verify/smt.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <cstdlib>

#include <z3++.h>

#include "absl/strings/str_cat.h"

namespace crucible {
namespace {

// Decimal digits of 2^k.
std::string PowerOfTwo(int k) {
  std::vector<int> digits{1};  // little-endian
  for (int i = 0; i < k; ++i) {
    int carry = 0;
    for (int& d : digits) {
      const int v = d * 2 + carry;
      d = v % 10;
      carry = v / 10;
    }
    if (carry > 0) digits.push_back(carry);
  }
  std::string out;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(static_cast<char>('0' + *it));
  return out;
}

enum class Round { kNearest, kDown, kUp };

// Fixed-point grid of the numerals Z3 sees: values below 2^14 in magnitude
// are rounded to multiples of 2^-kGridBits. Exact doubles can carry
// denominators up to 2^1074 (from rounding noise in the composed
// coefficients), and Z3's exact arithmetic on those ignores timeouts and
// interrupts. Bounds are rounded outwards and the output constraints get
// kOutputSlack, so the rounding only enlarges the query: UNSAT stays sound,
// SAT answers are re-checked anyway.
constexpr int kGridBits = 48;
constexpr double kOutputSlack = 1e-8;

std::string Fraction(int64_t numerator, int shift) {  // numerator / 2^shift, reduced
  while (shift > 0 && (numerator & 1) == 0) {
    numerator >>= 1;
    --shift;
  }
  std::string numeral = std::to_string(numerator);
  if (shift > 0) {
    numeral.push_back('/');
    numeral.append(PowerOfTwo(shift));
  }
  return numeral;
}

z3::expr Number(z3::context& ctx, double v, Round round = Round::kNearest) {
  if (v == 0.0 || !std::isfinite(v)) return ctx.real_val(0);
  if (std::abs(v) < 16384.0) {
    const double scaled = std::ldexp(v, kGridBits);  // exact
    const double r = round == Round::kDown ? std::floor(scaled) : round == Round::kUp ? std::ceil(scaled)
                                                                                       : std::nearbyint(scaled);
    if (r == 0.0) return ctx.real_val(0);
    const int64_t m = static_cast<int64_t>(r);
    z3::expr value = ctx.real_val(Fraction(m < 0 ? -m : m, kGridBits).c_str());
    return m < 0 ? -value : value;
  }
  int exponent;
  const double fraction = std::frexp(std::abs(v), &exponent);  // |v| = fraction * 2^exponent
  const int64_t mantissa = static_cast<int64_t>(std::ldexp(fraction, 53));
  const int shift = 53 - exponent;  // |v| = mantissa / 2^shift, shift < 40 here
  z3::expr value = ctx.real_val(Fraction(mantissa, std::max(shift, 0)).c_str());
  if (shift < 0) value = value * ctx.real_val(PowerOfTwo(-shift).c_str());
  return v < 0 ? -value : value;
}

double ToDouble(const z3::expr& value) {
  std::string s = value.get_decimal_string(25);
  if (!s.empty() && s.back() == '?') s.pop_back();
  return std::strtod(s.c_str(), nullptr);
}

// Sum of coefficients[i] * terms[i] plus a constant.
z3::expr Affine(z3::context& ctx, const Eigen::VectorXd& coefficients, const z3::expr_vector& terms, double constant) {
  z3::expr_vector parts(ctx);
  for (unsigned i = 0; i < terms.size(); ++i) {
    if (coefficients[i] != 0.0) parts.push_back(Number(ctx, coefficients[i]) * terms[i]);
  }
  parts.push_back(Number(ctx, constant));
  return z3::sum(parts);
}

// A ReLU counts as stable only with a clear margin; near-zero bounds are encoded exactly.
constexpr double kStableMargin = 1e-9;
// Fixed phases are relaxed by this much so that numeral rounding cannot cut off a real input.
constexpr double kPhaseSlack = 1e-9;

SmtResult Solve(z3::context& ctx, const AffineNetwork& net, const LayerBounds& bounds, const Eigen::VectorXd& lo,
                const Eigen::VectorXd& hi, const std::vector<const std::vector<OutputConstraint>*>& cases,
                double timeout_seconds, const ReluSplits* phases) {
  z3::solver solver(ctx, "QF_LRA");
  z3::params params(ctx);
  params.set("timeout", static_cast<unsigned>(std::max(1.0, timeout_seconds * 1000.0)));
  solver.set(params);
  // Basis: the inputs, then one variable per unstable ReLU output. Every
  // pre-activation is an affine function of the basis (stable ReLUs are
  // composed away in double precision), so Z3 sees a few variables only.
  const int64_t n_in = net.input_size();
  int64_t unstable = 0;
  auto phase = [phases](size_t k, int64_t i) -> int8_t {
    return phases == nullptr || k >= phases->size() || (*phases)[k].empty() ? 0 : (*phases)[k][i];
  };
  for (size_t k = 0; k + 1 < net.layers.size(); ++k) {
    if (!net.layers[k].relu) continue;
    for (int64_t i = 0; i < net.layers[k].outputs; ++i) {
      if (phase(k, i) != 0) continue;
      unstable += !(bounds.lower[k][i] >= kStableMargin || bounds.upper[k][i] <= -kStableMargin);
    }
  }
  const int64_t basis_size = n_in + unstable;
  z3::expr_vector basis(ctx);
  for (int64_t i = 0; i < n_in; ++i) {
    z3::expr x = ctx.real_const(absl::StrCat("x", i).c_str());
    solver.add(x >= Number(ctx, lo[i], Round::kDown) && x <= Number(ctx, hi[i], Round::kUp));
    basis.push_back(x);
  }
  // Activations of the current layer: rows = neurons, columns = basis + constant.
  Eigen::MatrixXd activations = Eigen::MatrixXd::Zero(n_in, basis_size + 1);
  activations.leftCols(n_in).setIdentity();
  for (size_t k = 0; k < net.layers.size(); ++k) {
    const AffineLayer& layer = net.layers[k];
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> w(
        layer.weights.data(), layer.outputs, layer.inputs);
    Eigen::MatrixXd pre = w * activations;
    for (int64_t o = 0; o < layer.outputs; ++o) pre(o, basis_size) += layer.bias[o];
    if (!layer.relu) {
      activations = std::move(pre);
      continue;
    }
    for (int64_t o = 0; o < layer.outputs; ++o) {
      if (const int8_t fixed = phase(k, o); fixed != 0) {
        const z3::expr z = Affine(ctx, pre.row(o).head(basis.size()).transpose(), basis, pre(o, basis_size));
        solver.add(fixed > 0 ? z >= Number(ctx, -kPhaseSlack) : z <= Number(ctx, kPhaseSlack));
        if (fixed < 0) pre.row(o).setZero();
        continue;
      }
      const double l = bounds.lower[k][o], u = bounds.upper[k][o];
      if (l >= kStableMargin) continue;  // active: the activation is the pre-activation
      if (u <= -kStableMargin) {
        pre.row(o).setZero();
        continue;
      }
      const int64_t column = basis.size();
      const z3::expr z = Affine(ctx, pre.row(o).head(basis.size()).transpose(), basis, pre(o, basis_size));
      z3::expr a = ctx.real_const(absl::StrCat("a", k, "_", o).c_str());
      solver.add(z >= Number(ctx, std::min(l, 0.0) - 1e-9, Round::kDown) &&
                 z <= Number(ctx, std::max(u, 0.0) + 1e-9, Round::kUp));
      solver.add(a >= 0 && a >= z);
      solver.add(z3::implies(z >= 0, a == z) && z3::implies(z <= 0, a == 0));
      basis.push_back(a);
      pre.row(o).setZero();
      pre(o, column) = 1.0;
    }
    activations = std::move(pre);
  }
  z3::expr_vector disjuncts(ctx);
  for (const std::vector<OutputConstraint>* constraints : cases) {
    z3::expr_vector conjuncts(ctx);
    for (const OutputConstraint& c : *constraints) {
      const Eigen::Map<const Eigen::RowVectorXd> coefficients(c.coefficients.data(), c.coefficients.size());
      const Eigen::RowVectorXd row = coefficients * activations;
      conjuncts.push_back(Affine(ctx, row.head(basis.size()).transpose(), basis, row[basis_size]) <=
                          Number(ctx, c.bound + kOutputSlack, Round::kUp));
    }
    disjuncts.push_back(conjuncts.empty() ? ctx.bool_val(true) : z3::mk_and(conjuncts));
  }
  solver.add(z3::mk_or(disjuncts));
  SmtResult result;
  switch (solver.check()) {
    case z3::unsat:
      result.answer = SmtAnswer::kUnsat;
      break;
    case z3::sat: {
      result.answer = SmtAnswer::kSat;
      z3::model model = solver.get_model();
      for (int64_t i = 0; i < n_in; ++i) {
        result.input.push_back(std::clamp(ToDouble(model.eval(basis[static_cast<int>(i)], true)), lo[i], hi[i]));
      }
      break;
    }
    case z3::unknown:
      result.reason = solver.reason_unknown();
      break;
  }
  return result;
}

}  // namespace

bool Z3Interrupter::Register(z3::context* context) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (interrupted_) return false;
  active_.insert(context);
  return true;
}

void Z3Interrupter::Unregister(z3::context* context) {
  std::lock_guard<std::mutex> lock(mutex_);
  active_.erase(context);
}

void Z3Interrupter::Interrupt() {
  std::lock_guard<std::mutex> lock(mutex_);
  interrupted_ = true;
  for (z3::context* c : active_) c->interrupt();
}

bool Z3Interrupter::interrupted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return interrupted_;
}

SmtResult CheckLeafWithZ3(const AffineNetwork& net, const LayerBounds& bounds, const Eigen::VectorXd& lo,
                          const Eigen::VectorXd& hi, const std::vector<const std::vector<OutputConstraint>*>& cases,
                          double timeout_seconds, Z3Interrupter* interrupter, const ReluSplits* phases) {
  SmtResult result;
  try {
    z3::context ctx;
    if (interrupter != nullptr && !interrupter->Register(&ctx)) {
      result.reason = "interrupted";
      return result;
    }
    try {
      result = Solve(ctx, net, bounds, lo, hi, cases, timeout_seconds, phases);
    } catch (...) {
      if (interrupter != nullptr) interrupter->Unregister(&ctx);
      throw;
    }
    if (interrupter != nullptr) interrupter->Unregister(&ctx);
  } catch (const z3::exception& e) {
    result = SmtResult{};
    result.reason = absl::StrCat("Z3: ", e.msg());
  }
  return result;
}

}  // namespace crucible
