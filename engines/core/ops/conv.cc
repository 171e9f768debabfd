// Conv (1-D, 2-D, 3-D; groups, strides, pads, dilations) on oneDNN
// convolution primitives, optionally with a fused ReLU; the input gradient
// uses convolution backward-data. Weights are laid out once, in the format
// each primitive prefers.
//
// Convolutions whose channel counts are multiples of 16 work on nChw16c, so
// that a chain of them (a ResNet stage) never reorders, and the 3x3 stride-1
// ones among them use Winograd F(4x4, 3x3), which needs that format and does
// 2.25x fewer multiplications. Other convolutions let oneDNN pick the format.
#include "engines/core/ops/kernel.h"
#include "engines/core/ops/single_channel_conv_backward.h"
#include "engines/core/window_geometry.h"

namespace crucible {
namespace {

// A convolution with one input channel: oneDNN forward, SingleChannelConvBackward
// for the input gradient.
class SingleChannelConvKernel final : public Kernel {
 public:
  SingleChannelConvKernel(Step forward, std::unique_ptr<SingleChannelConvBackward> backward, bool applies_relu)
      : forward_(std::move(forward)), backward_(std::move(backward)), applies_relu_(applies_relu) {}
  void Forward(dnnl::stream& stream) override { forward_.primitive.execute(stream, forward_.args); }
  void Backward(dnnl::stream& stream) override {
    stream.wait();
    backward_->Run();
  }
  bool AppliesReluBackward() const override { return applies_relu_; }

 private:
  Step forward_;
  std::unique_ptr<SingleChannelConvBackward> backward_;
  bool applies_relu_;
};

dnnl::memory::dims Dims(const std::vector<int64_t>& v) { return dnnl::memory::dims(v.begin(), v.end()); }

struct ConvSetup {
  WindowGeometry geometry;
  std::vector<int64_t> dilations;  // oneDNN counts the gaps: ONNX dilation - 1.
  Shape weight_dims;               // Grouped weights are [G, O/G, I/G, k...] for oneDNN.
  dnnl::memory::desc any_weights;
  dnnl::algorithm algorithm = dnnl::algorithm::convolution_direct;
  bool blocked = false;  // Source and destination in nChw16c.
  // Destination only in nChw16c: a one-channel stem feeding blocked
  // convolutions (its input gradient comes from SingleChannelConvBackward,
  // which reads that format; oneDNN's backward-data would not).
  bool blocked_output = false;
};

constexpr int64_t kBlock = 16;
// Below this batch Winograd's transforms cost more than they save.
constexpr int64_t kWinogradMinBatch = 8;

dnnl::memory::desc Blocked(const dnnl::memory::desc& md) {
  return dnnl::memory::desc(md.dims(), dnnl::memory::data_type::f32, dnnl::memory::format_tag::nChw16c);
}

dnnl::convolution_forward::primitive_desc ConvForward(const KernelContext& ctx, const ConvSetup& s,
                                                      dnnl::algorithm algorithm, dnnl::prop_kind prop,
                                                      const dnnl::memory::desc& x_md, const dnnl::memory::desc& y_md) {
  const WindowGeometry& g = s.geometry;
  auto desc = ctx.HasInput(2)
                  ? dnnl::convolution_forward::desc(prop, algorithm, x_md, s.any_weights,
                                                    PlainDesc({ctx.InputShape(1)[0]}), y_md, Dims(g.strides),
                                                    Dims(s.dilations), Dims(g.pads_begin), Dims(g.pads_end))
                  : dnnl::convolution_forward::desc(prop, algorithm, x_md, s.any_weights, y_md, Dims(g.strides),
                                                    Dims(s.dilations), Dims(g.pads_begin), Dims(g.pads_end));
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  if (ctx.sum_into_output) ops.append_sum(1.0f);
  if (ctx.fuse_relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(ops);
  return dnnl::convolution_forward::primitive_desc(desc, attr, ctx.engine);
}

dnnl::convolution_backward_data::primitive_desc ConvBackwardData(
    const KernelContext& ctx, const ConvSetup& s, dnnl::algorithm algorithm, const dnnl::memory::desc& x_md,
    const dnnl::memory::desc& y_md, const dnnl::convolution_forward::primitive_desc& hint) {
  const WindowGeometry& g = s.geometry;
  return dnnl::convolution_backward_data::primitive_desc(
      dnnl::convolution_backward_data::desc(algorithm, x_md, s.any_weights, y_md, Dims(g.strides), Dims(s.dilations),
                                            Dims(g.pads_begin), Dims(g.pads_end)),
      ctx.engine, hint);
}

// Whether this CPU has Winograd kernels, forward and backward, for the shape.
bool WinogradAvailable(const KernelContext& ctx, const ConvSetup& s) {
  const auto winograd = dnnl::algorithm::convolution_winograd;
  const Shape& x_shape = ctx.InputShape(0);
  const Shape& y_shape = ctx.OutputShape();
  const dnnl::memory::desc x_md(Dims(x_shape), dnnl::memory::data_type::f32, dnnl::memory::format_tag::nChw16c);
  const dnnl::memory::desc y_md(Dims(y_shape), dnnl::memory::data_type::f32, dnnl::memory::format_tag::nChw16c);
  try {
    ConvForward(ctx, s, winograd, dnnl::prop_kind::forward_inference, x_md, y_md);
    auto hint = ConvForward(ctx, s, winograd, dnnl::prop_kind::forward_training, x_md, y_md);
    ConvBackwardData(ctx, s, winograd, x_md, y_md, hint);
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

absl::StatusOr<ConvSetup> Setup(const KernelContext& ctx) {
  const Shape& w_shape = ctx.InputShape(1);
  ConvSetup s;
  auto geometry = ResolveWindow(*ctx.node, ctx.InputShape(0), std::vector<int64_t>(w_shape.begin() + 2, w_shape.end()));
  if (!geometry.ok()) return geometry.status();
  s.geometry = *geometry;
  for (int64_t d : s.geometry.dilations) s.dilations.push_back(d - 1);
  const int64_t group = ctx.node->attributes.GetInt("group", 1);
  s.weight_dims = w_shape;
  if (group > 1) {
    s.weight_dims.insert(s.weight_dims.begin(), group);
    s.weight_dims[1] /= group;
  }
  s.any_weights = dnnl::memory::desc(Dims(s.weight_dims), dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
  const Shape& x_shape = ctx.InputShape(0);
  s.blocked = x_shape.size() == 4 && group == 1 && x_shape[1] % kBlock == 0 && w_shape[0] % kBlock == 0;
  s.blocked_output = x_shape.size() == 4 && group == 1 && x_shape[1] == 1 && w_shape[0] % kBlock == 0 &&
                     ctx.ConstantInput(1) != nullptr;
  const WindowGeometry& g = s.geometry;
  const bool winograd_window = g.kernel == std::vector<int64_t>{3, 3} && g.strides == std::vector<int64_t>{1, 1} &&
                               g.dilations == std::vector<int64_t>{1, 1};
  if (s.blocked && winograd_window && x_shape[0] >= kWinogradMinBatch && WinogradAvailable(ctx, s)) {
    s.algorithm = dnnl::algorithm::convolution_winograd;
  }
  return s;
}

}  // namespace

absl::StatusOr<dnnl::convolution_forward::primitive_desc> MakeConvForward(const KernelContext& ctx,
                                                                          dnnl::prop_kind prop,
                                                                          const dnnl::memory::desc& x_md,
                                                                          const dnnl::memory::desc& y_md) {
  auto setup = Setup(ctx);
  if (!setup.ok()) return setup.status();
  if (setup->blocked_output) return ConvForward(ctx, *setup, setup->algorithm, prop, x_md, Blocked(y_md));
  if (!setup->blocked) return ConvForward(ctx, *setup, setup->algorithm, prop, x_md, y_md);
  return ConvForward(ctx, *setup, setup->algorithm, prop, Blocked(x_md), Blocked(y_md));
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeConvKernel(const KernelContext& ctx) {
  auto setup = Setup(ctx);
  if (!setup.ok()) return setup.status();
  const dnnl::memory weights(PlainDesc(setup->weight_dims), ctx.engine, ctx.inputs[1].get_data_handle());
  // The same query as ChooseLayouts: the input arrives in the format it
  // picks. (Asking with the input's own desc can differ when a dimension is 1:
  // oneDNN treats nchw and nhwc with one channel as equal memory but not as
  // equal implementation hints.)
  const Shape& x_shape = ctx.InputShape(0);
  const dnnl::memory::desc any_x(dnnl::memory::dims(x_shape.begin(), x_shape.end()), dnnl::memory::data_type::f32,
                                 dnnl::memory::format_tag::any);
  auto fwd_pd = MakeConvForward(ctx, dnnl::prop_kind::forward_inference, any_x, ctx.output.get_desc());
  if (!fwd_pd.ok()) return fwd_pd.status();
  if (fwd_pd->src_desc() != ctx.inputs[0].get_desc()) return ctx.Error("input arrived in an unexpected memory format");
  const dnnl::memory::desc x_md = fwd_pd->src_desc(), y_md = fwd_pd->dst_desc();
  auto kernel = std::make_unique<StepKernel>();
  Step forward{dnnl::convolution_forward(*fwd_pd),
               {{DNNL_ARG_SRC, ctx.inputs[0]},
                {DNNL_ARG_WEIGHTS, RelayoutConstant(ctx.engine, weights, fwd_pd->weights_desc())},
                {DNNL_ARG_DST, ctx.output}}};
  if (ctx.HasInput(2)) forward.args[DNNL_ARG_BIAS] = ctx.inputs[2];
  kernel->forward.push_back(std::move(forward));

  if (ctx.NeedsInputGrad(0) && ctx.ConstantInput(1) != nullptr) {
    const bool with_relu = ctx.fuse_relu && ctx.may_apply_relu_backward;
    auto single = SingleChannelConvBackward::Create(setup->geometry, ctx.ConstantInput(1)->data(), ctx.InputShape(1),
                                                    ctx.output_grad, with_relu ? ctx.output : dnnl::memory(),
                                                    ctx.input_grads[0]);
    if (single != nullptr) {
      return std::make_unique<SingleChannelConvKernel>(std::move(kernel->forward.front()), std::move(single),
                                                       with_relu);
    }
  }
  if (ctx.NeedsInputGrad(0)) {
    auto hint = MakeConvForward(ctx, dnnl::prop_kind::forward_training, x_md, y_md);
    if (!hint.ok()) return hint.status();
    const auto bwd_pd = ConvBackwardData(ctx, *setup, setup->algorithm, x_md, y_md, *hint);
    kernel->backward.push_back({dnnl::convolution_backward_data(bwd_pd),
                                {{DNNL_ARG_DIFF_DST, ctx.output_grad},
                                 {DNNL_ARG_WEIGHTS, RelayoutConstant(ctx.engine, weights, bwd_pd.weights_desc())},
                                 {DNNL_ARG_DIFF_SRC, ctx.input_grads[0]}}});
  }
  return kernel;
}

}  // namespace crucible
