// Add, Sub, Mul, Div with numpy broadcasting on oneDNN binary primitives.
//
// oneDNN broadcasts only the second source, so a first operand smaller than
// the output is first materialised at full size. Gradients of broadcast
// operands are summed back to their shape with a reduction primitive.
#include <cstring>

#include "engines/core/ops/kernel.h"

namespace crucible {
namespace {

dnnl::algorithm BinaryAlgorithm(const std::string& op) {
  if (op == "Add") return dnnl::algorithm::binary_add;
  if (op == "Sub") return dnnl::algorithm::binary_sub;
  if (op == "Mul") return dnnl::algorithm::binary_mul;
  return dnnl::algorithm::binary_div;
}

Step BinaryStep(const dnnl::engine& engine, dnnl::algorithm alg, const dnnl::memory& src0, const dnnl::memory& src1,
                const dnnl::memory& dst, const dnnl::post_ops& post_ops = dnnl::post_ops()) {
  dnnl::primitive_attr attr;
  attr.set_post_ops(post_ops);
  dnnl::binary::primitive_desc pd(dnnl::binary::desc(alg, src0.get_desc(), src1.get_desc(), dst.get_desc()), attr,
                                  engine);
  return {dnnl::binary(pd), {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, dst}}};
}


}  // namespace

absl::StatusOr<std::unique_ptr<Kernel>> MakeBinaryKernel(const KernelContext& ctx) {
  const std::string& op = ctx.node->op_type;
  const Shape& out_shape = ctx.OutputShape();
  // Same-shape operands keep the format they arrive in (see ChooseLayouts);
  // broadcasting works on plain memory with ranks aligned.
  const bool same_dims = ctx.InputShape(0) == out_shape && ctx.InputShape(1) == out_shape;
  const size_t rank = std::max<size_t>(out_shape.size(), 1);
  auto view = [&](const dnnl::memory& m, const Shape& shape) {
    return same_dims || !m ? m : ctx.View(m, PlainDesc(PadToRank(shape, rank)));
  };
  const dnnl::memory a = view(ctx.inputs[0], ctx.InputShape(0));
  const dnnl::memory b = view(ctx.inputs[1], ctx.InputShape(1));
  const dnnl::memory y = view(ctx.output, out_shape);
  const dnnl::memory::desc full_md = y.get_desc();
  const bool a_broadcast = a.get_desc().dims() != full_md.dims();
  auto kernel = std::make_unique<StepKernel>();

  dnnl::memory a_full = a;
  if (a_broadcast) {
    dnnl::memory zeros = ctx.NewMemory(full_md);
    std::memset(zeros.get_data_handle(), 0, full_md.get_size());
    a_full = ctx.NewMemory(full_md);
    kernel->forward.push_back(BinaryStep(ctx.engine, dnnl::algorithm::binary_add, zeros, a, a_full));
  }
  const dnnl::algorithm alg = BinaryAlgorithm(op);
  dnnl::post_ops relu;
  if (ctx.fuse_relu) relu.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  if (!ctx.output_computed_elsewhere) kernel->forward.push_back(BinaryStep(ctx.engine, alg, a_full, b, y, relu));

  const dnnl::memory dy = view(ctx.output_grad, out_shape);
  // Gradient of one operand: `local` computes the full-size gradient into its
  // argument; it is then summed down to the operand's shape.
  auto add_grad = [&](size_t i, const dnnl::memory& operand, auto&& local) {
    if (!ctx.NeedsInputGrad(i)) return;
    const dnnl::memory grad = view(ctx.input_grads[i], ctx.InputShape(i));
    const bool reduce = operand.get_desc().dims() != full_md.dims();
    const dnnl::memory target = reduce ? ctx.NewMemory(full_md) : grad;
    if (!local(target)) {  // The gradient is dY itself,
      // which the executor may have handed over as the operand's gradient already.
      if (grad.get_data_handle() != dy.get_data_handle()) kernel->backward.push_back(SumToShapeStep(ctx.engine, dy, grad));
      return;
    }
    if (reduce) kernel->backward.push_back(SumToShapeStep(ctx.engine, target, grad));
  };
  add_grad(0, a, [&](const dnnl::memory& target) {
    if (op == "Mul") kernel->backward.push_back(BinaryStep(ctx.engine, dnnl::algorithm::binary_mul, dy, b, target));
    else if (op == "Div") kernel->backward.push_back(BinaryStep(ctx.engine, dnnl::algorithm::binary_div, dy, b, target));
    else return false;
    return true;
  });
  add_grad(1, b, [&](const dnnl::memory& target) {
    if (op == "Add") return false;
    if (op == "Sub") {
      dnnl::eltwise_forward::primitive_desc pd(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_linear, full_md,
                                      -1.0f, 0.0f),
          ctx.engine);
      kernel->backward.push_back({dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, dy}, {DNNL_ARG_DST, target}}});
    } else if (op == "Mul") {
      kernel->backward.push_back(BinaryStep(ctx.engine, dnnl::algorithm::binary_mul, dy, a_full, target));
    } else {  // d(a/b)/db = -y/b.
      dnnl::post_ops ops;
      ops.append_binary(dnnl::algorithm::binary_div, b.get_desc());
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, -1.0f, 0.0f);
      Step step = BinaryStep(ctx.engine, dnnl::algorithm::binary_mul, dy, y, target, ops);
      step.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = b;
      kernel->backward.push_back(std::move(step));
    }
    return true;
  });
  return kernel;
}

}  // namespace crucible
