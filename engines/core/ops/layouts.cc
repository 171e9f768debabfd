// ChooseLayouts: the memory format policy described in kernel.h.
#include "engines/core/ops/kernel.h"

namespace crucible {
namespace {

bool IsEltwise(const std::string& op) {
  return op == "Relu" || op == "LeakyRelu" || op == "Sigmoid" || op == "Tanh" || op == "Clip";
}

dnnl::memory::desc AnyFormat(const Shape& shape) {
  return dnnl::memory::desc(dnnl::memory::dims(shape.begin(), shape.end()), dnnl::memory::data_type::f32,
                            dnnl::memory::format_tag::any);
}

}  // namespace

bool IsPlain(const dnnl::memory::desc& md) {
  const dnnl::memory::dims dims = md.dims();
  return md == PlainDesc(Shape(dims.begin(), dims.end()));
}

absl::StatusOr<Layouts> ChooseLayouts(const KernelContext& ctx) {
  const std::string& op = ctx.node->op_type;
  Layouts layouts;
  for (const dnnl::memory& in : ctx.inputs) layouts.inputs.push_back(in ? in.get_desc() : dnnl::memory::desc());
  const Shape& out_shape = ctx.OutputShape();
  if (op == "Conv" && out_shape.size() >= 3) {
    auto pd = MakeConvForward(ctx, dnnl::prop_kind::forward_inference, AnyFormat(ctx.InputShape(0)),
                              AnyFormat(out_shape));
    if (!pd.ok()) return pd.status();
    layouts.inputs[0] = pd->src_desc();
    layouts.output = pd->dst_desc();
    return layouts;
  }
  if (IsEltwise(op)) {
    layouts.output = layouts.inputs[0];
    return layouts;
  }
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") {
    auto pd = MakePoolForward(ctx, layouts.inputs[0], AnyFormat(out_shape));
    if (!pd.ok()) return pd.status();
    layouts.output = pd->dst_desc();
    return layouts;
  }
  const bool binary = op == "Add" || op == "Sub" || op == "Mul" || op == "Div";
  if (binary && ctx.InputShape(0) == out_shape && ctx.InputShape(1) == out_shape) {
    layouts.inputs[1] = layouts.inputs[0];
    layouts.output = layouts.inputs[0];
    return layouts;
  }
  for (size_t i = 0; i < layouts.inputs.size(); ++i) {
    if (ctx.inputs[i]) layouts.inputs[i] = PlainDesc(ctx.InputShape(i));
  }
  layouts.output = PlainDesc(out_shape);
  return layouts;
}

}  // namespace crucible
