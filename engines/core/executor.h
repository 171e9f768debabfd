// Executor: runs a Model on oneDNN for a fixed maximum batch size: forward
// passes (logits, optionally named intermediate activations) and the gradient
// of a scalar function of the output with respect to the *input*.
//
// All primitives and buffers are created once in Create() and reused by every
// call. Batches of 1..batch_size examples are accepted (smaller ones are
// zero-padded internally). An Executor is not thread-safe: use one per thread;
// the Model it came from may be shared. It must not outlive the Model.
//
//   ASSIGN_OR_RETURN(auto exec, Executor::Create(model, {.batch_size = 32, .num_threads = 2}));
//   ASSIGN_OR_RETURN(Tensor logits, exec->Forward(x));
//   ASSIGN_OR_RETURN(Tensor dx, exec->Backward(dlogits));   // d(sum(logits*dlogits))/dx
#ifndef CRUCIBLE_ENGINES_CORE_EXECUTOR_H_
#define CRUCIBLE_ENGINES_CORE_EXECUTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engines/core/model.h"
#include "engines/core/tensor.h"

namespace crucible {

struct ExecutorOptions {
  int64_t batch_size = 1;
  int num_threads = 0;  // 0: all cores.
};

class Executor {
 public:
  static absl::StatusOr<std::unique_ptr<Executor>> Create(const Model& model, const ExecutorOptions& options);
  ~Executor();

  int64_t batch_size() const;
  // Shape of a full batch of input / output.
  const Shape& input_shape() const;
  const Shape& output_shape() const;

  // Logits for `input` of shape [n, ...] with 1 <= n <= batch_size.
  // INVALID_ARGUMENT on a wrong shape or a non-finite input value.
  absl::StatusOr<Tensor> Forward(const Tensor& input);

  // As Forward, and also copies out the named values (any node output, e.g.
  // Model::OutputsOfType("Relu")), each with the batch's n rows.
  absl::StatusOr<Tensor> Forward(const Tensor& input, const std::vector<std::string>& names,
                                 absl::flat_hash_map<std::string, Tensor>* activations);

  // Gradient of sum(output * cotangent) with respect to the input of the
  // latest Forward call. `cotangent` has that output's shape.
  // FAILED_PRECONDITION if Forward has not been called.
  absl::StatusOr<Tensor> Backward(const Tensor& cotangent);

  // Forward followed by Backward.
  absl::StatusOr<Tensor> InputGradient(const Tensor& input, const Tensor& cotangent);

 private:
  struct Plan;
  static absl::Status Build(Plan& plan);
  explicit Executor(std::unique_ptr<Plan> plan);
  std::unique_ptr<Plan> plan_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_EXECUTOR_H_
