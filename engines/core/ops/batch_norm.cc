// BatchNormalization (inference): y = x * s + t per channel with
// s = gamma / sqrt(var + eps) and t = beta - mean * s precomputed once; one
// binary primitive with a fused add forward, one multiply backward.
#include <cmath>

#include "engines/core/ops/kernel.h"

namespace crucible {

absl::StatusOr<std::unique_ptr<Kernel>> MakeBatchNormKernel(const KernelContext& ctx) {
  const Shape& x_shape = ctx.InputShape(0);
  const int64_t channels = x_shape[1];
  const float epsilon = ctx.node->attributes.GetFloat("epsilon", 1e-5f);
  const Tensor &gamma = *ctx.ConstantInput(1), &beta = *ctx.ConstantInput(2);
  const Tensor &mean = *ctx.ConstantInput(3), &var = *ctx.ConstantInput(4);
  Shape param_shape(x_shape.size(), 1);
  param_shape[1] = channels;
  const dnnl::memory::desc param_md = PlainDesc(param_shape);
  dnnl::memory scale = ctx.NewMemory(param_md), shift = ctx.NewMemory(param_md);
  float* s = static_cast<float*>(scale.get_data_handle());
  float* t = static_cast<float*>(shift.get_data_handle());
  for (int64_t c = 0; c < channels; ++c) {
    s[c] = gamma.at(c) / std::sqrt(var.at(c) + epsilon);
    t[c] = beta.at(c) - mean.at(c) * s[c];
  }
  const dnnl::memory::desc x_md = PlainDesc(x_shape);
  dnnl::post_ops ops;
  ops.append_binary(dnnl::algorithm::binary_add, param_md);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  dnnl::binary::primitive_desc fwd_pd(dnnl::binary::desc(dnnl::algorithm::binary_mul, x_md, param_md, x_md), attr,
                                      ctx.engine);
  auto kernel = std::make_unique<StepKernel>();
  kernel->forward.push_back({dnnl::binary(fwd_pd),
                             {{DNNL_ARG_SRC_0, ctx.inputs[0]},
                              {DNNL_ARG_SRC_1, scale},
                              {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, shift},
                              {DNNL_ARG_DST, ctx.output}}});
  if (ctx.NeedsInputGrad(0)) {
    dnnl::binary::primitive_desc bwd_pd(dnnl::binary::desc(dnnl::algorithm::binary_mul, x_md, param_md, x_md),
                                        ctx.engine);
    kernel->backward.push_back({dnnl::binary(bwd_pd),
                                {{DNNL_ARG_SRC_0, ctx.output_grad},
                                 {DNNL_ARG_SRC_1, scale},
                                 {DNNL_ARG_DST, ctx.input_grads[0]}}});
  }
  return kernel;
}

}  // namespace crucible
