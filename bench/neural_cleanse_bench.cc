// Neural Cleanse over all 10 labels of the BadNets fixture CNN with the
// backdoor engine (labels spread over THREADS threads), on the first 300
// images of tests/fixtures/backdoor/strip_images.npy / 255, batch 32, STEPS
// steps per label. Prints {"seconds": ..., "flagged": [...]} for
// bench/neural_cleanse_bench.py, which times the same work in PyTorch.
//
//   build/bench/neural_cleanse_bench [STEPS=300] [THREADS=2]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_join.h"
#include "engines/backdoor/backdoor_engine.h"
#include "engines/core/file_io.h"

namespace crucible {
namespace {

class BenchContext final : public JobContext {
 public:
  BenchContext(const Model& model, const Dataset& data, int threads)
      : model_(model), data_(data), threads_(threads) {}
  const Model& model() const override { return model_; }
  const Dataset* dataset() const override { return &data_; }
  void ReportProgress(double, std::string_view, std::string_view) override {}
  bool Cancelled() const override { return false; }
  absl::Time deadline() const override { return absl::InfiniteFuture(); }
  int threads() const override { return threads_; }
  absl::Status WriteArtifact(const std::string&, const std::string&, std::string_view) override {
    return absl::OkStatus();
  }

 private:
  const Model& model_;
  const Dataset& data_;
  int threads_;
};

int Main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const std::string dir = std::string(CRUCIBLE_FIXTURES_DIR) + "/backdoor/";
  auto model = Model::FromOnnxFile(dir + "badnets_cnn.onnx");
  auto bytes = ReadFileBytes(dir + "strip_images.npy");
  if (!model.ok() || !bytes.ok()) return 1;
  auto data = ParseDataset(*bytes, "");
  if (!data.ok()) return 1;
  v1::JobSpec spec;
  v1::BackdoorConfig& config = *spec.mutable_backdoor();
  config.add_methods(v1::BackdoorConfig::NEURAL_CLEANSE);
  config.set_nc_steps(steps);
  config.set_nc_samples(300);
  config.mutable_preprocess()->set_scale(1.0f / 255);
  BenchContext context(*model, *data, threads);
  BackdoorEngine engine;
  const auto start = std::chrono::steady_clock::now();
  auto report = engine.Run(spec, context);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
    return 1;
  }
  std::printf("{\"seconds\": %.4f, \"flagged\": [%s]}\n", seconds,
              absl::StrJoin(report->backdoor().flagged_classes(), ", ").c_str());
  return 0;
}

}  // namespace
}  // namespace crucible

int main(int argc, char** argv) { return crucible::Main(argc, argv); }
