// PhaseQuery: the question every NAP verification query reduces to — is
// there an input in a box whose fixed ReLUs are in their phases and whose
// outputs meet all constraints of at least one case? NAP => class is the
// NAP's phases with one case y_c - y_j <= 0 per other label j; exclusivity is
// both NAPs' phases and one case without constraints; robustness is an
// ε-box with or without the NAP's phases and the class cases.
//
// Phases use the ReluSplits layout (one vector per AffineNetwork layer,
// +1 active: z >= 0, -1 inactive: z <= 0, 0 free) and are read as closed
// constraints, so a proof (no such input) covers the NAP's strict states too.
//
//   PhaseQuery q{.lower = lo, .upper = hi, .phases = PhaseQuery::FreePhases(net),
//                 .cases = PhaseQuery::MisclassifiedCases(net.output_size(), /*label=*/3)};
//   q.phases[0][17] = +1;   // neuron 17 of the first hidden layer fixed active
#ifndef CRUCIBLE_ENGINES_NAP_PHASE_QUERY_H_
#define CRUCIBLE_ENGINES_NAP_PHASE_QUERY_H_

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "engines/verify/bounds.h"
#include "engines/verify/network.h"
#include "engines/verify/vnnlib.h"

namespace crucible {

struct PhaseQuery {
  Eigen::VectorXd lower, upper;
  ReluSplits phases;                                 // one vector per layer (the last one empty)
  std::vector<std::vector<OutputConstraint>> cases;  // a case without constraints: any point counts

  // Phases all free (the layout sized for `net`).
  static ReluSplits FreePhases(const AffineNetwork& net);
  // The cases "some label j != label scores at least as high as label".
  static std::vector<std::vector<OutputConstraint>> MisclassifiedCases(int64_t outputs, int64_t label);
  // Largest violation of the query's phases at `pre_activations` (per layer): <= 0 when all hold.
  double PhaseViolation(const std::vector<std::vector<double>>& pre_activations) const;
};

// Pre-activations of every layer of `net` at `input` (the last layer's are the outputs).
std::vector<std::vector<double>> PreActivations(const AffineNetwork& net, const std::vector<double>& input);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_PHASE_QUERY_H_
