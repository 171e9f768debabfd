// Gemm and MatMul on oneDNN matmul primitives.
//
// Both become Y[..., M, N] = A[..., M, K] x B[..., K, N] (+ bias) over strided
// views, so transposes and ONNX's 1-D promotion cost nothing. Constant
// operands are laid out once in oneDNN's preferred format. Input gradients are
// matmuls too: dA = dY x B^T and dB = A^T x dY.
#include "absl/strings/str_cat.h"
#include "engines/core/ops/kernel.h"

namespace crucible {
namespace {

// A matrix operand: dims (rank >= 2) and strides over some buffer.
struct MatrixView {
  Shape dims;
  std::vector<int64_t> strides;

  static MatrixView Plain(const Shape& dims) { return {dims, RowMajorStrides(dims)}; }
  MatrixView Transposed() const {
    MatrixView t = *this;
    std::swap(t.dims[t.dims.size() - 1], t.dims[t.dims.size() - 2]);
    std::swap(t.strides[t.strides.size() - 1], t.strides[t.strides.size() - 2]);
    return t;
  }
  MatrixView PaddedTo(size_t rank) const {
    MatrixView p = *this;
    while (p.dims.size() < rank) {
      p.dims.insert(p.dims.begin(), 1);
      p.strides.insert(p.strides.begin(), p.strides.front() * p.dims[1]);
    }
    return p;
  }
  dnnl::memory::desc Desc() const { return StridedDesc(dims, strides); }
  Shape Batch() const { return Shape(dims.begin(), dims.end() - 2); }
};

// dst = src x weights (+ bias): the matmul step, with constant weights relaid.
Step MatMulStep(const dnnl::engine& engine, const dnnl::memory& src, const MatrixView& src_view,
                const dnnl::memory& weights, const MatrixView& weights_view, bool weights_constant,
                const dnnl::memory& dst, const MatrixView& dst_view, const dnnl::memory& bias = dnnl::memory(),
                bool relu = false) {
  const dnnl::memory::desc w_md =
      weights_constant ? dnnl::memory::desc(dnnl::memory::dims(weights_view.dims.begin(), weights_view.dims.end()),
                                            dnnl::memory::data_type::f32, dnnl::memory::format_tag::any)
                       : weights_view.Desc();
  dnnl::matmul::desc desc = bias ? dnnl::matmul::desc(src_view.Desc(), w_md, bias.get_desc(), dst_view.Desc())
                                 : dnnl::matmul::desc(src_view.Desc(), w_md, dst_view.Desc());
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(desc, attr, engine);
  const dnnl::memory w_view(weights_view.Desc(), engine, weights.get_data_handle());
  const dnnl::memory w = weights_constant ? RelayoutConstant(engine, w_view, pd.weights_desc()) : w_view;
  Step step{dnnl::matmul(pd),
            {{DNNL_ARG_SRC, dnnl::memory(src_view.Desc(), engine, src.get_data_handle())},
             {DNNL_ARG_WEIGHTS, w},
             {DNNL_ARG_DST, dnnl::memory(dst_view.Desc(), engine, dst.get_data_handle())}}};
  if (bias) step.args[DNNL_ARG_BIAS] = bias;
  return step;
}

// A plain constant copy of `view` of `data`, scaled.
dnnl::memory MaterializeScaled(const dnnl::engine& engine, const Tensor& data, const MatrixView& view, float scale) {
  dnnl::memory out(PlainDesc(view.dims), engine);
  float* dst = static_cast<float*>(out.get_data_handle());
  const int64_t rows = view.dims[0], cols = view.dims[1];
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = scale * data.at(r * view.strides[0] + c * view.strides[1]);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeGemm(const KernelContext& ctx) {
  const Attributes& attrs = ctx.node->attributes;
  const Shape& a_shape = ctx.InputShape(0);
  const Shape& y_shape = ctx.OutputShape();
  MatrixView a = MatrixView::Plain(a_shape);
  if (attrs.GetInt("transA", 0) != 0) a = a.Transposed();
  MatrixView b = MatrixView::Plain(ctx.InputShape(1));
  if (attrs.GetInt("transB", 0) != 0) b = b.Transposed();
  const MatrixView y = MatrixView::Plain(y_shape);
  const float alpha = attrs.GetFloat("alpha", 1.0f), beta = attrs.GetFloat("beta", 1.0f);
  // alpha*A'B' + beta*C == A' (alpha B') + (beta C).
  const dnnl::memory b_scaled = MaterializeScaled(ctx.engine, *ctx.ConstantInput(1), b, alpha);
  dnnl::memory bias;
  if (ctx.HasInput(2)) {
    const Tensor& c = *ctx.ConstantInput(2);
    const Shape c_shape = PadToRank(c.shape(), 2);
    bias = ctx.NewMemory(PlainDesc(c_shape));
    float* dst = static_cast<float*>(bias.get_data_handle());
    for (int64_t i = 0; i < c.num_elements(); ++i) dst[i] = beta * c.at(i);
  }
  auto kernel = std::make_unique<StepKernel>();
  const MatrixView b_plain = MatrixView::Plain(b.dims);
  kernel->forward.push_back(
      MatMulStep(ctx.engine, ctx.inputs[0], a, b_scaled, b_plain, true, ctx.output, y, bias, ctx.fuse_relu));
  if (ctx.NeedsInputGrad(0)) {
    kernel->backward.push_back(MatMulStep(ctx.engine, ctx.output_grad, y, b_scaled, b_plain.Transposed(), true,
                                          ctx.input_grads[0], a));
  }
  return kernel;
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeMatMul(const KernelContext& ctx) {
  Shape a_shape = ctx.InputShape(0), b_shape = ctx.InputShape(1);
  if (a_shape.size() == 1) a_shape.insert(a_shape.begin(), 1);
  if (b_shape.size() == 1) b_shape.push_back(1);
  const size_t rank = std::max(a_shape.size(), b_shape.size());
  const MatrixView a = MatrixView::Plain(a_shape).PaddedTo(rank);
  const MatrixView b = MatrixView::Plain(b_shape).PaddedTo(rank);
  Shape y_dims = *BroadcastShapes(a.Batch(), b.Batch());
  y_dims.push_back(a.dims[rank - 2]);
  y_dims.push_back(b.dims[rank - 1]);
  const MatrixView y = MatrixView::Plain(y_dims);
  const bool b_constant = ctx.ConstantInput(1) != nullptr;

  auto kernel = std::make_unique<StepKernel>();
  kernel->forward.push_back(MatMulStep(ctx.engine, ctx.inputs[0], a, ctx.inputs[1], b, b_constant, ctx.output, y,
                                       dnnl::memory(), ctx.fuse_relu));
  auto check_no_broadcast = [&](const MatrixView& operand) -> absl::Status {
    if (operand.Batch() != y.Batch()) {
      return ctx.Error("gradients through batch dimensions broadcast between two computed operands are not supported");
    }
    return absl::OkStatus();
  };
  if (ctx.NeedsInputGrad(0)) {
    if (auto s = check_no_broadcast(a); !s.ok()) return s;
    kernel->backward.push_back(MatMulStep(ctx.engine, ctx.output_grad, y, ctx.inputs[1], b.Transposed(), b_constant,
                                          ctx.input_grads[0], a));
  }
  if (ctx.NeedsInputGrad(1)) {
    if (auto s = check_no_broadcast(b); !s.ok()) return s;
    // dB = A^T x dY: A^T is the source; a constant A is still read in place.
    kernel->backward.push_back(MatMulStep(ctx.engine, ctx.inputs[0], a.Transposed(), ctx.output_grad, y, false,
                                          ctx.input_grads[1], b));
  }
  return kernel;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Kernel>> MakeMatMulKernel(const KernelContext& ctx) {
  return ctx.node->op_type == "Gemm" ? MakeGemm(ctx) : MakeMatMul(ctx);
}

}  // namespace crucible
