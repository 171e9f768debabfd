// Falsification pre-pass: looks for an input in a property case's box whose
// outputs meet all of the case's constraints, with uniform random samples and
// then projected gradient descent (sign steps with a decaying size, random
// restarts) on the case's margin max_j (c_j·y − d_j), which is ≤ 0 exactly
// at violations. Runs on the double network; whatever it returns is only a
// candidate — callers re-check it with the executor before reporting it.
//
//   FalsifyOptions options{.samples = 2000, .restarts = 5, .steps = 100, .seed = 1};
//   std::optional<std::vector<double>> x = Falsify(net, property_case, options, cancelled);
#ifndef CRUCIBLE_ENGINES_VERIFY_FALSIFY_H_
#define CRUCIBLE_ENGINES_VERIFY_FALSIFY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engines/verify/network.h"
#include "engines/verify/vnnlib.h"

namespace crucible {

struct FalsifyOptions {
  int samples = 2000;
  int restarts = 5;
  int steps = 100;
  uint64_t seed = 1;
};

// The case's margin at `output`: max_j (c_j·y − d_j); ≤ 0 when all constraints hold.
double CaseMargin(const PropertyCase& c, const std::vector<double>& output);

// nullopt when nothing was found (or `cancelled` returned true).
std::optional<std::vector<double>> Falsify(const AffineNetwork& net, const PropertyCase& c,
                                           const FalsifyOptions& options, const std::function<bool()>& cancelled);

// Projected gradient descent (sign steps decaying from 10% to 0.1% of each
// width) on the case's margin inside the box [lo, hi] (a sub-box of the
// case's, e.g. a branch-and-bound domain), starting from `start`. Returns the
// first point with a negative margin, or nullopt after `steps` steps.
// REQUIRES: lo, hi, start have net.input_size() values, start inside [lo, hi].
std::optional<std::vector<double>> DescendInBox(const AffineNetwork& net, const PropertyCase& c,
                                                const std::vector<double>& lo, const std::vector<double>& hi,
                                                std::vector<double> start, int steps);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_FALSIFY_H_
