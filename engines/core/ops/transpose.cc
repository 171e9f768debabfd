// Transpose as a oneDNN reorder from a permuted-strides view of the input;
// the gradient is the reorder back through the inverse view.
#include "engines/core/ops/kernel.h"

namespace crucible {

absl::StatusOr<std::unique_ptr<Kernel>> MakeTransposeKernel(const KernelContext& ctx) {
  const Shape& x_shape = ctx.InputShape(0);
  const Shape& y_shape = ctx.OutputShape();
  std::vector<int64_t> perm(x_shape.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
  perm = ctx.node->attributes.GetInts("perm", perm);
  const std::vector<int64_t> x_strides = RowMajorStrides(x_shape);
  std::vector<int64_t> permuted(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) permuted[i] = x_strides[perm[i]];
  // The input's memory seen with the output's dims.
  const dnnl::memory::desc view = StridedDesc(y_shape, permuted);
  auto kernel = std::make_unique<StepKernel>();
  kernel->forward.push_back(CopyStep(ctx.engine, ctx.View(ctx.inputs[0], view), ctx.output));
  if (ctx.NeedsInputGrad(0)) {
    kernel->backward.push_back(CopyStep(ctx.engine, ctx.output_grad, ctx.View(ctx.input_grads[0], view)));
  }
  return kernel;
}

}  // namespace crucible
