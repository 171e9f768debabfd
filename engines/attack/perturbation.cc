#include "engines/attack/perturbation.h"

#include <algorithm>
#include <cmath>

namespace crucible {
namespace {

int64_t PerExample(const Tensor& x) { return x.num_elements() / std::max<int64_t>(1, x.dim(0)); }

double L2Norm(const float* v, int64_t n) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += double(v[j]) * v[j];
  return std::sqrt(sum);
}

}  // namespace

void GradientStep(Tensor& x, const Tensor& gradient, float step, v1::Norm norm, const std::vector<bool>& active) {
  const int64_t n = PerExample(x);
  for (int64_t i = 0; i < x.dim(0); ++i) {
    if (!active.empty() && !active[i]) continue;
    float* xi = x.data() + i * n;
    const float* gi = gradient.data() + i * n;
    if (norm == v1::L2) {
      const double length = L2Norm(gi, n);
      if (length == 0) continue;
      const float scale = static_cast<float>(step / length);
      for (int64_t j = 0; j < n; ++j) xi[j] += scale * gi[j];
    } else {
      for (int64_t j = 0; j < n; ++j) xi[j] += step * static_cast<float>((gi[j] > 0) - (gi[j] < 0));
    }
  }
}

void ProjectToBall(Tensor& x, const Tensor& center, float epsilon, v1::Norm norm) {
  const int64_t n = PerExample(x);
  for (int64_t i = 0; i < x.dim(0); ++i) {
    float* xi = x.data() + i * n;
    const float* ci = center.data() + i * n;
    if (norm == v1::L2) {
      std::vector<float> delta(xi, xi + n);
      for (int64_t j = 0; j < n; ++j) delta[j] -= ci[j];
      const double length = L2Norm(delta.data(), n);
      if (length <= epsilon) continue;
      const float scale = static_cast<float>(epsilon / length);
      for (int64_t j = 0; j < n; ++j) xi[j] = ci[j] + delta[j] * scale;
    } else {
      for (int64_t j = 0; j < n; ++j) xi[j] = std::min(std::max(xi[j], ci[j] - epsilon), ci[j] + epsilon);
    }
  }
}

void ClipToRange(Tensor& x, float low, float high) {
  for (float& v : x.values()) v = std::min(std::max(v, low), high);
}

double L2Distance(const Tensor& x, const Tensor& center, int64_t i) {
  const int64_t n = PerExample(x);
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double d = double(x.at(i * n + j)) - center.at(i * n + j);
    sum += d * d;
  }
  return std::sqrt(sum);
}

double LinfDistance(const Tensor& x, const Tensor& center, int64_t i) {
  const int64_t n = PerExample(x);
  double worst = 0;
  for (int64_t j = 0; j < n; ++j) worst = std::max(worst, std::abs(double(x.at(i * n + j)) - center.at(i * n + j)));
  return worst;
}

}  // namespace crucible
