#include "engines/core/model.h"

#include "absl/strings/str_cat.h"
#include "engines/core/constant_folding.h"
#include "engines/core/file_io.h"
#include "engines/core/graph_rewrites.h"
#include "engines/core/onnx_import.h"
#include "engines/core/status_macros.h"

namespace crucible {

absl::StatusOr<Model> Model::FromOnnx(std::string_view bytes) {
  ASSIGN_OR_RETURN(Graph graph, ImportOnnx(bytes));
  RETURN_IF_ERROR(FoldConstants(graph));
  // Validate first: the rewrites assume a well-formed graph.
  RETURN_IF_ERROR(InferShapes(graph, graph.declared_input_shape).status());
  SimplifyGraph(graph);
  ASSIGN_OR_RETURN(ShapeMap shapes, InferShapes(graph, graph.declared_input_shape));
  if (graph.IsConstant(graph.output_name) || graph.output_name == graph.input_name) {
    return absl::InvalidArgumentError("model output does not depend on its input through any operator");
  }
  const Shape& out = shapes.at(graph.output_name);
  if (out.empty()) return absl::FailedPreconditionError("model output is a scalar; expected per-class scores");
  return Model(std::move(graph), std::move(shapes));
}

absl::StatusOr<Model> Model::FromOnnxFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string bytes, ReadFileBytes(path));
  auto model = FromOnnx(bytes);
  if (!model.ok()) {
    return absl::Status(model.status().code(), absl::StrCat(path, ": ", model.status().message()));
  }
  return model;
}

Shape Model::InputShape(int64_t batch) const {
  Shape shape = graph_.declared_input_shape;
  if (has_batch_dimension()) shape[0] = batch;
  return shape;
}

Shape Model::ExampleShape() const {
  const Shape& d = graph_.declared_input_shape;
  return has_batch_dimension() ? Shape(d.begin() + 1, d.end()) : d;
}

int64_t Model::num_classes() const { return declared_shapes_.at(graph_.output_name).back(); }

absl::StatusOr<ShapeMap> Model::ShapesForBatch(int64_t batch) const {
  if (batch < 1) return absl::InvalidArgumentError(absl::StrCat("batch size ", batch, " must be positive"));
  if (!has_batch_dimension() && batch != 1) {
    return absl::InvalidArgumentError("model input is a single vector without a batch dimension; batch size must be 1");
  }
  if (!has_batch_dimension() || batch == graph_.declared_input_shape[0]) return declared_shapes_;
  return InferShapes(graph_, InputShape(batch));
}

std::vector<std::string> Model::OutputsOfType(const std::string& op_type) const {
  std::vector<std::string> out;
  for (const Node& node : graph_.nodes) {
    if (node.op_type == op_type) out.push_back(node.outputs[0]);
  }
  return out;
}

}  // namespace crucible
