#include "engines/verify/smt.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <cstdlib>

#include <z3++.h>

#include "absl/strings/str_cat.h"

namespace crucible {
namespace {

// The decimal value of v to 17 significant digits as an exact rational
// numeral (Z3's numeral parser is safest without exponents).
z3::expr Number(z3::context& ctx, double v) {
  if (v == 0.0 || !std::isfinite(v)) return ctx.real_val(0);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.16e", std::abs(v));  // d.dddddddddddddddde[+-]xx
  const std::string text(buffer);
  const size_t e = text.find('e');
  std::string digits = text.substr(0, 1) + text.substr(2, e - 2);
  const int exponent = std::atoi(text.c_str() + e + 1) - 16;
  std::string numeral = exponent >= 0 ? digits + std::string(exponent, '0')
                                      : digits + "/1" + std::string(-exponent, '0');
  z3::expr value = ctx.real_val(numeral.c_str());
  return v < 0 ? -value : value;
}

double ToDouble(const z3::expr& value) {
  std::string s = value.get_decimal_string(25);
  if (!s.empty() && s.back() == '?') s.pop_back();
  return std::strtod(s.c_str(), nullptr);
}

// Sum of coefficient * term over non-zero coefficients, plus a constant.
z3::expr Affine(z3::context& ctx, const double* coefficients, const z3::expr_vector& terms, double constant) {
  z3::expr_vector parts(ctx);
  for (unsigned i = 0; i < terms.size(); ++i) {
    if (coefficients[i] != 0.0) parts.push_back(Number(ctx, coefficients[i]) * terms[i]);
  }
  parts.push_back(Number(ctx, constant));
  return z3::sum(parts);
}

SmtResult Solve(z3::context& ctx, const AffineNetwork& net, const LayerBounds& bounds, const Eigen::VectorXd& lo,
                const Eigen::VectorXd& hi, const std::vector<const std::vector<OutputConstraint>*>& cases,
                double timeout_seconds) {
  z3::solver solver(ctx, "QF_LRA");
  z3::params params(ctx);
  params.set("timeout", static_cast<unsigned>(std::max(1.0, timeout_seconds * 1000.0)));
  solver.set(params);
  z3::expr_vector inputs(ctx);
  for (int64_t i = 0; i < net.input_size(); ++i) {
    z3::expr x = ctx.real_const(absl::StrCat("x", i).c_str());
    solver.add(x >= Number(ctx, lo[i]) && x <= Number(ctx, hi[i]));
    inputs.push_back(x);
  }
  z3::expr_vector values = inputs;
  for (size_t k = 0; k < net.layers.size(); ++k) {
    const AffineLayer& layer = net.layers[k];
    z3::expr_vector next(ctx);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      const z3::expr pre = Affine(ctx, &layer.weights[o * layer.inputs], values, layer.bias[o]);
      z3::expr z = ctx.real_const(absl::StrCat("z", k, "_", o).c_str());
      solver.add(z == pre);
      if (!layer.relu) {
        next.push_back(z);
        continue;
      }
      const double l = bounds.lower[k][o], u = bounds.upper[k][o];
      if (u <= 0) {
        solver.add(z <= 0);
        next.push_back(ctx.real_val(0));
      } else if (l >= 0) {
        solver.add(z >= 0);
        next.push_back(z);
      } else {
        z3::expr a = ctx.real_const(absl::StrCat("a", k, "_", o).c_str());
        const double s = u / (u - l);
        solver.add(z >= Number(ctx, l) && z <= Number(ctx, u));
        solver.add(a >= 0 && a >= z && a <= Number(ctx, s) * z - Number(ctx, s * l));
        solver.add(z3::implies(z >= 0, a == z) && z3::implies(z <= 0, a == 0));
        next.push_back(a);
      }
    }
    values = next;
  }
  z3::expr_vector disjuncts(ctx);
  for (const std::vector<OutputConstraint>* constraints : cases) {
    z3::expr_vector conjuncts(ctx);
    for (const OutputConstraint& c : *constraints) {
      conjuncts.push_back(Affine(ctx, c.coefficients.data(), values, 0.0) <= Number(ctx, c.bound));
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
      for (int64_t i = 0; i < net.input_size(); ++i) {
        result.input.push_back(std::clamp(ToDouble(model.eval(inputs[static_cast<int>(i)], true)), lo[i], hi[i]));
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
                          double timeout_seconds, Z3Interrupter* interrupter) {
  SmtResult result;
  try {
    z3::context ctx;
    if (interrupter != nullptr && !interrupter->Register(&ctx)) {
      result.reason = "interrupted";
      return result;
    }
    try {
      result = Solve(ctx, net, bounds, lo, hi, cases, timeout_seconds);
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
