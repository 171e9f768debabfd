// The optimisation machinery both Carlini-Wagner attacks share, as in
// Carlini's reference (l2_attack.py, li_attack.py):
//
// TanhBox: the change of variables that keeps pixels in [low, high] without
// clipping, x = tanh(w) * mul + plus with mul = (high - low) / 2 and
// plus = (high + low) / 2. Starting points are mapped with the reference's
// 0.999999 factor, w = atanh((x - plus) / mul * 0.999999), so that pixels at
// exactly low or high get a finite w and can move.
//
// TfAdam: TF1's AdamOptimizer (beta1 0.9, beta2 0.999, epsilon 1e-8,
// lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), w -= lr_t * m / (sqrt(v) + eps))
// with its moments and step count kept per example (row), so examples can be
// reset independently.
//
// TfAdam::Step and TanhBox are per row and may run on different rows from
// several threads at once.
//
//   TanhBox box(0.0f, 1.0f);
//   box.ToTanhSpace(x, w0);                  // rows of x in place of w0
//   TfAdam adam(rows, per_row, 0.01f);
//   adam.Step(i, gradient_row, w_row);       // one update of row i
#ifndef CRUCIBLE_ENGINES_ATTACK_CW_OPTIMIZER_H_
#define CRUCIBLE_ENGINES_ATTACK_CW_OPTIMIZER_H_

#include <cmath>
#include <cstdint>
#include <vector>

namespace crucible {

// tanh(w) from one expf: (1 - e) / (1 + e) with e = exp(-2|w|), signed. Its
// absolute error (a few 1e-8) is below a pixel's float resolution; it costs
// about half of std::tanh, which dominates the attacks' own arithmetic.
inline float Tanh(float w) {
  const float e = std::exp(-2.0f * std::abs(w));
  return std::copysign((1.0f - e) / (1.0f + e), w);
}

struct TanhBox {
  TanhBox(float low, float high) : mul((high - low) / 2), plus((high + low) / 2) {}
  // w[j] = atanh((x[j] - plus) / mul * 0.999999) for j < n.
  void ToTanhSpace(const float* x, float* w, int64_t n) const;
  // x[j] = Tanh(w[j]) * mul + plus; Tanh(w[j]) also goes to t[j].
  void FromTanhSpace(const float* w, float* x, float* t, int64_t n) const;
  float mul, plus;
};

class TfAdam {
 public:
  TfAdam(int64_t rows, int64_t per_row, float learning_rate);
  // Zero moments and step count of row i.
  void Reset(int64_t row);
  // One Adam update of w (row i) along gradient g.
  void Step(int64_t row, const float* gradient, float* w);

 private:
  int64_t per_row_;
  float learning_rate_;
  std::vector<float> m_, v_;
  std::vector<int64_t> steps_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_CW_OPTIMIZER_H_
