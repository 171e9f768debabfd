// crucible-core-eval: accuracy of an ONNX classifier on NPY/IDX data using the
// model core alone (no server). A developer tool and the `make demo` step
// until the audit service lands.
//
//   crucible-core-eval --model m.onnx --inputs x.npy --labels y.npy --scale 255
#include <chrono>
#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "engines/core/array_file.h"
#include "engines/core/batched_forward.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/core/status_macros.h"

ABSL_FLAG(std::string, model, "", "ONNX model file");
ABSL_FLAG(std::string, inputs, "", "inputs (NPY or IDX, optionally gzip)");
ABSL_FLAG(std::string, labels, "", "integer labels (NPY or IDX)");
ABSL_FLAG(double, scale, 1.0, "divide input values by this (255 for uint8 images)");
ABSL_FLAG(int64_t, batch, 256, "batch size");
ABSL_FLAG(int, threads, 0, "threads (0: all cores)");

namespace crucible {
namespace {

absl::Status Run() {
  ASSIGN_OR_RETURN(Model model, Model::FromOnnxFile(absl::GetFlag(FLAGS_model)));
  ASSIGN_OR_RETURN(NdArray images, ReadArrayFile(absl::GetFlag(FLAGS_inputs)));
  ASSIGN_OR_RETURN(NdArray label_array, ReadArrayFile(absl::GetFlag(FLAGS_labels)));
  ASSIGN_OR_RETURN(std::vector<int64_t> labels, ToLabels(label_array));
  Tensor raw = ToFloatTensor(images);
  const float scale = static_cast<float>(absl::GetFlag(FLAGS_scale));
  for (float& v : raw.values()) v /= scale;
  ASSIGN_OR_RETURN(Tensor inputs, FitToModelInput(raw, model));
  if (static_cast<int64_t>(labels.size()) != inputs.dim(0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d labels for %d inputs", labels.size(), inputs.dim(0)));
  }
  const int64_t batch = std::min<int64_t>(absl::GetFlag(FLAGS_batch), inputs.dim(0));
  ASSIGN_OR_RETURN(auto executor,
                   Executor::Create(model, {.batch_size = batch, .num_threads = absl::GetFlag(FLAGS_threads)}));
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Tensor logits, ForwardInBatches(*executor, inputs));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<int64_t> predicted = ArgMaxRows(logits);
  const int64_t classes = model.num_classes();
  std::vector<int64_t> correct(classes, 0), total(classes, 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= classes) {
      return absl::InvalidArgumentError(absl::StrFormat("label %d of example %d exceeds the model's %d classes",
                                                        labels[i], i, classes));
    }
    ++total[labels[i]];
    correct[labels[i]] += predicted[i] == labels[i];
  }
  int64_t all_correct = 0;
  for (int64_t c : correct) all_correct += c;
  std::cout << absl::StrFormat("model %s: %d inputs, accuracy %.4f (%d correct), %.0f images/s\n",
                               absl::GetFlag(FLAGS_model), labels.size(),
                               double(all_correct) / labels.size(), all_correct, labels.size() / seconds);
  for (int64_t c = 0; c < classes; ++c) {
    if (total[c] > 0) std::cout << absl::StrFormat("  class %d: %.4f of %d\n", c, double(correct[c]) / total[c], total[c]);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace crucible

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("crucible-core-eval --model M.onnx --inputs X.npy --labels Y.npy [--scale 255]");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_model).empty() || absl::GetFlag(FLAGS_inputs).empty() ||
      absl::GetFlag(FLAGS_labels).empty()) {
    std::cerr << absl::ProgramUsageMessage() << "\n";
    return 2;
  }
  const absl::Status status = crucible::Run();
  if (!status.ok()) {
    std::cerr << "error: " << status << "\n";
    return 1;
  }
  return 0;
}
