#include "engines/verify/executor_forward.h"

#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "engines/core/executor.h"
#include "engines/core/status_macros.h"

namespace crucible {

absl::StatusOr<ForwardPass> MakeExecutorForwardPass(const Model& model, int threads) {
  ASSIGN_OR_RETURN(std::unique_ptr<Executor> executor, Executor::Create(model, {.batch_size = 1, .num_threads = threads}));
  struct Shared {
    std::mutex mutex;
    std::unique_ptr<Executor> executor;
    Shape shape;
  };
  auto shared = std::make_shared<Shared>();
  shared->executor = std::move(executor);
  shared->shape = model.InputShape(1);
  return ForwardPass([shared](const std::vector<float>& input) -> absl::StatusOr<std::vector<double>> {
    if (static_cast<int64_t>(input.size()) != NumElements(shared->shape)) {
      return absl::InvalidArgumentError(absl::StrCat("re-check input has ", input.size(), " values, the model takes ",
                                                     NumElements(shared->shape)));
    }
    std::lock_guard<std::mutex> lock(shared->mutex);
    ASSIGN_OR_RETURN(Tensor y, shared->executor->Forward(Tensor(shared->shape, input)));
    return std::vector<double>(y.values().begin(), y.values().end());
  });
}

}  // namespace crucible
