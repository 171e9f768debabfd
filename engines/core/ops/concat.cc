// Concat on the oneDNN concat primitive; each input's gradient is its slice of
// the output gradient, copied out through a sub-memory view.
#include "engines/core/ops/kernel.h"

namespace crucible {

absl::StatusOr<std::unique_ptr<Kernel>> MakeConcatKernel(const KernelContext& ctx) {
  const Shape& y_shape = ctx.OutputShape();
  const int64_t rank = static_cast<int64_t>(y_shape.size());
  int64_t axis = ctx.node->attributes.GetInt("axis", 0);
  if (axis < 0) axis += rank;
  std::vector<dnnl::memory::desc> src_mds;
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_DST, ctx.output}};
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    src_mds.push_back(ctx.inputs[i].get_desc());
    args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = ctx.inputs[i];
  }
  const dnnl::memory::desc y_md = PlainDesc(y_shape);
  dnnl::concat::primitive_desc pd(y_md, static_cast<int>(axis), src_mds, ctx.engine);
  auto kernel = std::make_unique<StepKernel>();
  kernel->forward.push_back({dnnl::concat(pd), std::move(args)});
  dnnl::memory::dims offsets(rank, 0);
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const dnnl::memory::dims part = ctx.inputs[i].get_desc().dims();
    if (ctx.NeedsInputGrad(i)) {
      const dnnl::memory slice = ctx.View(ctx.output_grad, y_md.submemory_desc(part, offsets));
      kernel->backward.push_back(CopyStep(ctx.engine, slice, ctx.input_grads[i]));
    }
    offsets[axis] += part[axis];
  }
  return kernel;
}

}  // namespace crucible
