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

constexpr int kWitnessRounds = 2;
constexpr int kConfirmRounds = 3;
constexpr int64_t kChunk = 1;
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

// Coverage queries use dyadic numerals n / 2^kDyadicBits instead of the
// doubles' exact values: with exact values (denominators up to 2^60 and more)
// each Z3 call is hundreds of times slower. The rounding is made sound by
// widening: the previous box is rounded outwards, and each query's threshold
// moves by the largest error the rounded weights can make over that box.
constexpr int kDyadicBits = 20;
constexpr double kDyadicScale = 1 << kDyadicBits;

enum class Round { kNearest, kDown, kUp };

double Dyadic(double v, Round mode) {
  const double scaled = v * kDyadicScale;
  const double n = mode == Round::kNearest ? std::nearbyint(scaled) : mode == Round::kDown ? std::floor(scaled)
                                                                                          : std::ceil(scaled);
  return n / kDyadicScale;
}

z3::expr DyadicValue(z3::context& ctx, double dyadic) {
  return ctx.real_val(absl::StrCat(static_cast<int64_t>(dyadic * kDyadicScale), "/", 1 << kDyadicBits).c_str());
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
  LayerBox rounded = previous;
  for (int64_t i = 0; i < rounded.size(); ++i) {
    rounded.lower[i] = Dyadic(previous.lower[i], Round::kDown);
    rounded.upper[i] = Dyadic(previous.upper[i], Round::kUp);
  }
  z3::expr_vector x(ctx);
  for (int64_t i = 0; i < rounded.size(); ++i) {
    if (rounded.lower[i] == rounded.upper[i]) {
      x.push_back(DyadicValue(ctx, rounded.lower[i]));
      continue;
    }
    z3::expr v = ctx.real_const(absl::StrCat("a", i).c_str());
    solver.add(v >= DyadicValue(ctx, rounded.lower[i]) && v <= DyadicValue(ctx, rounded.upper[i]));
    x.push_back(v);
  }
  const LayerBox image = IntervalImage(layer, previous);
  // Rounded rows, and the most each can differ from the exact one over the rounded box.
  std::vector<z3::expr> rows;
  std::vector<double> errors(layer.outputs);
  for (int64_t o = 0; o < layer.outputs; ++o) {
    z3::expr_vector terms(ctx);
    const double* w = &layer.weights[o * layer.inputs];
    double error = std::fabs(layer.bias[o] - Dyadic(layer.bias[o], Round::kNearest));
    for (int64_t i = 0; i < layer.inputs; ++i) {
      const double rounded_weight = Dyadic(w[i], Round::kNearest);
      error += std::fabs(w[i] - rounded_weight) * std::max(std::fabs(rounded.lower[i]), std::fabs(rounded.upper[i]));
      if (rounded_weight != 0.0) terms.push_back(DyadicValue(ctx, rounded_weight) * x[static_cast<unsigned>(i)]);
    }
    terms.push_back(DyadicValue(ctx, Dyadic(layer.bias[o], Round::kNearest)));
    rows.push_back(z3::sum(terms));
    errors[o] = error * (1.0 + 1e-9) + 1e-12;
  }
  // Escapes are asked for kChunk neurons at a time: measured on the fixture
  // MLP, a disjunction over 32 neurons or the whole layer times out where
  // one neuron's two sides take milliseconds. ReLU(z) > u
  // iff z > u (u >= 0); ReLU(z) < l only if l > 0, and then iff z < l. The
  // exact value passing a side implies the rounded one passes it less `error`.
  // Spans only grow, so an UNSAT answer stays valid.
  for (int64_t begin = 0; begin < layer.outputs; begin += kChunk) {
    const int64_t end = std::min<int64_t>(layer.outputs, begin + kChunk);
    for (int attempt = 0;; ++attempt) {
      if (attempt == kWitnessRounds) {
        // Witnesses converge slowly here: take the interval image, widened past the rounding.
        for (int64_t o = begin; o < end; ++o) {
          const double slack = 2 * errors[o] + 1e-9 * (1.0 + std::fabs(image.lower[o]) + std::fabs(image.upper[o]));
          result.region.upper[o] = std::max(result.region.upper[o], image.upper[o] + slack);
          result.region.lower[o] = std::min(result.region.lower[o], image.lower[o] - slack);
          if (layer.relu) result.region.lower[o] = std::max(result.region.lower[o], 0.0);
        }
      }
      z3::expr_vector escapes(ctx);
      for (int64_t o = begin; o < end; ++o) {
        escapes.push_back(rows[o] > DyadicValue(ctx, Dyadic(result.region.upper[o] - errors[o], Round::kDown)));
        if (!layer.relu || result.region.lower[o] > 0) {
          escapes.push_back(rows[o] < DyadicValue(ctx, Dyadic(result.region.lower[o] + errors[o], Round::kUp)));
        }
      }
      solver.push();
      solver.add(z3::mk_or(escapes));
      result.last = Check(ctx, solver, budget, stats);
      if (result.last != SmtAnswer::kSat) {
        solver.pop();
        if (result.last != SmtAnswer::kUnsat) return result;
        break;
      }
      const std::vector<double> witness = ModelValues(solver.get_model(), x);
      solver.pop();
      ++result.rounds;
      if (!WidenTo(result.region, center, Image(layer, witness))) {
        // The witness's exact image stays inside: only rounding passed a threshold; widen the chunk by it.
        for (int64_t o = begin; o < end; ++o) {
          result.region.upper[o] += 2 * errors[o] + 1e-9 * (1.0 + std::fabs(result.region.upper[o]));
          if (!layer.relu || result.region.lower[o] > 0) {
            result.region.lower[o] -= 2 * errors[o] + 1e-9 * (1.0 + std::fabs(result.region.lower[o]));
          }
        }
      }
      if (attempt > kWitnessRounds + kConfirmRounds) return result;
    }
  }
  result.covered = true;
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
