#include "engines/core/ops/relu_gradient_sum.h"

namespace crucible {
namespace {

constexpr int64_t kChunk = 4096;  // Floats per task: 16 KB of each stream.

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void ReluGradientSumChunk(
    const float* y, const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = y[i] > 0.0f ? a[i] + b[i] : 0.0f;
}

}  // namespace

void ReluGradientSum(const float* y, const float* a, const float* b, float* out, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk;
    const int64_t count = begin + kChunk <= n ? kChunk : n - begin;
    ReluGradientSumChunk(y + begin, a + begin, b + begin, out + begin, count);
  }
}

}  // namespace crucible
