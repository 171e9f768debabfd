#include "engines/verify/dlv_layer_refinement.h"

#include <z3++.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"

namespace crucible {
namespace {

constexpr int kWitnessRounds = 6;
constexpr int kConfirmRounds = 3;
constexpr int kSamples = 32;
// A witness widens a span this fraction past itself, so rounds converge fast.
constexpr double kWitnessOvershoot = 0.25;

// Decimal digits of 2^e, e >= 0, computed once per exponent.
const std::string& PowerOfTwo(int e) {
  static const std::vector<std::string> powers = [] {
    std::vector<std::string> p{"1"};
    std::vector<int> digits{1};  // least significant first
    for (int i = 1; i <= 1100; ++i) {
      int carry = 0;
      for (int& d : digits) {
        const int v = d * 2 + carry;
        d = v % 10;
        carry = v / 10;
      }
      if (carry) digits.push_back(carry);
      p.emplace_back(digits.rbegin(), digits.rend());
      for (char& c : p.back()) c = static_cast<char>('0' + c);
    }
    return p;
  }();
  return powers[e];
}

// Decimal digits of `decimal` times `factor`.
std::string Multiply(const std::string& decimal, uint64_t factor) {
  std::vector<unsigned __int128> digits;
  for (auto it = decimal.rbegin(); it != decimal.rend(); ++it) digits.push_back(*it - '0');
  unsigned __int128 carry = 0;
  for (auto& d : digits) {
    const unsigned __int128 v = d * factor + carry;
    d = v % 10;
    carry = v / 10;
  }
  while (carry) {
    digits.push_back(carry % 10);
    carry /= 10;
  }
  std::string out;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(static_cast<char>('0' + *it));
  return out;
}

// The exact rational value of a finite double.
z3::expr Exact(z3::context& ctx, double v) {
  if (v == 0.0) return ctx.real_val(0);
  int exponent = 0;
  const double fraction = std::frexp(std::fabs(v), &exponent);
  uint64_t mantissa = static_cast<uint64_t>(std::ldexp(fraction, 53));
  int e = exponent - 53;
  while ((mantissa & 1) == 0) {
    mantissa >>= 1;
    ++e;
  }
  const std::string sign = v < 0 ? "-" : "";
  const std::string text = e >= 0 ? absl::StrCat(sign, Multiply(PowerOfTwo(e), mantissa))
                                  : absl::StrCat(sign, mantissa, "/", PowerOfTwo(-e));
  return ctx.real_val(text.c_str());
}

// Exact W_o x + b_o over the solver variables x.
z3::expr AffineRow(z3::context& ctx, const AffineLayer& layer, int64_t o, const z3::expr_vector& x) {
  z3::expr_vector terms(ctx);
  const double* w = &layer.weights[o * layer.inputs];
  for (int64_t i = 0; i < layer.inputs; ++i) {
    if (w[i] != 0.0) terms.push_back(Exact(ctx, w[i]) * x[static_cast<unsigned>(i)]);
  }
  terms.push_back(Exact(ctx, layer.bias[o]));
  return z3::sum(terms);
}

// Real variables bounded by `box`; `fixed` dims (lower == upper) become numerals.
z3::expr_vector BoxVariables(z3::context& ctx, z3::solver& solver, const LayerBox& box, const std::string& prefix) {
  z3::expr_vector vars(ctx);
  for (int64_t i = 0; i < box.size(); ++i) {
    if (box.lower[i] == box.upper[i]) {
      vars.push_back(Exact(ctx, box.lower[i]));
      continue;
    }
    z3::expr v = ctx.real_const(absl::StrCat(prefix, i).c_str());
    solver.add(v >= Exact(ctx, box.lower[i]));
    solver.add(v <= Exact(ctx, box.upper[i]));
    vars.push_back(v);
  }
  return vars;
}

std::vector<double> ModelValues(const z3::model& model, const z3::expr_vector& vars) {
  std::vector<double> values;
  values.reserve(vars.size());
  for (unsigned i = 0; i < vars.size(); ++i) {
    const z3::expr value = model.eval(vars[i], true);
    values.push_back(std::stod(value.get_decimal_string(20).c_str()));
  }
  return values;
}

// One solver call under the budget: the time left (at most max_call_seconds)
// and a watcher that interrupts Z3 when the job is cancelled.
SmtAnswer Check(z3::context& ctx, z3::solver& solver, const SmtBudget& budget, Z3Stats& stats) {
  const double left = absl::ToDoubleSeconds(budget.deadline - absl::Now());
  if (left <= 0) return SmtAnswer::kTimeout;
  if (budget.cancelled && budget.cancelled()) return SmtAnswer::kCancelled;
  z3::params params(ctx);
  params.set("timeout", static_cast<unsigned>(std::max(1.0, std::min(left, budget.max_call_seconds) * 1000)));
  solver.set(params);
  std::atomic<bool> done{false};
  std::atomic<bool> interrupted{false};
  std::thread watcher([&] {
    while (!done.load()) {
      if (budget.cancelled && budget.cancelled()) {
        interrupted = true;
        ctx.interrupt();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const auto start = std::chrono::steady_clock::now();
  z3::check_result result = z3::unknown;
  try {
    result = solver.check();
  } catch (...) {
    done = true;
    watcher.join();
    throw;
  }
  done = true;
  watcher.join();
  ++stats.calls;
  stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result == z3::unsat) return SmtAnswer::kUnsat;
  if (result == z3::sat) return SmtAnswer::kSat;
  if (interrupted) return SmtAnswer::kCancelled;
  const std::string reason = solver.reason_unknown();
  if (reason.find("timeout") != std::string::npos || reason.find("canceled") != std::string::npos) {
    return SmtAnswer::kTimeout;
  }
  return SmtAnswer::kUnknown;
}

std::vector<double> Image(const AffineLayer& layer, const std::vector<double>& x) {
  std::vector<double> y(layer.bias);
  for (int64_t o = 0; o < layer.outputs; ++o) {
    const double* w = &layer.weights[o * layer.inputs];
    for (int64_t i = 0; i < layer.inputs; ++i) y[o] += w[i] * x[i];
    if (layer.relu) y[o] = std::max(y[o], 0.0);
  }
  return y;
}

// Widens `region` so that it contains `value` (past it by the overshoot); true if it changed.
bool WidenTo(LayerBox& region, const std::vector<double>& center, const std::vector<double>& value) {
  bool changed = false;
  for (int64_t o = 0; o < region.size(); ++o) {
    if (value[o] > region.upper[o]) {
      region.upper[o] = value[o] + kWitnessOvershoot * (value[o] - center[o]);
      changed = true;
    } else if (value[o] < region.lower[o]) {
      region.lower[o] = value[o] - kWitnessOvershoot * (center[o] - value[o]);
      changed = true;
    }
  }
  return changed;
}

}  // namespace

absl::StatusOr<CoverageResult> RefineLayerRegion(const AffineLayer& layer, const LayerBox& previous,
                                                 const std::vector<double>& center, uint64_t seed,
                                                 const SmtBudget& budget, Z3Stats& stats) {
  CoverageResult result;
  result.region.lower = center;
  result.region.upper = center;
  // First guess: the images of sampled vertices and interior points of the previous region.
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> sample(previous.size());
  for (int s = 0; s < kSamples; ++s) {
    for (int64_t i = 0; i < previous.size(); ++i) {
      const double t = s % 2 == 0 ? (unit(rng) < 0.5 ? 0.0 : 1.0) : unit(rng);
      sample[i] = previous.lower[i] + t * (previous.upper[i] - previous.lower[i]);
    }
    const std::vector<double> image = Image(layer, sample);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      result.region.lower[o] = std::min(result.region.lower[o], image[o]);
      result.region.upper[o] = std::max(result.region.upper[o], image[o]);
    }
  }

  z3::context ctx;
  z3::solver solver(ctx, "QF_LRA");
  const z3::expr_vector x = BoxVariables(ctx, solver, previous, "a");
  std::vector<z3::expr> rows;
  rows.reserve(layer.outputs);
  for (int64_t o = 0; o < layer.outputs; ++o) rows.push_back(AffineRow(ctx, layer, o, x));
  for (int round = 0; round < kWitnessRounds + kConfirmRounds; ++round) {
    if (round == kWitnessRounds) {
      // Join the interval image, widened past the rounding of its sums.
      const LayerBox image = IntervalImage(layer, previous);
      for (int64_t o = 0; o < layer.outputs; ++o) {
        const double slack = 1e-9 * (1.0 + std::fabs(image.lower[o]) + std::fabs(image.upper[o]));
        result.region.lower[o] = std::min(result.region.lower[o], image.lower[o] - slack);
        result.region.upper[o] = std::max(result.region.upper[o], image.upper[o] + slack);
        if (layer.relu) result.region.lower[o] = std::max(result.region.lower[o], 0.0);
      }
    }
    // Escape: some neuron's image leaves the region. ReLU(z) > u iff z > u
    // (u >= 0); ReLU(z) < l only if l > 0, and then iff z < l.
    solver.push();
    z3::expr_vector escapes(ctx);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      escapes.push_back(rows[o] > Exact(ctx, result.region.upper[o]));
      if (!layer.relu || result.region.lower[o] > 0) escapes.push_back(rows[o] < Exact(ctx, result.region.lower[o]));
    }
    solver.add(z3::mk_or(escapes));
    result.last = Check(ctx, solver, budget, stats);
    if (result.last == SmtAnswer::kSat) {
      const std::vector<double> witness = ModelValues(solver.get_model(), x);
      solver.pop();
      ++result.rounds;
      if (!WidenTo(result.region, center, Image(layer, witness))) {
        // The double image of the witness stays inside: widen by rounding's worth everywhere it is tight.
        for (int64_t o = 0; o < layer.outputs; ++o) {
          result.region.upper[o] += 1e-9 * (1.0 + std::fabs(result.region.upper[o]));
          if (!layer.relu || result.region.lower[o] > 0) {
            result.region.lower[o] -= 1e-9 * (1.0 + std::fabs(result.region.lower[o]));
          }
        }
      }
      continue;
    }
    solver.pop();
    result.covered = result.last == SmtAnswer::kUnsat;
    return result;
  }
  return result;
}

absl::StatusOr<RegionCheck> CheckRegionSafe(const AffineNetwork& net, int k, const LayerBox& region, int64_t label,
                                            const SmtBudget& budget, Z3Stats& stats) {
  z3::context ctx;
  z3::solver solver(ctx, "QF_LRA");
  const z3::expr_vector start = BoxVariables(ctx, solver, region, "a");
  z3::expr_vector current = start;
  LayerBox bounds = region;
  for (size_t i = k; i < net.layers.size(); ++i) {
    const AffineLayer& layer = net.layers[i];
    AffineLayer linear = layer;
    linear.relu = false;
    const LayerBox pre = IntervalImage(linear, bounds);
    z3::expr_vector next(ctx);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      z3::expr z = AffineRow(ctx, layer, o, current);
      if (!layer.relu || pre.lower[o] >= 0) {
        next.push_back(z);
      } else if (pre.upper[o] <= 0) {
        next.push_back(ctx.real_val(0));
      } else {
        z3::expr y = ctx.real_const(absl::StrCat("r", i, "_", o).c_str());
        solver.add(y >= 0 && y >= z);
        solver.add((z >= 0 && y == z) || (z <= 0 && y == 0));
        next.push_back(y);
      }
    }
    bounds = IntervalImage(layer, bounds);
    current = next;
  }
  z3::expr_vector violations(ctx);
  for (unsigned j = 0; j < current.size(); ++j) {
    if (static_cast<int64_t>(j) != label) violations.push_back(current[j] >= current[static_cast<unsigned>(label)]);
  }
  solver.add(z3::mk_or(violations));
  RegionCheck check;
  check.answer = Check(ctx, solver, budget, stats);
  if (check.answer == SmtAnswer::kSat) check.witness = ModelValues(solver.get_model(), start);
  return check;
}

}  // namespace crucible
