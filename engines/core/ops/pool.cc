// MaxPool, AveragePool (count_include_pad either way, ceil_mode) and
// GlobalAveragePool on oneDNN pooling primitives; max pooling keeps its
// workspace so backward routes each gradient to the arg-max.
#include "engines/core/ops/kernel.h"
#include "engines/core/window_geometry.h"

namespace crucible {
namespace {

struct PoolSetup {
  WindowGeometry geometry;
  dnnl::algorithm algorithm = dnnl::algorithm::pooling_max;
};

absl::StatusOr<PoolSetup> Setup(const KernelContext& ctx) {
  const std::string& op = ctx.node->op_type;
  const Shape& x_shape = ctx.InputShape(0);
  PoolSetup s;
  WindowGeometry& g = s.geometry;
  if (op == "GlobalAveragePool") {
    g.kernel.assign(x_shape.begin() + 2, x_shape.end());
    g.strides.assign(g.kernel.size(), 1);
    g.pads_begin.assign(g.kernel.size(), 0);
    g.pads_end.assign(g.kernel.size(), 0);
    s.algorithm = dnnl::algorithm::pooling_avg_include_padding;
    return s;
  }
  auto resolved = ResolveWindow(*ctx.node, x_shape, ctx.node->attributes.GetInts("kernel_shape", {}));
  if (!resolved.ok()) return resolved.status();
  g = *resolved;
  if (op == "AveragePool") {
    s.algorithm = ctx.node->attributes.GetInt("count_include_pad", 0) != 0
                      ? dnnl::algorithm::pooling_avg_include_padding
                      : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  return s;
}

dnnl::memory::dims Dims(const std::vector<int64_t>& v) { return dnnl::memory::dims(v.begin(), v.end()); }

}  // namespace

absl::StatusOr<dnnl::pooling_forward::primitive_desc> MakePoolForward(const KernelContext& ctx,
                                                                      const dnnl::memory::desc& x_md,
                                                                      const dnnl::memory::desc& y_md) {
  auto s = Setup(ctx);
  if (!s.ok()) return s.status();
  const WindowGeometry& g = s->geometry;
  return dnnl::pooling_forward::primitive_desc(
      dnnl::pooling_forward::desc(dnnl::prop_kind::forward_training, s->algorithm, x_md, y_md, Dims(g.strides),
                                  Dims(g.kernel), Dims(g.pads_begin), Dims(g.pads_end)),
      ctx.engine);
}

absl::StatusOr<std::unique_ptr<Kernel>> MakePoolKernel(const KernelContext& ctx) {
  auto s = Setup(ctx);
  if (!s.ok()) return s.status();
  const WindowGeometry& g = s->geometry;
  auto fwd_pd = MakePoolForward(ctx, ctx.inputs[0].get_desc(), ctx.output.get_desc());
  if (!fwd_pd.ok()) return fwd_pd.status();
  auto kernel = std::make_unique<StepKernel>();
  Step forward{dnnl::pooling_forward(*fwd_pd), {{DNNL_ARG_SRC, ctx.inputs[0]}, {DNNL_ARG_DST, ctx.output}}};
  dnnl::memory workspace;
  if (fwd_pd->workspace_desc().get_size() > 0) {
    workspace = ctx.NewMemory(fwd_pd->workspace_desc());
    forward.args[DNNL_ARG_WORKSPACE] = workspace;
  }
  kernel->forward.push_back(std::move(forward));
  if (ctx.NeedsInputGrad(0)) {
    dnnl::pooling_backward::primitive_desc bwd_pd(
        dnnl::pooling_backward::desc(s->algorithm, ctx.input_grads[0].get_desc(), ctx.output_grad.get_desc(),
                                     Dims(g.strides), Dims(g.kernel), Dims(g.pads_begin), Dims(g.pads_end)),
        ctx.engine, *fwd_pd);
    Step backward{dnnl::pooling_backward(bwd_pd),
                  {{DNNL_ARG_DIFF_DST, ctx.output_grad}, {DNNL_ARG_DIFF_SRC, ctx.input_grads[0]}}};
    if (workspace) backward.args[DNNL_ARG_WORKSPACE] = workspace;
    kernel->backward.push_back(std::move(backward));
  }
  return kernel;
}

}  // namespace crucible
