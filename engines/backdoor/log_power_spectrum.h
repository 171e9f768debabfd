// LogPowerSpectrum: log(|DFT₂(x)|² + 1e-3) of each channel of an image
// [C, H, W], keeping the non-redundant half of the last axis (W/2 + 1
// columns): translation-invariant, phase-free features. A direct separable DFT
// (O(H·W·(H+W)) per channel), meant for small images.
//
//   std::vector<float> f = LogPowerSpectrum(pixels, 1, 28, 28);   // 28 * 15 values
#ifndef CRUCIBLE_ENGINES_BACKDOOR_LOG_POWER_SPECTRUM_H_
#define CRUCIBLE_ENGINES_BACKDOOR_LOG_POWER_SPECTRUM_H_

#include <cstdint>
#include <vector>

namespace crucible {

std::vector<float> LogPowerSpectrum(const float* image, int64_t channels, int64_t height, int64_t width);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_BACKDOOR_LOG_POWER_SPECTRUM_H_
