// ReluGradientSum: out = (a + b) * [y > 0], elementwise over n floats, on the
// calling OpenMP thread team. It is the backward of a ReLU (output y) whose
// output gradient arrives in two parts a and b: the accumulation of a second
// contribution and the ReLU's mask in one pass over memory instead of two.
// `out` may be `a` (in place). All four have the same memory format.
//
//   ReluGradientSum(relu_output, grad, contribution, grad, count);
#ifndef CRUCIBLE_ENGINES_CORE_OPS_RELU_GRADIENT_SUM_H_
#define CRUCIBLE_ENGINES_CORE_OPS_RELU_GRADIENT_SUM_H_

#include <cstdint>

namespace crucible {

void ReluGradientSum(const float* y, const float* a, const float* b, float* out, int64_t n);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_OPS_RELU_GRADIENT_SUM_H_
