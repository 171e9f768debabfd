// VNN-LIB properties (the VNN-COMP subset) parsed into input boxes and output
// constraints.
//
// Accepted: comments (';' to end of line), (declare-const X_i Real) and
// (declare-const Y_j Real) with indices 0..n-1, and (assert F) where F is
// built from (and F...), (or F...), (<= a b), (>= a b), (< a b), (> a b)
// (strict comparisons are read as non-strict, as VNN-COMP does) over linear
// terms: numbers, variables, (+ t...), (- t...), (* number t). Every atom
// must bound one input variable or involve output variables only.
//
// The conjunction of all asserts is put in disjunctive normal form. Each
// disjunct becomes a PropertyCase: an input box and a conjunction of linear
// output constraints. The property is VIOLATED (SAT) iff some case has an
// input in its box whose network output meets all of its constraints — i.e.
// the asserts describe the unsafe region, as in VNN-COMP.
//
// Errors are INVALID_ARGUMENT naming the line and the token.
//
//   ASSIGN_OR_RETURN(Property p, ParseVnnLib(text));
//   for (const PropertyCase& c : p.cases) { ... c.input_lower, c.constraints ... }
#ifndef CRUCIBLE_ENGINES_VERIFY_VNNLIB_H_
#define CRUCIBLE_ENGINES_VERIFY_VNNLIB_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace crucible {

// sum_j coefficients[j] * Y_j <= bound.
struct OutputConstraint {
  std::vector<double> coefficients;  // one per output
  double bound = 0.0;

  double Slack(const std::vector<double>& outputs) const;  // bound - lhs; >= 0 when met
};

struct PropertyCase {
  std::vector<double> input_lower;
  std::vector<double> input_upper;
  std::vector<OutputConstraint> constraints;  // all must hold for a violation
};

struct Property {
  int64_t num_inputs = 0;
  int64_t num_outputs = 0;
  std::vector<PropertyCase> cases;  // any one violated: the property is violated
  // The 1-based line of each declare-const, for error messages: first X_0, then Y_0.
  int first_input_line = 0;
  int first_output_line = 0;

  // True if `input` lies in case `c`'s box and `output` meets all its constraints.
  bool Violates(const PropertyCase& c, const std::vector<double>& input, const std::vector<double>& output) const;
};

absl::StatusOr<Property> ParseVnnLib(std::string_view text);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_VNNLIB_H_
