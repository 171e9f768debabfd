// Conv (1-D, 2-D, 3-D; groups, strides, pads, dilations) on oneDNN
// convolution primitives; the input gradient uses convolution backward-data.
// Weights are laid out once, in the format each primitive prefers.
#include "engines/core/ops/kernel.h"
#include "engines/core/window_geometry.h"

namespace crucible {
namespace {

dnnl::memory::dims Dims(const std::vector<int64_t>& v) { return dnnl::memory::dims(v.begin(), v.end()); }

dnnl::memory::desc AnyDesc(const Shape& shape) {
  return dnnl::memory::desc(Dims(shape), dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Kernel>> MakeConvKernel(const KernelContext& ctx) {
  const Shape& x_shape = ctx.InputShape(0);
  const Shape& w_shape = ctx.InputShape(1);
  const int64_t group = ctx.node->attributes.GetInt("group", 1);
  auto geometry = ResolveWindow(*ctx.node, x_shape, std::vector<int64_t>(w_shape.begin() + 2, w_shape.end()));
  if (!geometry.ok()) return geometry.status();
  std::vector<int64_t> dilations;
  for (int64_t d : geometry->dilations) dilations.push_back(d - 1);  // oneDNN counts the gaps.

  // Grouped weights are [G, O/G, I/G, k...] for oneDNN.
  Shape w_dims = w_shape;
  if (group > 1) {
    w_dims.insert(w_dims.begin(), group);
    w_dims[1] /= group;
  }
  const dnnl::memory weights(PlainDesc(w_dims), ctx.engine, ctx.inputs[1].get_data_handle());
  const dnnl::memory::desc x_md = PlainDesc(x_shape), y_md = PlainDesc(ctx.OutputShape());
  const dnnl::memory::desc bias_md = ctx.HasInput(2) ? PlainDesc({w_shape[0]}) : dnnl::memory::desc();

  auto make_forward_desc = [&](dnnl::prop_kind prop) {
    return ctx.HasInput(2)
               ? dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, x_md, AnyDesc(w_dims),
                                                 bias_md, y_md, Dims(geometry->strides), Dims(dilations),
                                                 Dims(geometry->pads_begin), Dims(geometry->pads_end))
               : dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, x_md, AnyDesc(w_dims), y_md,
                                                 Dims(geometry->strides), Dims(dilations), Dims(geometry->pads_begin),
                                                 Dims(geometry->pads_end));
  };
  auto kernel = std::make_unique<StepKernel>();
  dnnl::convolution_forward::primitive_desc fwd_pd(make_forward_desc(dnnl::prop_kind::forward_inference), ctx.engine);
  Step forward{dnnl::convolution_forward(fwd_pd),
               {{DNNL_ARG_SRC, ctx.inputs[0]},
                {DNNL_ARG_WEIGHTS, RelayoutConstant(ctx.engine, weights, fwd_pd.weights_desc())},
                {DNNL_ARG_DST, ctx.output}}};
  if (ctx.HasInput(2)) forward.args[DNNL_ARG_BIAS] = ctx.inputs[2];
  kernel->forward.push_back(std::move(forward));

  if (ctx.NeedsInputGrad(0)) {
    dnnl::convolution_forward::primitive_desc hint(make_forward_desc(dnnl::prop_kind::forward_training), ctx.engine);
    dnnl::convolution_backward_data::primitive_desc bwd_pd(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, x_md, AnyDesc(w_dims), y_md,
                                              Dims(geometry->strides), Dims(dilations), Dims(geometry->pads_begin),
                                              Dims(geometry->pads_end)),
        ctx.engine, hint);
    kernel->backward.push_back({dnnl::convolution_backward_data(bwd_pd),
                                {{DNNL_ARG_DIFF_DST, ctx.output_grad},
                                 {DNNL_ARG_WEIGHTS, RelayoutConstant(ctx.engine, weights, bwd_pd.weights_desc())},
                                 {DNNL_ARG_DIFF_SRC, ctx.input_grads[0]}}});
  }
  return kernel;
}

}  // namespace crucible
