#include "engines/attack/cw_optimizer.h"

#include <algorithm>
#include <cmath>

namespace crucible {

void TanhBox::ToTanhSpace(const float* x, float* w, int64_t n) const {
  for (int64_t j = 0; j < n; ++j) w[j] = std::atanh((x[j] - plus) / mul * 0.999999f);
}

void TanhBox::FromTanhSpace(const float* w, float* x, float* t, int64_t n) const {
  for (int64_t j = 0; j < n; ++j) {
    t[j] = Tanh(w[j]);
    x[j] = t[j] * mul + plus;
  }
}

TfAdam::TfAdam(int64_t rows, int64_t per_row, float learning_rate)
    : per_row_(per_row),
      learning_rate_(learning_rate),
      m_(rows * per_row, 0.0f),
      v_(rows * per_row, 0.0f),
      steps_(rows, 0) {}

void TfAdam::Reset(int64_t row) {
  std::fill_n(m_.begin() + row * per_row_, per_row_, 0.0f);
  std::fill_n(v_.begin() + row * per_row_, per_row_, 0.0f);
  steps_[row] = 0;
}

void TfAdam::Step(int64_t row, const float* gradient, float* w) {
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999;
  constexpr float kEpsilon = 1e-8f;
  const int64_t t = ++steps_[row];
  const float lr_t =
      static_cast<float>(learning_rate_ * std::sqrt(1 - std::pow(kBeta2, t)) / (1 - std::pow(kBeta1, t)));
  float* m = m_.data() + row * per_row_;
  float* v = v_.data() + row * per_row_;
  const float b1 = kBeta1, b2 = kBeta2;
  for (int64_t j = 0; j < per_row_; ++j) {
    m[j] = b1 * m[j] + (1 - b1) * gradient[j];
    v[j] = b2 * v[j] + (1 - b2) * gradient[j] * gradient[j];
    w[j] -= lr_t * m[j] / (std::sqrt(v[j]) + kEpsilon);
  }
}

}  // namespace crucible
