// Kernel: one graph node compiled to oneDNN primitives for a fixed batch size,
// and KernelContext, what the executor hands a kernel factory.
//
// Contract: a kernel's primitives and scratch memory are created once, in its
// factory. Forward() writes the node's output; Backward() writes (overwrites)
// the gradient of every node input for which input_grads[i] is non-empty, from
// the output gradient and the forward values, which stay valid between the
// two calls. Kernels never compute gradients for weights. All tensors are f32.
// The executor may give an input gradient the output gradient's buffer
// (GradientSharing): a kernel whose input gradient is the output gradient
// unchanged (Add) then has nothing to write, and element-wise kernels run in
// place.
//
// Memory formats: ChooseLayouts() says, per node, in which format each input
// must arrive and which format the output takes. Convolutions pick oneDNN's
// blocked formats; element-wise ops, pooling and same-shape binary ops keep
// whatever arrives; every other op sees plain row-major memory. The executor
// inserts reorders where a value's format differs from what its consumer
// requires; a gradient always has its value's format.
#ifndef CRUCIBLE_ENGINES_CORE_OPS_KERNEL_H_
#define CRUCIBLE_ENGINES_CORE_OPS_KERNEL_H_

#include <memory>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/graph.h"
#include "engines/core/shape_inference.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace crucible {

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void Forward(dnnl::stream& stream) = 0;
  virtual void Backward(dnnl::stream& stream) = 0;
  // True when Backward also applies the backward of the ReLU fused into this
  // kernel (see KernelContext::may_apply_relu_backward), so that the ReLU's own
  // backward step is skipped.
  virtual bool AppliesReluBackward() const { return false; }
};

// A kernel made of oneDNN primitives run in order: most kernels are just this,
// built by their factory.
struct Step {
  dnnl::primitive primitive;
  std::unordered_map<int, dnnl::memory> args;
};

class StepKernel final : public Kernel {
 public:
  std::vector<Step> forward;
  std::vector<Step> backward;

  void Forward(dnnl::stream& stream) override {
    for (Step& step : forward) step.primitive.execute(stream, step.args);
  }
  void Backward(dnnl::stream& stream) override {
    for (Step& step : backward) step.primitive.execute(stream, step.args);
  }
};

// Plain row-major f32 descriptor for a shape (a scalar is one element).
dnnl::memory::desc PlainDesc(const Shape& shape);
// Descriptor with explicit strides (views such as transposes).
dnnl::memory::desc StridedDesc(const Shape& shape, const std::vector<int64_t>& strides);
// Row-major strides of a shape.
std::vector<int64_t> RowMajorStrides(const Shape& shape);
// `shape` with leading 1s added up to `rank`.
Shape PadToRank(const Shape& shape, size_t rank);

struct KernelContext {
  dnnl::engine engine;
  const Graph* graph;
  const Node* node;
  const ShapeMap* shapes;
  std::vector<dnnl::memory> inputs;       // Forward values; empty memory for absent optional inputs.
  std::vector<dnnl::memory> input_grads;  // Where Backward writes; empty when no gradient is needed.
  dnnl::memory output;
  dnnl::memory output_grad;               // Empty when the output needs no gradient.
  bool fuse_relu = false;                 // Conv, Add: apply ReLU as a post-op (the Relu node is absorbed).
  // With fuse_relu: output_grad is the gradient of the ReLU's output, and the
  // ReLU's input gradient would overwrite it in place, so the kernel may apply
  // the ReLU's backward itself (masking output_grad by output > 0).
  bool may_apply_relu_backward = false;
  // Conv: `output` already holds another operand of a residual Add; add the
  // convolution to it (oneDNN sum post-op, before the fused ReLU).
  bool sum_into_output = false;
  // Add: another kernel computes the output (see sum_into_output); only the
  // backward is needed.
  bool output_computed_elsewhere = false;

  bool HasInput(size_t i) const { return i < inputs.size() && inputs[i]; }
  bool NeedsInputGrad(size_t i) const { return i < input_grads.size() && input_grads[i]; }
  bool NeedsAnyGrad() const {
    for (const auto& g : input_grads) {
      if (g) return true;
    }
    return false;
  }
  const Shape& InputShape(size_t i) const { return shapes->at(node->inputs[i]); }
  const Shape& OutputShape() const { return shapes->at(node->outputs[0]); }
  // Data of a constant input, or nullptr if input i is computed at run time.
  const Tensor* ConstantInput(size_t i) const;
  // Integer data of a constant input, or nullptr.
  const std::vector<int64_t>* IntConstantInput(size_t i) const;
  absl::Status Error(const std::string& what) const;
  // A new buffer owned by the oneDNN memory object.
  dnnl::memory NewMemory(const dnnl::memory::desc& md) const { return dnnl::memory(md, engine); }
  // The same buffer as `memory` described by `md` (same size, e.g. reshaped).
  dnnl::memory View(const dnnl::memory& memory, const dnnl::memory::desc& md) const {
    return dnnl::memory(md, engine, memory.get_data_handle());
  }
};

// A constant (weights) laid out in `md`, reordered now, at build time.
dnnl::memory RelayoutConstant(const dnnl::engine& engine, const dnnl::memory& src, const dnnl::memory::desc& md);
// Steps copying (reordering) `src` into `dst`, which have the same dims.
Step CopyStep(const dnnl::engine& engine, const dnnl::memory& src, const dnnl::memory& dst);
// dst = reduce_sum(src) over the dimensions where dst has size 1 (a copy when
// the dims are equal). Both have the same rank.
Step SumToShapeStep(const dnnl::engine& engine, const dnnl::memory& src, const dnnl::memory& dst);

struct Layouts {
  std::vector<dnnl::memory::desc> inputs;  // Required format of each input (empty for absent ones).
  dnnl::memory::desc output;
};

// REQUIRES: ctx.inputs hold the inputs as currently laid out; ctx.output unset.
absl::StatusOr<Layouts> ChooseLayouts(const KernelContext& ctx);

bool IsPlain(const dnnl::memory::desc& md);

// Forward primitive descriptors shared by the kernels and ChooseLayouts.
absl::StatusOr<dnnl::convolution_forward::primitive_desc> MakeConvForward(const KernelContext& ctx,
                                                                          dnnl::prop_kind prop,
                                                                          const dnnl::memory::desc& x_md,
                                                                          const dnnl::memory::desc& y_md);
absl::StatusOr<dnnl::pooling_forward::primitive_desc> MakePoolForward(const KernelContext& ctx,
                                                                      const dnnl::memory::desc& x_md,
                                                                      const dnnl::memory::desc& y_md);

using KernelFactory = absl::StatusOr<std::unique_ptr<Kernel>> (*)(const KernelContext&);

// Ops whose output shares the input's memory under another shape (Reshape,
// Flatten, Squeeze, Unsqueeze, Identity, Dropout); their kernel only copies the
// gradient back.
bool IsAliasOp(const std::string& op_type);
// The factory for an op type (alias ops included), or nullptr if unsupported.
KernelFactory FindKernelFactory(const std::string& op_type);

// Factories, one per operator family (ops/*.cc).
absl::StatusOr<std::unique_ptr<Kernel>> MakeConvKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakeMatMulKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakeBinaryKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakeEltwiseKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakeSoftmaxKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakePoolKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakeBatchNormKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakeTransposeKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakeConcatKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakePadKernel(const KernelContext& ctx);
absl::StatusOr<std::unique_ptr<Kernel>> MakeAliasKernel(const KernelContext& ctx);
// A Relu absorbed into the node before it (Conv or Add): nothing forward;
// backward from the ReLU's output.
absl::StatusOr<std::unique_ptr<Kernel>> MakeFusedReluKernel(const KernelContext& ctx);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_OPS_KERNEL_H_
