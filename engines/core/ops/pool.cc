// MaxPool, AveragePool (count_include_pad either way, ceil_mode) and
// GlobalAveragePool on oneDNN pooling primitives; max pooling keeps its
// workspace so backward routes each gradient to the arg-max.
#include "engines/core/ops/kernel.h"
#include "engines/core/window_geometry.h"

namespace crucible {

absl::StatusOr<std::unique_ptr<Kernel>> MakePoolKernel(const KernelContext& ctx) {
  const std::string& op = ctx.node->op_type;
  const Shape& x_shape = ctx.InputShape(0);
  WindowGeometry g;
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  if (op == "GlobalAveragePool") {
    g.kernel.assign(x_shape.begin() + 2, x_shape.end());
    g.strides.assign(g.kernel.size(), 1);
    g.pads_begin.assign(g.kernel.size(), 0);
    g.pads_end.assign(g.kernel.size(), 0);
    alg = dnnl::algorithm::pooling_avg_include_padding;
  } else {
    auto resolved = ResolveWindow(*ctx.node, x_shape, ctx.node->attributes.GetInts("kernel_shape", {}));
    if (!resolved.ok()) return resolved.status();
    g = *resolved;
    if (op == "AveragePool") {
      alg = ctx.node->attributes.GetInt("count_include_pad", 0) != 0 ? dnnl::algorithm::pooling_avg_include_padding
                                                                      : dnnl::algorithm::pooling_avg_exclude_padding;
    }
  }
  auto dims = [](const std::vector<int64_t>& v) { return dnnl::memory::dims(v.begin(), v.end()); };
  const dnnl::memory::desc x_md = PlainDesc(x_shape), y_md = PlainDesc(ctx.OutputShape());
  dnnl::pooling_forward::primitive_desc fwd_pd(
      dnnl::pooling_forward::desc(dnnl::prop_kind::forward_training, alg, x_md, y_md, dims(g.strides), dims(g.kernel),
                                  dims(g.pads_begin), dims(g.pads_end)),
      ctx.engine);
  auto kernel = std::make_unique<StepKernel>();
  Step forward{dnnl::pooling_forward(fwd_pd), {{DNNL_ARG_SRC, ctx.inputs[0]}, {DNNL_ARG_DST, ctx.output}}};
  dnnl::memory workspace;
  if (fwd_pd.workspace_desc().get_size() > 0) {
    workspace = ctx.NewMemory(fwd_pd.workspace_desc());
    forward.args[DNNL_ARG_WORKSPACE] = workspace;
  }
  kernel->forward.push_back(std::move(forward));
  if (ctx.NeedsInputGrad(0)) {
    dnnl::pooling_backward::primitive_desc bwd_pd(
        dnnl::pooling_backward::desc(alg, x_md, y_md, dims(g.strides), dims(g.kernel), dims(g.pads_begin),
                                     dims(g.pads_end)),
        ctx.engine, fwd_pd);
    Step backward{dnnl::pooling_backward(bwd_pd),
                  {{DNNL_ARG_DIFF_DST, ctx.output_grad}, {DNNL_ARG_DIFF_SRC, ctx.input_grads[0]}}};
    if (workspace) backward.args[DNNL_ARG_WORKSPACE] = workspace;
    kernel->backward.push_back(std::move(backward));
  }
  return kernel;
}

}  // namespace crucible
