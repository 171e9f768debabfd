// Pad (constant mode): the output is overwritten with a prepared buffer of the
// pad value, then the input
// is copied into the interior through a sub-memory view; the gradient is that
// interior of the output gradient. (PyTorch exports AvgPool with
// count_include_pad as Pad + AveragePool.)
#include <algorithm>

#include "engines/core/ops/kernel.h"

namespace crucible {

absl::StatusOr<std::unique_ptr<Kernel>> MakePadKernel(const KernelContext& ctx) {
  const Shape& x_shape = ctx.InputShape(0);
  const size_t rank = x_shape.size();
  const std::vector<int64_t>* pad_input = ctx.IntConstantInput(1);
  const std::vector<int64_t> pads = pad_input ? *pad_input : ctx.node->attributes.GetInts("pads", {});
  float value = ctx.node->attributes.GetFloat("value", 0.0f);
  if (const Tensor* v = ctx.ConstantInput(2)) value = v->at(0);
  const dnnl::memory::desc y_md = PlainDesc(ctx.OutputShape());
  const dnnl::memory::desc interior =
      y_md.submemory_desc(dnnl::memory::dims(x_shape.begin(), x_shape.end()),
                          dnnl::memory::dims(pads.begin(), pads.begin() + rank));
  auto kernel = std::make_unique<StepKernel>();
  dnnl::memory filled = ctx.NewMemory(y_md);
  float* f = static_cast<float*>(filled.get_data_handle());
  std::fill(f, f + y_md.get_size() / sizeof(float), value);
  kernel->forward.push_back(CopyStep(ctx.engine, filled, ctx.output));
  kernel->forward.push_back(CopyStep(ctx.engine, ctx.inputs[0], ctx.View(ctx.output, interior)));
  if (ctx.NeedsInputGrad(0)) {
    kernel->backward.push_back(CopyStep(ctx.engine, ctx.View(ctx.output_grad, interior), ctx.input_grads[0]));
  }
  return kernel;
}

}  // namespace crucible
