// Softmax on oneDNN. Before opset 13 ONNX Softmax flattens the input to 2-D at
// `axis` and normalises over the trailing block; from opset 13 it normalises
// along the single `axis`.
#include "engines/core/ops/kernel.h"

namespace crucible {

absl::StatusOr<std::unique_ptr<Kernel>> MakeSoftmaxKernel(const KernelContext& ctx) {
  const Shape& shape = ctx.InputShape(0);
  const int64_t rank = static_cast<int64_t>(shape.size());
  int64_t axis = ctx.node->attributes.GetInt("axis", ctx.graph->opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  dnnl::memory::desc md = PlainDesc(shape);
  if (ctx.graph->opset < 13) {
    md = PlainDesc({NumElements(Shape(shape.begin(), shape.begin() + axis)),
                    NumElements(Shape(shape.begin() + axis, shape.end()))});
    axis = 1;
  }
  auto kernel = std::make_unique<StepKernel>();
  const dnnl::memory dst = ctx.View(ctx.output, md);
  dnnl::softmax_forward::primitive_desc fwd_pd(
      dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, md, static_cast<int>(axis)), ctx.engine);
  kernel->forward.push_back(
      {dnnl::softmax_forward(fwd_pd), {{DNNL_ARG_SRC, ctx.View(ctx.inputs[0], md)}, {DNNL_ARG_DST, dst}}});
  if (ctx.NeedsInputGrad(0)) {
    dnnl::softmax_backward::primitive_desc bwd_pd(dnnl::softmax_backward::desc(md, md, static_cast<int>(axis)),
                                                  ctx.engine, fwd_pd);
    kernel->backward.push_back({dnnl::softmax_backward(bwd_pd),
                                {{DNNL_ARG_DST, dst},
                                 {DNNL_ARG_DIFF_DST, ctx.View(ctx.output_grad, md)},
                                 {DNNL_ARG_DIFF_SRC, ctx.View(ctx.input_grads[0], md)}}});
  }
  return kernel;
}

}  // namespace crucible
