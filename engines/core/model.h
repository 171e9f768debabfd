// Model: an imported, validated ONNX classifier ready to be executed.
//
// FromOnnx parses and checks the bytes, folds constants, and runs shape
// inference once so that unsupported operators (FAILED_PRECONDITION naming the
// op and node) and inconsistent shapes (INVALID_ARGUMENT) are reported at
// import, never mid-run. The model is immutable afterwards and safe to share
// between threads; executors are built from it per batch size.
//
//   ASSIGN_OR_RETURN(Model model, Model::FromOnnxFile("lenet.onnx"));
//   Shape x = model.InputShape(32);                    // [32,1,28,28]
//   std::vector<std::string> relus = model.OutputsOfType("Relu");
#ifndef CRUCIBLE_ENGINES_CORE_MODEL_H_
#define CRUCIBLE_ENGINES_CORE_MODEL_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/graph.h"
#include "engines/core/shape_inference.h"

namespace crucible {

class Model {
 public:
  static absl::StatusOr<Model> FromOnnx(std::string_view bytes);
  static absl::StatusOr<Model> FromOnnxFile(const std::string& path);

  const Graph& graph() const { return graph_; }
  const std::string& input_name() const { return graph_.input_name; }
  const std::string& output_name() const { return graph_.output_name; }

  // False for models whose input is a single unbatched vector (rank 1); those
  // run with batch size 1 only.
  bool has_batch_dimension() const { return graph_.declared_input_shape.size() >= 2; }

  // Input shape for a batch of `batch` examples (the declared shape with its
  // leading dimension replaced). REQUIRES: batch >= 1.
  Shape InputShape(int64_t batch) const;
  // Shape of one example (input shape without the batch dimension).
  Shape ExampleShape() const;
  int64_t num_classes() const;

  // Shapes of every value for a batch size; INVALID_ARGUMENT if the model
  // cannot run at that batch size.
  absl::StatusOr<ShapeMap> ShapesForBatch(int64_t batch) const;

  // Output value names of the nodes with the given op type, in graph order.
  std::vector<std::string> OutputsOfType(const std::string& op_type) const;

 private:
  explicit Model(Graph graph, ShapeMap declared_shapes)
      : graph_(std::move(graph)), declared_shapes_(std::move(declared_shapes)) {}

  Graph graph_;
  ShapeMap declared_shapes_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_MODEL_H_
