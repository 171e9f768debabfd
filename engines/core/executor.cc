#include "engines/core/executor.h"

#include <omp.h>

#include <cmath>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engines/core/gradient_sharing.h"
#include "engines/core/ops/kernel.h"
#include "engines/core/ops/relu_gradient_sum.h"
#include "engines/core/status_macros.h"

namespace crucible {

namespace {

// Adds `scratch` into `target` after a kernel wrote a second (third, ...)
// gradient contribution for the same value. With `relu_output`, the value is
// a fused ReLU's output and this is its last contribution: the ReLU's
// backward is applied in the same pass, target = (target + scratch) * [relu_output > 0].
struct Accumulation {
  dnnl::binary add;
  dnnl::memory target;
  dnnl::memory scratch;
  dnnl::memory relu_output;
};

// A kernel together with the reorders that bring its inputs into the formats
// it requires and its input gradients back into their values' formats.
class AdaptedKernel final : public Kernel {
 public:
  AdaptedKernel(std::vector<Step> before, std::unique_ptr<Kernel> kernel, std::vector<Step> after)
      : before_(std::move(before)), kernel_(std::move(kernel)), after_(std::move(after)) {}
  void Forward(dnnl::stream& stream) override {
    for (Step& step : before_) step.primitive.execute(stream, step.args);
    kernel_->Forward(stream);
  }
  bool AppliesReluBackward() const override { return kernel_->AppliesReluBackward(); }
  void Backward(dnnl::stream& stream) override {
    kernel_->Backward(stream);
    for (Step& step : after_) step.primitive.execute(stream, step.args);
  }

 private:
  std::vector<Step> before_;
  std::unique_ptr<Kernel> kernel_;
  std::vector<Step> after_;
};

}  // namespace

struct Executor::Plan {
  const Model* model = nullptr;
  int64_t batch = 1;
  int threads = 1;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  ShapeMap shapes;
  Shape input_shape;
  Shape output_shape;
  absl::flat_hash_map<std::string, dnnl::memory> values;
  absl::flat_hash_map<std::string, dnnl::memory> grads;
  // Outputs of nodes whose ReLU was fused in: their memory holds the ReLU's output.
  absl::flat_hash_map<std::string, std::string> fused_into;
  std::vector<std::unique_ptr<Kernel>> kernels;       // Aligned with graph().nodes.
  std::vector<bool> runs_backward;                    // Per node.
  std::vector<std::vector<Accumulation>> accumulate;  // Per node, after its Backward.
  int64_t forward_rows = 0;                           // Rows of the latest Forward; 0 before any.
};

namespace {

int ResolveThreads(int requested) { return requested > 0 ? requested : omp_get_num_procs(); }

absl::Status CheckInput(const Tensor& input, const Shape& full, int64_t batch, bool batched) {
  const bool shape_ok = batched ? input.rank() == static_cast<int64_t>(full.size()) && input.dim(0) >= 1 &&
                                      input.dim(0) <= batch &&
                                      std::equal(full.begin() + 1, full.end(), input.shape().begin() + 1)
                                : input.shape() == full;
  if (!shape_ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input shape ", ShapeToString(input.shape()), " does not match the model input ",
        batched ? absl::StrCat("[n,", ShapeToString(Shape(full.begin() + 1, full.end())).substr(1), " with 1 <= n <= ",
                               batch)
                : ShapeToString(full)));
  }
  for (int64_t i = 0; i < input.num_elements(); ++i) {
    if (!std::isfinite(input.at(i))) {
      return absl::InvalidArgumentError(absl::StrCat("input element ", i, " is ", input.at(i),
                                                     "; inputs must be finite"));
    }
  }
  return absl::OkStatus();
}

// Copies `src` into the leading rows of `dst` (a full batch in any format),
// zeroing the rest.
void CopyIn(const Tensor& src, dnnl::memory& dst, const Shape& full_shape, dnnl::stream& stream) {
  dnnl::memory plain = IsPlain(dst.get_desc()) ? dst : dnnl::memory(PlainDesc(full_shape), dst.get_engine());
  auto* out = static_cast<char*>(plain.get_data_handle());
  const size_t used = src.num_elements() * sizeof(float);
  std::memcpy(out, src.data(), used);
  std::memset(out + used, 0, plain.get_desc().get_size() - used);
  if (plain != dst) dnnl::reorder(plain, dst).execute(stream, plain, dst);
}

// The leading `rows` rows of a batched value (all of an unbatched one).
Tensor CopyOut(const dnnl::memory& src, Shape shape, int64_t rows, bool batched, dnnl::stream& stream) {
  dnnl::memory plain = src;
  if (!IsPlain(src.get_desc())) {
    plain = dnnl::memory(PlainDesc(shape), src.get_engine());
    dnnl::reorder(src, plain).execute(stream, const_cast<dnnl::memory&>(src), plain);
    stream.wait();
  }
  if (batched) shape[0] = rows;
  Tensor out(shape);
  std::memcpy(out.data(), plain.get_data_handle(), out.num_elements() * sizeof(float));
  return out;
}

// Nodes whose output feeds only a Relu (and is not the graph output) and that
// can apply the ReLU as a oneDNN post-op without needing their own output for
// backward: Conv, Gemm, MatMul, and same-shape Add (residual blocks).
// Producer index -> Relu index.
absl::flat_hash_map<size_t, size_t> FusableRelus(const Graph& graph, const ShapeMap& shapes) {
  absl::flat_hash_map<std::string, int> uses;
  absl::flat_hash_map<std::string, size_t> producer;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    for (const std::string& in : graph.nodes[k].inputs) ++uses[in];
    producer[graph.nodes[k].outputs[0]] = k;
  }
  auto can_fuse = [&](const Node& node) {
    if (node.op_type == "Conv" || node.op_type == "Gemm" || node.op_type == "MatMul") return true;
    const Shape& out = shapes.at(node.outputs[0]);
    return node.op_type == "Add" && shapes.at(node.inputs[0]) == out && shapes.at(node.inputs[1]) == out;
  };
  absl::flat_hash_map<size_t, size_t> fused;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& node = graph.nodes[k];
    if (node.op_type != "Relu") continue;
    auto p = producer.find(node.inputs[0]);
    if (p == producer.end() || !can_fuse(graph.nodes[p->second])) continue;
    if (uses[node.inputs[0]] == 1 && node.inputs[0] != graph.output_name) fused[p->second] = k;
  }
  return fused;
}

bool IsEltwiseOp(const std::string& op) {
  return op == "Relu" || op == "LeakyRelu" || op == "Sigmoid" || op == "Tanh" || op == "Clip";
}

bool SameFormat(const dnnl::memory& a, const dnnl::memory& b) { return a.get_desc() == b.get_desc(); }

// Whether operand i of `node` receives the output gradient unchanged, in the
// output's format: a same-shape Add.
bool PassesOutputGradient(const Node& node, size_t i, const ShapeMap& shapes,
                          const absl::flat_hash_map<std::string, dnnl::memory>& values) {
  if (node.op_type != "Add" || node.inputs.size() != 2) return false;
  const Shape& out = shapes.at(node.outputs[0]);
  return shapes.at(node.inputs[0]) == out && shapes.at(node.inputs[1]) == out &&
         SameFormat(values.at(node.inputs[i]), values.at(node.outputs[0]));
}

// Whether oneDNN can run the Conv of `ctx` adding into a destination in
// format `dst` (sum post-op, then ReLU if `relu`).
bool ConvTakesSum(KernelContext ctx, bool relu, const dnnl::memory::desc& dst) {
  ctx.sum_into_output = true;
  ctx.fuse_relu = relu;
  const Shape& x = ctx.InputShape(0);
  const dnnl::memory::desc any_x(dnnl::memory::dims(x.begin(), x.end()), dnnl::memory::data_type::f32,
                                 dnnl::memory::format_tag::any);
  try {
    auto pd = MakeConvForward(ctx, dnnl::prop_kind::forward_inference, any_x, dst);
    return pd.ok() && pd->dst_desc() == dst;
  } catch (const dnnl::error&) {
    return false;
  }
}

// A same-shape Add of two Conv outputs used nowhere else (a residual block
// with a projection): the later Conv can add its result to the earlier one's
// in place, so the Add costs no pass. Returns the later Conv's index, or -1.
int ResidualSumConv(const Graph& graph, size_t k, const ShapeMap& shapes,
                    const absl::flat_hash_map<std::string, size_t>& producer,
                    const absl::flat_hash_map<std::string, int>& uses) {
  const Node& node = graph.nodes[k];
  if (node.op_type != "Add" || node.inputs.size() != 2 || node.inputs[0] == node.inputs[1]) return -1;
  const Shape& out = shapes.at(node.outputs[0]);
  int late = -1;
  for (const std::string& in : node.inputs) {
    auto p = producer.find(in);
    if (p == producer.end() || graph.nodes[p->second].op_type != "Conv" || uses.at(in) != 1 ||
        in == graph.output_name || shapes.at(in) != out) {
      return -1;
    }
    late = std::max(late, static_cast<int>(p->second));
  }
  return late;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Executor>> Executor::Create(const Model& model, const ExecutorOptions& options) {
  auto plan = std::make_unique<Plan>();
  plan->model = &model;
  plan->batch = options.batch_size;
  plan->threads = ResolveThreads(options.num_threads);
  if (options.batch_size < 1 || options.batch_size > 65536) {
    return absl::InvalidArgumentError(absl::StrCat("batch size ", options.batch_size, " is outside 1..65536"));
  }
  ASSIGN_OR_RETURN(plan->shapes, model.ShapesForBatch(options.batch_size));
  try {
    RETURN_IF_ERROR(Build(*plan));
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN could not build the model: ", e.what()));
  }
  return std::unique_ptr<Executor>(new Executor(std::move(plan)));
}

absl::Status Executor::Build(Plan& plan) {
  omp_set_num_threads(plan.threads);
  const Graph& graph = plan.model->graph();
  const size_t n = graph.nodes.size();
  plan.input_shape = plan.shapes.at(graph.input_name);
  plan.output_shape = plan.shapes.at(graph.output_name);
  const absl::flat_hash_map<size_t, size_t> fused_relus = FusableRelus(graph, plan.shapes);
  absl::flat_hash_set<size_t> absorbed_relus;
  for (const auto& [conv, relu] : fused_relus) absorbed_relus.insert(relu);

  absl::flat_hash_map<std::string, size_t> producer_of;
  absl::flat_hash_map<std::string, int> uses;
  for (size_t k = 0; k < n; ++k) {
    producer_of[graph.nodes[k].outputs[0]] = k;
    for (const std::string& in : graph.nodes[k].inputs) ++uses[in];
  }

  // Forward values, each in the format its producer chose.
  absl::flat_hash_set<std::string> requires_grad = {graph.input_name};
  plan.values[graph.input_name] = dnnl::memory(PlainDesc(plan.input_shape), plan.engine);
  std::vector<KernelContext> contexts(n);
  std::vector<Layouts> layouts(n);
  for (size_t k = 0; k < n; ++k) {
    const Node& node = graph.nodes[k];
    KernelContext& ctx = contexts[k];
    ctx = KernelContext{plan.engine, &graph, &node, &plan.shapes, {}, {}, {}, {}, fused_relus.contains(k)};
    for (const std::string& in : node.inputs) {
      auto c = graph.float_constants.find(in);
      if (c != graph.float_constants.end() && !plan.values.contains(in)) {
        plan.values[in] = dnnl::memory(PlainDesc(c->second.shape()), plan.engine, const_cast<float*>(c->second.data()));
      }
      auto value = plan.values.find(in);  // Integer constants (shapes, axes) have no memory.
      ctx.inputs.push_back(value == plan.values.end() ? dnnl::memory() : value->second);
      if (requires_grad.contains(in)) requires_grad.insert(node.outputs[0]);
    }
    const std::string& out = node.outputs[0];
    if (absorbed_relus.contains(k)) {
      layouts[k].inputs = {ctx.inputs[0].get_desc()};
      plan.values[out] = ctx.inputs[0];
      plan.fused_into[node.inputs[0]] = out;
      continue;
    }
    ASSIGN_OR_RETURN(layouts[k], ChooseLayouts(ctx));
    if (IsAliasOp(node.op_type)) {
      // Aliasing needs plain memory; a reorder into a plain copy comes first otherwise.
      dnnl::memory source = ctx.inputs[0];
      if (source.get_desc() != layouts[k].inputs[0]) source = dnnl::memory(layouts[k].inputs[0], plan.engine);
      plan.values[out] = dnnl::memory(layouts[k].output, plan.engine, source.get_data_handle());
      ctx.inputs[0] = source;
    } else {
      plan.values[out] = dnnl::memory(layouts[k].output, plan.engine);
    }
    if (const int late = ResidualSumConv(graph, k, plan.shapes, producer_of, uses);
        late >= 0 && SameFormat(ctx.inputs[0], ctx.inputs[1]) && ctx.inputs[0].get_desc() == layouts[k].output &&
        ConvTakesSum(contexts[late], fused_relus.contains(k), ctx.inputs[0].get_desc())) {
      // The earlier Conv writes the Add's buffer, the later one adds to it.
      const size_t late_input = producer_of.at(node.inputs[0]) == static_cast<size_t>(late) ? 0 : 1;
      const dnnl::memory buffer = ctx.inputs[1 - late_input];
      plan.values[node.inputs[late_input]] = buffer;
      plan.values[out] = buffer;
      ctx.inputs[late_input] = buffer;
      ctx.output_computed_elsewhere = true;
      contexts[late].sum_into_output = true;
      contexts[late].fuse_relu = fused_relus.contains(k);
      const std::string& result = fused_relus.contains(k) ? graph.nodes[fused_relus.at(k)].outputs[0] : out;
      for (const std::string& in : node.inputs) plan.fused_into[in] = result;
    }
  }
  // Which gradients share a buffer (see GradientSharing), decided in backward
  // order; `first_write[k][i]`: node k is the first to write input i's gradient.
  absl::flat_hash_map<std::string, std::vector<int>> consumers;  // Ascending.
  for (size_t k = 0; k < n; ++k) {
    const Node& node = graph.nodes[k];
    if (!requires_grad.contains(node.outputs[0])) continue;
    for (const std::string& in : node.inputs) {
      if (requires_grad.contains(in)) consumers[in].push_back(static_cast<int>(k));
    }
  }
  // Lifetime of a gradient created at `created`: every consumer but the first
  // writer accumulates into it later; an in-place step modifies it at once.
  auto lifetime = [&](const std::string& name, int created, bool first_writer_is_consumer, bool in_place) {
    GradientSharing::Lifetime life{created, producer_of.contains(name) ? static_cast<int>(producer_of.at(name)) : -1, {}};
    std::vector<int> later = consumers[name];
    if (first_writer_is_consumer) later.pop_back();
    life.modified = later;
    if (in_place) life.modified.push_back(created);
    return life;
  };
  auto passes_gradient = [&](size_t k, size_t i) {
    return PassesOutputGradient(graph.nodes[k], i, plan.shapes, plan.values);
  };
  auto in_place = [&](size_t k) {
    return absorbed_relus.contains(k) || IsEltwiseOp(graph.nodes[k].op_type);
  };
  GradientSharing sharing;
  sharing.AddOwn(graph.output_name, lifetime(graph.output_name, static_cast<int>(n), false, false));
  std::vector<std::vector<bool>> first_write(n);
  plan.runs_backward.assign(n, false);
  absl::flat_hash_set<std::string> written = {graph.output_name};
  for (size_t k = n; k-- > 0;) {
    const Node& node = graph.nodes[k];
    first_write[k].assign(node.inputs.size(), false);
    if (!requires_grad.contains(node.outputs[0])) continue;
    plan.runs_backward[k] = true;
    const int time = static_cast<int>(k);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const std::string& in = node.inputs[i];
      if (!requires_grad.contains(in) || !written.insert(in).second) continue;
      first_write[k][i] = true;
      const bool shared =
          (passes_gradient(k, i) && sharing.TryShare(in, node.outputs[0], lifetime(in, time, true, false))) ||
          (in_place(k) && SameFormat(plan.values.at(in), plan.values.at(node.outputs[0])) &&
           sharing.TryShare(in, node.outputs[0], lifetime(in, time, true, true)));
      if (!shared) sharing.AddOwn(in, lifetime(in, time, true, false));
    }
  }
  for (const std::string& name : requires_grad) {
    if (!written.contains(name)) sharing.AddOwn(name, {});  // Used by no node that runs backward.
  }
  for (const std::string& name : requires_grad) {
    if (sharing.BufferOf(name) == name) plan.grads[name] = dnnl::memory(plan.values.at(name).get_desc(), plan.engine);
  }
  for (const std::string& name : requires_grad) {
    if (sharing.BufferOf(name) == name) continue;
    const dnnl::memory buffer = plan.grads.at(sharing.BufferOf(name));  // Copied before the map may grow.
    plan.grads[name] = buffer;
  }

  // Where each kernel writes each input gradient: the value's gradient for the
  // first contribution in backward order, a scratch buffer added to it after.
  // An operand that receives the output gradient unchanged adds that directly.
  std::vector<std::vector<dnnl::memory>> grad_targets(n);
  plan.accumulate.resize(n);
  for (size_t k = n; k-- > 0;) {
    const Node& node = graph.nodes[k];
    grad_targets[k].resize(node.inputs.size());
    if (!plan.runs_backward[k]) continue;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const std::string& in = node.inputs[i];
      if (!requires_grad.contains(in)) continue;
      const dnnl::memory& target = plan.grads.at(in);
      if (first_write[k][i]) {
        grad_targets[k][i] = target;
        continue;
      }
      dnnl::memory scratch = passes_gradient(k, i) ? plan.grads.at(node.outputs[0])
                                                   : dnnl::memory(target.get_desc(), plan.engine);
      grad_targets[k][i] = scratch;
      dnnl::binary::primitive_desc add_pd(
          dnnl::binary::desc(dnnl::algorithm::binary_add, target.get_desc(), target.get_desc(), target.get_desc()),
          plan.engine);
      plan.accumulate[k].push_back({dnnl::binary(add_pd), target, scratch, {}});
    }
  }
  // A fused ReLU whose output gradient gets its last contribution by an
  // accumulation right before the ReLU's backward (in place) lets that
  // accumulation apply it: one pass over the gradient instead of two.
  absl::flat_hash_set<size_t> relu_in_accumulation;
  for (size_t r : absorbed_relus) {
    const Node& node = graph.nodes[r];
    const std::string& out = node.outputs[0];
    const std::vector<int>& users = consumers[out];
    if (!plan.runs_backward[r] || users.size() < 2 || !plan.grads.contains(node.inputs[0]) ||
        plan.grads.at(node.inputs[0]).get_data_handle() != plan.grads.at(out).get_data_handle()) {
      continue;
    }
    const size_t last = static_cast<size_t>(users.front());  // Runs last of the consumers.
    bool adjacent = true;
    for (size_t m = r + 1; m < last; ++m) adjacent = adjacent && !plan.runs_backward[m];
    if (!adjacent) continue;
    for (auto acc = plan.accumulate[last].rbegin(); acc != plan.accumulate[last].rend(); ++acc) {
      if (acc->target.get_data_handle() != plan.grads.at(out).get_data_handle()) continue;
      acc->relu_output = plan.values.at(out);
      relu_in_accumulation.insert(r);
      break;
    }
  }

  for (size_t k = 0; k < n; ++k) {
    const Node& node = graph.nodes[k];
    KernelContext& ctx = contexts[k];
    ctx.output = plan.values.at(node.outputs[0]);
    if (plan.runs_backward[k]) ctx.output_grad = plan.grads.at(node.outputs[0]);
    if (auto relu = fused_relus.find(k); relu != fused_relus.end() && plan.runs_backward[k]) {
      const std::string& relu_out = graph.nodes[relu->second].outputs[0];
      ctx.may_apply_relu_backward = !relu_in_accumulation.contains(relu->second) &&
                                    plan.grads.at(relu_out).get_data_handle() == ctx.output_grad.get_data_handle();
    }
    std::vector<Step> before, after;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      ctx.input_grads.push_back(grad_targets[k][i]);
      if (!ctx.inputs[i]) continue;
      const dnnl::memory& value = plan.values.at(node.inputs[i]);
      if (value.get_desc() == layouts[k].inputs[i]) continue;
      // Alias ops already hold the plain copy their output shares.
      if (ctx.inputs[i] == value) ctx.inputs[i] = dnnl::memory(layouts[k].inputs[i], plan.engine);
      before.push_back(CopyStep(plan.engine, value, ctx.inputs[i]));
      if (grad_targets[k][i]) {
        ctx.input_grads[i] = dnnl::memory(layouts[k].inputs[i], plan.engine);
        after.push_back(CopyStep(plan.engine, ctx.input_grads[i], grad_targets[k][i]));
      }
    }
    KernelFactory factory = absorbed_relus.contains(k) ? MakeFusedReluKernel : FindKernelFactory(node.op_type);
    if (absorbed_relus.contains(k) && (relu_in_accumulation.contains(k) ||
                                       plan.kernels.at(producer_of.at(node.inputs[0]))->AppliesReluBackward())) {
      plan.kernels.push_back(std::make_unique<StepKernel>());
      continue;
    }
    if (factory == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("unsupported operator '", node.op_type, "' (node '", node.name, "')"));
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, factory(ctx));
    if (!before.empty() || !after.empty()) {
      kernel = std::make_unique<AdaptedKernel>(std::move(before), std::move(kernel), std::move(after));
    }
    plan.kernels.push_back(std::move(kernel));
  }
  return absl::OkStatus();
}

Executor::Executor(std::unique_ptr<Plan> plan) : plan_(std::move(plan)) {}
Executor::~Executor() = default;

int64_t Executor::batch_size() const { return plan_->batch; }
const Shape& Executor::input_shape() const { return plan_->input_shape; }
const Shape& Executor::output_shape() const { return plan_->output_shape; }

absl::StatusOr<Tensor> Executor::Forward(const Tensor& input) { return Forward(input, {}, nullptr); }

absl::StatusOr<Tensor> Executor::Forward(const Tensor& input, const std::vector<std::string>& names,
                                         absl::flat_hash_map<std::string, Tensor>* activations) {
  Plan& p = *plan_;
  RETURN_IF_ERROR(CheckInput(input, p.input_shape, p.batch, p.model->has_batch_dimension()));
  for (const std::string& name : names) {
    if (!p.values.contains(name) || p.model->graph().IsConstant(name)) {
      return absl::InvalidArgumentError(absl::StrCat("no intermediate value named '", name, "' in the model"));
    }
    if (auto fused = p.fused_into.find(name); fused != p.fused_into.end()) {
      return absl::InvalidArgumentError(absl::StrCat("value '", name, "' is fused into the computation of '",
                                                     fused->second, "' (a ReLU or residual Add that follows it); ",
                                                     "ask for '", fused->second, "' instead"));
    }
  }
  const int64_t rows = p.model->has_batch_dimension() ? input.dim(0) : 1;
  p.forward_rows = 0;
  try {
    omp_set_num_threads(p.threads);
    CopyIn(input, p.values.at(p.model->input_name()), p.input_shape, p.stream);
    for (auto& kernel : p.kernels) kernel->Forward(p.stream);
    p.stream.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN forward failed: ", e.what()));
  }
  p.forward_rows = rows;
  if (activations != nullptr) {
    for (const std::string& name : names) {
      (*activations)[name] = CopyOut(p.values.at(name), p.shapes.at(name), rows, p.model->has_batch_dimension(), p.stream);
    }
  }
  return CopyOut(p.values.at(p.model->output_name()), p.output_shape, rows, p.model->has_batch_dimension(), p.stream);
}

absl::StatusOr<Tensor> Executor::Backward(const Tensor& cotangent) {
  Plan& p = *plan_;
  if (p.forward_rows == 0) return absl::FailedPreconditionError("Backward called before a successful Forward");
  Shape expected = p.output_shape;
  if (p.model->has_batch_dimension()) expected[0] = p.forward_rows;
  if (cotangent.shape() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("cotangent shape ", ShapeToString(cotangent.shape()),
                                                   " does not match the output shape ", ShapeToString(expected)));
  }
  const Graph& graph = p.model->graph();
  try {
    omp_set_num_threads(p.threads);
    CopyIn(cotangent, p.grads.at(graph.output_name), p.output_shape, p.stream);
    for (size_t k = p.kernels.size(); k-- > 0;) {
      if (!p.runs_backward[k]) continue;
      p.kernels[k]->Backward(p.stream);
      for (Accumulation& acc : p.accumulate[k]) {
        if (!acc.relu_output) {
          acc.add.execute(p.stream, {{DNNL_ARG_SRC_0, acc.target}, {DNNL_ARG_SRC_1, acc.scratch}, {DNNL_ARG_DST, acc.target}});
          continue;
        }
        p.stream.wait();
        auto* target = static_cast<float*>(acc.target.get_data_handle());
        ReluGradientSum(static_cast<const float*>(acc.relu_output.get_data_handle()), target,
                        static_cast<const float*>(acc.scratch.get_data_handle()), target,
                        static_cast<int64_t>(acc.target.get_desc().get_size() / sizeof(float)));
      }
    }
    p.stream.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN backward failed: ", e.what()));
  }
  return CopyOut(p.grads.at(graph.input_name), p.input_shape, p.forward_rows, p.model->has_batch_dimension(), p.stream);
}

absl::StatusOr<Tensor> Executor::InputGradient(const Tensor& input, const Tensor& cotangent) {
  RETURN_IF_ERROR(Forward(input).status());
  return Backward(cotangent);
}

}  // namespace crucible
