// Spectral Signatures (Tran, Li, Madry, 2018) for one class of a training set:
// poisoned samples leave a trace along the top singular vector of the class's
// centred penultimate-layer activations. Each sample's outlier score is its
// squared projection on that vector; the top 1.5·ε share of the class by score
// is flagged, ε being the assumed poison fraction.
// The paper removes that share from every class. To report findings rather
// than prune, a class counts as poisoned only when its projections are
// one-sided: a poisoned share p far from the bulk along that vector gives the
// projections a skewness of about (1 - 2p) / sqrt(p(1 - p)) (1.2 at p = 0.24,
// 2.7 at p = 0.1), a clean class's stay near 0 (at most 0.9 on the fixture
// CNN's Fashion-MNIST classes); |skewness| must reach skewness_threshold.
//
//   SpectralSignatureOptions options{.poison_fraction = 0.25};
//   v1::SpectralFindings f = ScoreClassSpectrum(label, activations, dataset_indices, options);
#ifndef CRUCIBLE_ENGINES_BACKDOOR_SPECTRAL_SIGNATURES_H_
#define CRUCIBLE_ENGINES_BACKDOOR_SPECTRAL_SIGNATURES_H_

#include <cstdint>
#include <vector>

#include "crucible/v1/engines.pb.h"
#include "engines/backdoor/activation_stats.h"

namespace crucible {

struct SpectralSignatureOptions {
  double poison_fraction = 0.25;      // ε.
  double skewness_threshold = 1.1;
  uint64_t seed = 1;
};

v1::SpectralFindings ScoreClassSpectrum(int64_t label, const Matrix& activations, const std::vector<int64_t>& indices,
                                        const SpectralSignatureOptions& options);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_BACKDOOR_SPECTRAL_SIGNATURES_H_
