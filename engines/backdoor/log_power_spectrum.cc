#include "engines/backdoor/log_power_spectrum.h"

#include <cmath>
#include <complex>
#include <numbers>

namespace crucible {

std::vector<float> LogPowerSpectrum(const float* image, int64_t channels, int64_t height, int64_t width) {
  const int64_t half = width / 2 + 1;
  std::vector<float> out;
  out.reserve(channels * height * half);
  std::vector<std::complex<double>> rows(height * half);
  // Twiddle factors exp(-2πi·j/n) for both axes.
  auto twiddles = [](int64_t n) {
    std::vector<std::complex<double>> t(n);
    for (int64_t j = 0; j < n; ++j) t[j] = std::polar(1.0, -2 * std::numbers::pi * double(j) / double(n));
    return t;
  };
  const std::vector<std::complex<double>> along_width = twiddles(width), along_height = twiddles(height);
  for (int64_t c = 0; c < channels; ++c) {
    const float* x = image + c * height * width;
    // Along the width (real input, half spectrum) ...
    for (int64_t h = 0; h < height; ++h) {
      for (int64_t k = 0; k < half; ++k) {
        std::complex<double> sum = 0;
        for (int64_t w = 0; w < width; ++w) sum += double(x[h * width + w]) * along_width[(k * w) % width];
        rows[h * half + k] = sum;
      }
    }
    // ... then along the height.
    for (int64_t l = 0; l < height; ++l) {
      for (int64_t k = 0; k < half; ++k) {
        std::complex<double> sum = 0;
        for (int64_t h = 0; h < height; ++h) sum += rows[h * half + k] * along_height[(l * h) % height];
        out.push_back(float(std::log(std::norm(sum) + 1e-3)));
      }
    }
  }
  return out;
}

}  // namespace crucible
