// Relu, LeakyRelu, Sigmoid, Tanh and Clip as oneDNN eltwise primitives, with
// eltwise backward (from the forward input) for the input gradient.
#include <limits>

#include "engines/core/ops/kernel.h"

namespace crucible {
namespace {

std::unique_ptr<Kernel> MakeEltwise(const KernelContext& ctx, dnnl::algorithm alg, float alpha, float beta) {
  auto kernel = std::make_unique<StepKernel>();
  const auto md = ctx.inputs[0].get_desc();
  dnnl::eltwise_forward::primitive_desc fwd_pd(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, md, alpha, beta), ctx.engine);
  kernel->forward.push_back(
      {dnnl::eltwise_forward(fwd_pd), {{DNNL_ARG_SRC, ctx.inputs[0]}, {DNNL_ARG_DST, ctx.output}}});
  if (ctx.NeedsInputGrad(0)) {
    dnnl::eltwise_backward::primitive_desc bwd_pd(dnnl::eltwise_backward::desc(alg, md, md, alpha, beta), ctx.engine,
                                                  fwd_pd);
    kernel->backward.push_back({dnnl::eltwise_backward(bwd_pd),
                                {{DNNL_ARG_SRC, ctx.inputs[0]},
                                 {DNNL_ARG_DIFF_DST, ctx.output_grad},
                                 {DNNL_ARG_DIFF_SRC, ctx.input_grads[0]}}});
  }
  return kernel;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Kernel>> MakeFusedReluKernel(const KernelContext& ctx) {
  auto kernel = std::make_unique<StepKernel>();
  if (ctx.NeedsInputGrad(0)) {
    const auto md = ctx.output.get_desc();
    const auto alg = dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
    dnnl::eltwise_forward::primitive_desc hint(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, md, 0.0f, 0.0f), ctx.engine);
    dnnl::eltwise_backward::primitive_desc bwd_pd(dnnl::eltwise_backward::desc(alg, md, md, 0.0f, 0.0f), ctx.engine,
                                                  hint);
    kernel->backward.push_back({dnnl::eltwise_backward(bwd_pd),
                                {{DNNL_ARG_DST, ctx.output},
                                 {DNNL_ARG_DIFF_DST, ctx.output_grad},
                                 {DNNL_ARG_DIFF_SRC, ctx.input_grads[0]}}});
  }
  return kernel;
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeEltwiseKernel(const KernelContext& ctx) {
  const std::string& op = ctx.node->op_type;
  const Attributes& attrs = ctx.node->attributes;
  if (op == "Relu") return MakeEltwise(ctx, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  if (op == "LeakyRelu") return MakeEltwise(ctx, dnnl::algorithm::eltwise_relu, attrs.GetFloat("alpha", 0.01f), 0.0f);
  if (op == "Sigmoid") return MakeEltwise(ctx, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
  if (op == "Tanh") return MakeEltwise(ctx, dnnl::algorithm::eltwise_tanh, 0.0f, 0.0f);
  // Clip: bounds from attributes before opset 11, from optional constant inputs after.
  float lo = attrs.GetFloat("min", std::numeric_limits<float>::lowest());
  float hi = attrs.GetFloat("max", std::numeric_limits<float>::max());
  for (size_t i : {1u, 2u}) {
    if (!ctx.HasInput(i)) continue;
    const Tensor* bound = ctx.ConstantInput(i);
    if (bound == nullptr || bound->num_elements() != 1) return ctx.Error("min and max must be constant scalars");
    (i == 1 ? lo : hi) = bound->at(0);
  }
  return MakeEltwise(ctx, dnnl::algorithm::eltwise_clip_v2, lo, hi);
}

}  // namespace crucible
