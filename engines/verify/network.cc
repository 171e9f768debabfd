#include "engines/verify/network.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engines/core/status_macros.h"
#include "engines/core/window_geometry.h"

namespace crucible {
namespace {

// The affine map from the current layer's input (`columns` values) to one
// graph value: value = W * layer_input + offset. W is stored column by
// column (each column has the value's shape) so that any linear operator can
// be applied to it column by column.
struct PendingAffine {
  Shape shape;                  // the value's full shape (with the batch dimension if any)
  int64_t columns = 0;
  std::vector<double> column_major;  // columns x NumElements(shape)
  std::vector<double> offset;        // NumElements(shape)
  std::string last_affine_node;
};

PendingAffine Identity(const Shape& shape) {
  PendingAffine a;
  a.shape = shape;
  a.columns = NumElements(shape);
  a.column_major.assign(a.columns * a.columns, 0.0);
  for (int64_t i = 0; i < a.columns; ++i) a.column_major[i * a.columns + i] = 1.0;
  a.offset.assign(a.columns, 0.0);
  return a;
}

// Applies the linear operator `linear` (rows_in -> rows_out values) to every
// column and to the offset, then adds `constant` to the offset.
void ApplyLinear(PendingAffine& a, const Shape& out_shape,
                 const std::function<void(const double* in, double* out)>& linear,
                 const std::vector<double>& constant) {
  const int64_t rows_in = NumElements(a.shape);
  const int64_t rows_out = NumElements(out_shape);
  std::vector<double> next(a.columns * rows_out, 0.0);
  for (int64_t c = 0; c < a.columns; ++c) linear(&a.column_major[c * rows_in], &next[c * rows_out]);
  std::vector<double> offset(rows_out, 0.0);
  linear(a.offset.data(), offset.data());
  if (!constant.empty()) {
    for (int64_t r = 0; r < rows_out; ++r) offset[r] += constant[r];
  }
  a.column_major = std::move(next);
  a.offset = std::move(offset);
  a.shape = out_shape;
}

AffineLayer CloseLayer(const PendingAffine& a, bool relu) {
  AffineLayer layer;
  layer.name = a.last_affine_node;
  layer.inputs = a.columns;
  layer.outputs = NumElements(a.shape);
  layer.weights.assign(layer.outputs * layer.inputs, 0.0);
  for (int64_t c = 0; c < layer.inputs; ++c) {
    for (int64_t r = 0; r < layer.outputs; ++r) {
      layer.weights[r * layer.inputs + c] = a.column_major[c * layer.outputs + r];
    }
  }
  layer.bias = a.offset;
  layer.relu = relu;
  return layer;
}

absl::Status Unsupported(const Node& node, const std::string& why) {
  return absl::FailedPreconditionError(absl::StrCat("verification does not support ", node.op_type, " node '",
                                                    node.name, "'", why.empty() ? "" : ": ", why));
}

// `constant` broadcast (numpy rules) to `shape`; nullopt-like error if it does not fit.
absl::StatusOr<std::vector<double>> BroadcastTo(const Tensor& constant, const Shape& shape, const Node& node) {
  const Shape& cs = constant.shape();
  if (cs.size() > shape.size()) return Unsupported(node, "its constant has a higher rank than the value");
  const size_t lead = shape.size() - cs.size();
  for (size_t i = 0; i < cs.size(); ++i) {
    if (cs[i] != 1 && cs[i] != shape[lead + i]) return Unsupported(node, "its constant would broadcast the value");
  }
  const int64_t n = NumElements(shape);
  std::vector<double> out(n);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t rest = flat, index = 0, stride = 1;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= static_cast<int64_t>(lead); --d) {
      const int64_t coord = rest % shape[d];
      rest /= shape[d];
      const int64_t cd = cs[d - lead];
      if (cd != 1) index += coord * stride;
      stride *= cd;
    }
    out[flat] = constant.at(index);
  }
  return out;
}

class Extractor {
 public:
  Extractor(const Model& model, const ShapeMap& shapes) : model_(model), graph_(model.graph()), shapes_(shapes) {}

  absl::StatusOr<AffineNetwork> Run() {
    AffineNetwork net;
    net.input_shape = model_.ExampleShape();
    RETURN_IF_ERROR(CheckStructure());
    current_ = graph_.input_name;
    pending_ = Identity(shapes_.at(current_));
    for (const Node& node : graph_.nodes) RETURN_IF_ERROR(Visit(node, net));
    if (pending_is_identity_ && !net.layers.empty()) {
      pending_.last_affine_node = "identity";
    }
    net.layers.push_back(CloseLayer(pending_, false));
    return net;
  }

 private:
  // The single non-constant input of `node`, which must be the chain's current value.
  absl::StatusOr<int> ChainInput(const Node& node) {
    int found = -1;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const std::string& in = node.inputs[i];
      if (in.empty() || graph_.IsConstant(in)) continue;
      if (found >= 0) return Unsupported(node, "it combines two computed values");
      found = static_cast<int>(i);
    }
    if (found < 0) return Unsupported(node, "it has no computed input");
    if (node.inputs[found] != current_) return Unsupported(node, "the network is not a chain (it branches here)");
    return found;
  }

  static bool Supported(const std::string& op) {
    static const auto* const kOps = new absl::flat_hash_set<std::string>{
        "Relu", "Flatten", "Reshape", "Identity", "Dropout", "Squeeze", "Unsqueeze", "Gemm", "MatMul",
        "Add", "Sub", "Mul", "Div", "Conv", "BatchNormalization"};
    return kOps->contains(op);
  }

  // Operator support and the chain shape, checked before any numeric work.
  absl::Status CheckStructure() {
    current_ = graph_.input_name;
    for (const Node& node : graph_.nodes) {
      if (!Supported(node.op_type)) return Unsupported(node, "");
      RETURN_IF_ERROR(ChainInput(node).status());
      current_ = node.outputs[0];
    }
    if (current_ != graph_.output_name) {
      return absl::FailedPreconditionError(absl::StrCat("verification needs a chain of nodes from the input to the "
                                                        "output; the chain ends at '", current_, "'"));
    }
    return absl::OkStatus();
  }

  const Tensor* FloatConstant(const std::string& name) const {
    auto it = graph_.float_constants.find(name);
    return it == graph_.float_constants.end() ? nullptr : &it->second;
  }

  absl::Status Visit(const Node& node, AffineNetwork& net) {
    ASSIGN_OR_RETURN(const int input_index, ChainInput(node));
    const Shape& out_shape = shapes_.at(node.outputs[0]);
    const std::string& op = node.op_type;
    if (op == "Relu") {
      if (pending_is_identity_ && pending_.last_affine_node.empty()) pending_.last_affine_node = node.name;
      net.layers.push_back(CloseLayer(pending_, true));
      pending_ = Identity(out_shape);
      pending_is_identity_ = true;
    } else if (op == "Flatten" || op == "Reshape" || op == "Identity" || op == "Dropout" || op == "Squeeze" ||
               op == "Unsqueeze") {
      pending_.shape = out_shape;
    } else if (op == "Gemm" || op == "MatMul") {
      RETURN_IF_ERROR(MatMulLike(node, input_index, out_shape));
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
      RETURN_IF_ERROR(Elementwise(node, input_index, out_shape));
    } else if (op == "Conv") {
      RETURN_IF_ERROR(Conv(node, out_shape));
    } else if (op == "BatchNormalization") {
      RETURN_IF_ERROR(BatchNorm(node, out_shape));
    } else {
      return Unsupported(node, "");
    }
    current_ = node.outputs[0];
    return absl::OkStatus();
  }

  void MarkAffine(const Node& node) {
    pending_.last_affine_node = node.name;
    pending_is_identity_ = false;
  }

  absl::Status MatMulLike(const Node& node, int input_index, const Shape& out_shape) {
    if (input_index != 0) return LeftConstantMatMul(node, out_shape);
    const Tensor* b = node.inputs.size() > 1 ? FloatConstant(node.inputs[1]) : nullptr;
    if (b == nullptr || b->rank() != 2) return Unsupported(node, "the right operand is not a constant matrix");
    const bool gemm = node.op_type == "Gemm";
    if (gemm && node.attributes.GetInt("transA", 0) != 0) return Unsupported(node, "transA is set");
    const bool trans_b = gemm && node.attributes.GetInt("transB", 0) != 0;
    const double alpha = gemm ? node.attributes.GetFloat("alpha", 1.0f) : 1.0;
    const double beta = gemm ? node.attributes.GetFloat("beta", 1.0f) : 1.0;
    const int64_t k = trans_b ? b->dim(1) : b->dim(0);
    const int64_t n = trans_b ? b->dim(0) : b->dim(1);
    const int64_t rows_in = NumElements(pending_.shape);
    if (rows_in % k != 0) return Unsupported(node, "its input does not match the weight matrix");
    const int64_t rows = rows_in / k;
    std::vector<double> bt(k * n);  // k x n
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t j = 0; j < n; ++j) bt[i * n + j] = alpha * (trans_b ? b->at(j * k + i) : b->at(i * n + j));
    }
    std::vector<double> constant;
    if (gemm && node.inputs.size() > 2 && !node.inputs[2].empty()) {
      const Tensor* c = FloatConstant(node.inputs[2]);
      if (c == nullptr) return Unsupported(node, "its bias is not a constant");
      ASSIGN_OR_RETURN(constant, BroadcastTo(*c, out_shape, node));
      for (double& v : constant) v *= beta;
    }
    ApplyLinear(pending_, out_shape, [&](const double* in, double* out) {
      for (int64_t r = 0; r < rows; ++r) {
        double* o = out + r * n;
        std::fill(o, o + n, 0.0);
        for (int64_t i = 0; i < k; ++i) {
          const double x = in[r * k + i];
          if (x == 0.0) continue;
          const double* w = &bt[i * n];
          for (int64_t j = 0; j < n; ++j) o[j] += x * w[j];
        }
      }
    }, constant);
    MarkAffine(node);
    return absl::OkStatus();
  }

  // y = A x for a constant matrix A (n x k) and x of shape [k] or [k, m].
  absl::Status LeftConstantMatMul(const Node& node, const Shape& out_shape) {
    const Tensor* a = FloatConstant(node.inputs[0]);
    if (node.op_type != "MatMul" || a == nullptr || a->rank() != 2) {
      return Unsupported(node, "the left operand is a constant that is not a matrix");
    }
    const Shape& in = pending_.shape;
    if (in.empty() || in.size() > 2 || in[0] != a->dim(1)) return Unsupported(node, "its input is not [k] or [k, m]");
    const int64_t n = a->dim(0), k = a->dim(1), m = in.size() == 2 ? in[1] : 1;
    ApplyLinear(pending_, out_shape, [&](const double* x, double* y) {
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < m; ++j) {
          double sum = 0.0;
          for (int64_t l = 0; l < k; ++l) sum += a->at(i * k + l) * x[l * m + j];
          y[i * m + j] = sum;
        }
      }
    }, {});
    MarkAffine(node);
    return absl::OkStatus();
  }

  absl::Status Elementwise(const Node& node, int input_index, const Shape& out_shape) {
    if (NumElements(out_shape) != NumElements(pending_.shape)) return Unsupported(node, "it broadcasts the value");
    const std::string& other = node.inputs[1 - input_index];
    const Tensor* c = FloatConstant(other);
    if (c == nullptr) return Unsupported(node, "its other operand is not a float constant");
    ASSIGN_OR_RETURN(std::vector<double> constant, BroadcastTo(*c, out_shape, node));
    const std::string& op = node.op_type;
    std::vector<double> scale(constant.size(), 1.0);
    std::vector<double> add(constant.size(), 0.0);
    for (size_t i = 0; i < constant.size(); ++i) {
      if (op == "Add") {
        add[i] = constant[i];
      } else if (op == "Sub") {
        if (input_index == 0) {
          add[i] = -constant[i];
        } else {
          scale[i] = -1.0;
          add[i] = constant[i];
        }
      } else if (op == "Mul") {
        scale[i] = constant[i];
      } else {  // Div
        if (input_index != 0) return Unsupported(node, "it divides by the computed value");
        if (constant[i] == 0.0) return Unsupported(node, "it divides by zero");
        scale[i] = 1.0 / constant[i];
      }
    }
    ApplyLinear(pending_, out_shape, [&](const double* in, double* out) {
      for (size_t i = 0; i < scale.size(); ++i) out[i] = scale[i] * in[i];
    }, add);
    MarkAffine(node);
    return absl::OkStatus();
  }

  absl::Status Conv(const Node& node, const Shape& out_shape) {
    const Tensor* w = node.inputs.size() > 1 ? FloatConstant(node.inputs[1]) : nullptr;
    if (w == nullptr || w->rank() != 4) return Unsupported(node, "only 2-D convolutions with constant weights");
    const Shape& in = pending_.shape;
    if (in.size() != 4 || out_shape.size() != 4) return Unsupported(node, "its input is not NCHW");
    ASSIGN_OR_RETURN(WindowGeometry g, ResolveWindow(node, in, {w->dim(2), w->dim(3)}));
    const int64_t groups = node.attributes.GetInt("group", 1);
    const int64_t in_c = in[1], in_h = in[2], in_w = in[3];
    const int64_t out_c = out_shape[1], out_h = out_shape[2], out_w = out_shape[3];
    const int64_t kc = w->dim(1), kh = w->dim(2), kw = w->dim(3);
    if (groups <= 0 || in_c != kc * groups || out_c % groups != 0) return Unsupported(node, "inconsistent groups");
    const int64_t out_per_group = out_c / groups;
    std::vector<double> constant;
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      const Tensor* b = FloatConstant(node.inputs[2]);
      if (b == nullptr) return Unsupported(node, "its bias is not a constant");
      constant.assign(NumElements(out_shape), 0.0);
      for (int64_t m = 0; m < out_c; ++m) {
        for (int64_t p = 0; p < out_h * out_w; ++p) constant[m * out_h * out_w + p] = b->at(m);
      }
    }
    ApplyLinear(pending_, out_shape, [&](const double* x, double* y) {
      for (int64_t m = 0; m < out_c; ++m) {
        const int64_t group = m / out_per_group;
        for (int64_t oh = 0; oh < out_h; ++oh) {
          for (int64_t ow = 0; ow < out_w; ++ow) {
            double sum = 0.0;
            for (int64_t c = 0; c < kc; ++c) {
              const int64_t ic = group * kc + c;
              for (int64_t i = 0; i < kh; ++i) {
                const int64_t ih = oh * g.strides[0] - g.pads_begin[0] + i * g.dilations[0];
                if (ih < 0 || ih >= in_h) continue;
                for (int64_t j = 0; j < kw; ++j) {
                  const int64_t iw = ow * g.strides[1] - g.pads_begin[1] + j * g.dilations[1];
                  if (iw < 0 || iw >= in_w) continue;
                  sum += w->at(((m * kc + c) * kh + i) * kw + j) * x[(ic * in_h + ih) * in_w + iw];
                }
              }
            }
            y[(m * out_h + oh) * out_w + ow] = sum;
          }
        }
      }
    }, constant);
    MarkAffine(node);
    return absl::OkStatus();
  }

  absl::Status BatchNorm(const Node& node, const Shape& out_shape) {
    if (node.inputs.size() < 5) return Unsupported(node, "it lacks its statistics");
    const Tensor* scale = FloatConstant(node.inputs[1]);
    const Tensor* shift = FloatConstant(node.inputs[2]);
    const Tensor* mean = FloatConstant(node.inputs[3]);
    const Tensor* var = FloatConstant(node.inputs[4]);
    if (scale == nullptr || shift == nullptr || mean == nullptr || var == nullptr) {
      return Unsupported(node, "its parameters are not constants");
    }
    const Shape& s = pending_.shape;
    if (s.size() < 2) return Unsupported(node, "its input has no channel dimension");
    const int64_t channels = s[1];
    const int64_t inner = NumElements(s) / (s[0] * channels);
    const double epsilon = node.attributes.GetFloat("epsilon", 1e-5f);
    std::vector<double> factor(NumElements(s)), add(NumElements(s));
    for (int64_t i = 0; i < NumElements(s); ++i) {
      const int64_t c = (i / inner) % channels;
      const double f = scale->at(c) / std::sqrt(double(var->at(c)) + epsilon);
      factor[i] = f;
      add[i] = shift->at(c) - f * mean->at(c);
    }
    ApplyLinear(pending_, out_shape, [&](const double* in, double* out) {
      for (size_t i = 0; i < factor.size(); ++i) out[i] = factor[i] * in[i];
    }, add);
    MarkAffine(node);
    return absl::OkStatus();
  }

  const Model& model_;
  const Graph& graph_;
  const ShapeMap& shapes_;
  std::string current_;
  PendingAffine pending_;
  bool pending_is_identity_ = true;
};

}  // namespace

int64_t AffineNetwork::input_size() const { return layers.empty() ? 0 : layers.front().inputs; }

int64_t AffineNetwork::output_size() const { return layers.empty() ? 0 : layers.back().outputs; }

std::vector<double> AffineNetwork::Evaluate(const std::vector<double>& input) const {
  std::vector<double> x = input;
  for (const AffineLayer& layer : layers) {
    std::vector<double> y(layer.bias);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      const double* w = &layer.weights[o * layer.inputs];
      double sum = 0.0;
      for (int64_t i = 0; i < layer.inputs; ++i) sum += w[i] * x[i];
      y[o] += sum;
      if (layer.relu && y[o] < 0.0) y[o] = 0.0;
    }
    x = std::move(y);
  }
  return x;
}

absl::StatusOr<AffineNetwork> ExtractAffineNetwork(const Model& model) {
  ASSIGN_OR_RETURN(const ShapeMap shapes, model.ShapesForBatch(1));
  return Extractor(model, shapes).Run();
}

}  // namespace crucible
