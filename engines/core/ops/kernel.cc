#include "engines/core/ops/kernel.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace crucible {

std::vector<int64_t> RowMajorStrides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

dnnl::memory::desc StridedDesc(const Shape& shape, const std::vector<int64_t>& strides) {
  if (shape.empty()) return dnnl::memory::desc({1}, dnnl::memory::data_type::f32, dnnl::memory::dims{1});
  return dnnl::memory::desc(dnnl::memory::dims(shape.begin(), shape.end()), dnnl::memory::data_type::f32,
                            dnnl::memory::dims(strides.begin(), strides.end()));
}

dnnl::memory::desc PlainDesc(const Shape& shape) { return StridedDesc(shape, RowMajorStrides(shape)); }

Shape PadToRank(const Shape& shape, size_t rank) {
  Shape out(rank - std::min(rank, shape.size()), 1);
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

const Tensor* KernelContext::ConstantInput(size_t i) const {
  if (i >= node->inputs.size()) return nullptr;
  auto it = graph->float_constants.find(node->inputs[i]);
  return it == graph->float_constants.end() ? nullptr : &it->second;
}

const std::vector<int64_t>* KernelContext::IntConstantInput(size_t i) const {
  if (i >= node->inputs.size()) return nullptr;
  auto it = graph->int_constants.find(node->inputs[i]);
  return it == graph->int_constants.end() ? nullptr : &it->second;
}

absl::Status KernelContext::Error(const std::string& what) const {
  return absl::FailedPreconditionError(absl::StrCat(node->op_type, " node '", node->name, "': ", what));
}

dnnl::memory RelayoutConstant(const dnnl::engine& engine, const dnnl::memory& src, const dnnl::memory::desc& md) {
  if (src.get_desc() == md) return src;
  dnnl::memory dst(md, engine);
  dnnl::stream stream(engine);
  dnnl::reorder(src, dst).execute(stream, const_cast<dnnl::memory&>(src), dst);
  stream.wait();
  return dst;
}

Step CopyStep(const dnnl::engine& engine, const dnnl::memory& src, const dnnl::memory& dst) {
  if (src.get_desc() == dst.get_desc()) {
    // A straight copy: the jitted eltwise kernel beats the generic reorder.
    dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_linear,
                                    src.get_desc(), 1.0f, 0.0f),
        engine);
    return {dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}};
  }
  dnnl::reorder::primitive_desc pd(engine, src.get_desc(), engine, dst.get_desc());
  return {dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}};
}

Step SumToShapeStep(const dnnl::engine& engine, const dnnl::memory& src, const dnnl::memory& dst) {
  if (src.get_desc().dims() == dst.get_desc().dims()) return CopyStep(engine, src, dst);
  dnnl::reduction::primitive_desc pd(
      dnnl::reduction::desc(dnnl::algorithm::reduction_sum, src.get_desc(), dst.get_desc(), 0.0f, 0.0f), engine);
  return {dnnl::reduction(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}};
}

bool IsAliasOp(const std::string& op_type) {
  return op_type == "Reshape" || op_type == "Flatten" || op_type == "Squeeze" || op_type == "Unsqueeze" ||
         op_type == "Identity" || op_type == "Dropout";
}

KernelFactory FindKernelFactory(const std::string& op_type) {
  static const auto* factories = new absl::flat_hash_map<std::string, KernelFactory>{
      {"Conv", MakeConvKernel},
      {"Gemm", MakeMatMulKernel},
      {"MatMul", MakeMatMulKernel},
      {"Add", MakeBinaryKernel},
      {"Sub", MakeBinaryKernel},
      {"Mul", MakeBinaryKernel},
      {"Div", MakeBinaryKernel},
      {"Relu", MakeEltwiseKernel},
      {"LeakyRelu", MakeEltwiseKernel},
      {"Sigmoid", MakeEltwiseKernel},
      {"Tanh", MakeEltwiseKernel},
      {"Clip", MakeEltwiseKernel},
      {"Softmax", MakeSoftmaxKernel},
      {"MaxPool", MakePoolKernel},
      {"AveragePool", MakePoolKernel},
      {"GlobalAveragePool", MakePoolKernel},
      {"BatchNormalization", MakeBatchNormKernel},
      {"Transpose", MakeTransposeKernel},
      {"Concat", MakeConcatKernel},
      {"Pad", MakePadKernel},
  };
  if (IsAliasOp(op_type)) return MakeAliasKernel;
  auto it = factories->find(op_type);
  return it == factories->end() ? nullptr : it->second;
}

}  // namespace crucible
