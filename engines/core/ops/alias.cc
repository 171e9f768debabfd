// Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (inference): the
// executor lets the output share the input's memory, so the forward pass is
// free; the gradient is the output gradient copied back under the input shape.
#include "engines/core/ops/kernel.h"

namespace crucible {

absl::StatusOr<std::unique_ptr<Kernel>> MakeAliasKernel(const KernelContext& ctx) {
  auto kernel = std::make_unique<StepKernel>();
  if (ctx.NeedsInputGrad(0)) {
    kernel->backward.push_back(
        CopyStep(ctx.engine, ctx.output_grad, ctx.View(ctx.input_grads[0], ctx.output_grad.get_desc())));
  }
  return kernel;
}

}  // namespace crucible
