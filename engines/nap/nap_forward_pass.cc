#include "engines/nap/nap_forward_pass.h"

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engines/core/executor.h"
#include "engines/core/status_macros.h"

namespace crucible {

absl::StatusOr<NapForwardPass> MakeExecutorNapForwardPass(const Model& model, int threads) {
  std::vector<std::string> relu_names = model.OutputsOfType("Relu");
  if (relu_names.empty()) return absl::FailedPreconditionError("the model has no Relu node: it has no NAP");
  ASSIGN_OR_RETURN(std::unique_ptr<Executor> executor, Executor::Create(model, {.batch_size = 1, .num_threads = threads}));
  struct Shared {
    std::mutex mutex;
    std::unique_ptr<Executor> executor;
    Shape shape;
    std::vector<std::string> relu_names;
  };
  auto shared = std::make_shared<Shared>();
  shared->executor = std::move(executor);
  shared->shape = model.InputShape(1);
  shared->relu_names = std::move(relu_names);
  return NapForwardPass([shared](const std::vector<float>& input) -> absl::StatusOr<NapForward> {
    if (static_cast<int64_t>(input.size()) != NumElements(shared->shape)) {
      return absl::InvalidArgumentError(absl::StrCat("re-check input has ", input.size(), " values, the model takes ",
                                                     NumElements(shared->shape)));
    }
    absl::flat_hash_map<std::string, Tensor> activations;
    NapForward out;
    std::lock_guard<std::mutex> lock(shared->mutex);
    ASSIGN_OR_RETURN(Tensor logits,
                     shared->executor->Forward(Tensor(shared->shape, input), shared->relu_names, &activations));
    out.logits.assign(logits.values().begin(), logits.values().end());
    for (const std::string& name : shared->relu_names) {
      const Tensor& t = activations.at(name);
      out.relu_outputs.emplace_back(t.values().begin(), t.values().end());
    }
    return out;
  });
}

}  // namespace crucible
