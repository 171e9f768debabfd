// Throughput of the attack algorithms on the fixture CNNs, images per second
// (items/s), at batch 1, 32 and 256, each on one batch of the bundled
// Fashion-MNIST test images / 255 with their labels:
//   FGSM:   one cross-entropy input gradient, an L-inf sign step (eps 0.1), clip;
//   PGD-40: 40 x (gradient, sign step 0.01, projection onto the eps-0.1 ball,
//           clip), no random start, no early stop;
//   CW-L2:  CarliniWagnerL2 with 1 binary-search step, 100 iterations,
//           abort_early off (a fixed amount of work);
// each followed by one forward pass classifying the adversarials. The same
// work as bench/pytorch_attacks.py; bench/compare_attacks.py runs both.
//
//   build/bench/attack_bench [--benchmark_filter=Pgd] [--benchmark_format=json]
// Threads: CRUCIBLE_BENCH_THREADS (default 2), to match the PyTorch baseline.
#include <cstdlib>
#include <map>
#include <string>

#include "benchmark/benchmark.h"
#include "engines/attack/cw_l2.h"
#include "engines/attack/loss_gradient.h"
#include "engines/attack/margin_gradient.h"
#include "engines/attack/perturbation.h"
#include "engines/core/batched_forward.h"
#include "engines/core/model.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"

namespace crucible {
namespace {

constexpr float kEpsilon = 0.1f;
constexpr float kPgdStep = 0.01f;
constexpr int kPgdSteps = 40;
constexpr int kCwIterations = 100;

int BenchThreads() {
  const char* env = std::getenv("CRUCIBLE_BENCH_THREADS");
  return env ? std::atoi(env) : 2;
}

[[noreturn]] void Die(const absl::Status& status) {
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  std::abort();
}

const Model& LoadFixture(const std::string& name) {
  static auto* models = new std::map<std::string, Model>();
  auto it = models->find(name);
  if (it == models->end()) {
    auto model = Model::FromOnnxFile(std::string(CRUCIBLE_FIXTURES_DIR) + "/models/" + name + ".onnx");
    if (!model.ok()) Die(model.status());
    it = models->emplace(name, *std::move(model)).first;
  }
  return it->second;
}

// The first `batch` bundled test images in [0, 1] and their labels.
std::pair<Tensor, std::vector<int64_t>> Images(int64_t batch) {
  const std::string dir = std::string(CRUCIBLE_FIXTURES_DIR) + "/data/";
  auto images = ReadNpyFile(dir + "fmnist_test_1000_images.npy");
  auto labels = ReadNpyFile(dir + "fmnist_test_1000_labels.npy");
  if (!images.ok()) Die(images.status());
  if (!labels.ok()) Die(labels.status());
  Tensor x = ToFloatTensor(*images).Slice(0, batch);
  for (float& v : x.values()) v *= 1.0f / 255;
  std::vector<int64_t> y = *ToLabels(*labels);
  y.resize(batch);
  return {std::move(x), std::move(y)};
}

enum class Attack { kFgsm, kPgd, kCw };

void Run(benchmark::State& state, const std::string& name, Attack attack) {
  const Model& model = LoadFixture(name);
  const int64_t batch = state.range(0);
  const auto [x, labels] = Images(batch);
  auto loss = LossGradient::Create(model, v1::Preprocess(), batch, BenchThreads());
  if (!loss.ok()) Die(loss.status());
  auto margin = MarginGradient::Create(model, v1::Preprocess(), batch, BenchThreads());
  if (!margin.ok()) Die(margin.status());
  CwL2Options cw;
  cw.binary_search_steps = 1;
  cw.max_iterations = kCwIterations;
  cw.abort_early = false;
  int64_t flipped = 0;
  auto attack_once = [&] {
    Tensor adversarial = x;
    if (attack == Attack::kCw) {
      auto result = CarliniWagnerL2(**margin, x, labels, cw, [](double) { return true; });
      if (!result.ok()) Die(result.status());
      adversarial = *std::move(result);
    } else {
      for (int step = 0; step < (attack == Attack::kFgsm ? 1 : kPgdSteps); ++step) {
        auto gradient = (*loss)->Gradient(adversarial, labels, nullptr);
        if (!gradient.ok()) Die(gradient.status());
        GradientStep(adversarial, *gradient, attack == Attack::kFgsm ? kEpsilon : kPgdStep, v1::LINF);
        if (attack == Attack::kPgd) ProjectToBall(adversarial, x, kEpsilon, v1::LINF);
        ClipToRange(adversarial, 0.0f, 1.0f);
      }
    }
    auto logits = (*loss)->Logits(adversarial);
    if (!logits.ok()) Die(logits.status());
    return ArgMaxRows(*logits);
  };
  // Warm-up, one pass of each executor: first-call costs (page faults, JIT caches) are not throughput.
  if (!(*loss)->Gradient(x, labels, nullptr).ok()) std::abort();
  MarginGradient::Result warm;
  if (!(*margin)->Gradient(x, labels, std::vector<float>(batch, 1.0f), 0.0f, false, &warm).ok()) std::abort();
  for (auto _ : state) {
    const std::vector<int64_t> predicted = attack_once();
    for (int64_t i = 0; i < batch; ++i) flipped += predicted[i] != labels[i];
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["threads"] = BenchThreads();
  state.counters["misclassified"] = double(flipped) / (state.iterations() * batch);
}

void BM_Fgsm(benchmark::State& state, const char* name) { Run(state, name, Attack::kFgsm); }
void BM_Pgd40(benchmark::State& state, const char* name) { Run(state, name, Attack::kPgd); }
void BM_CwL2(benchmark::State& state, const char* name) { Run(state, name, Attack::kCw); }

BENCHMARK_CAPTURE(BM_Fgsm, fmnist_lenet, "fmnist_lenet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();
BENCHMARK_CAPTURE(BM_Pgd40, fmnist_lenet, "fmnist_lenet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();
BENCHMARK_CAPTURE(BM_CwL2, fmnist_lenet, "fmnist_lenet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fgsm, fmnist_resnet, "fmnist_resnet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();
BENCHMARK_CAPTURE(BM_Pgd40, fmnist_resnet, "fmnist_resnet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();
BENCHMARK_CAPTURE(BM_CwL2, fmnist_resnet, "fmnist_resnet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();

}  // namespace
}  // namespace crucible

BENCHMARK_MAIN();
