// Throughput of the model core on the fixture CNNs: forward, and forward plus
// input gradient, at batch 1, 32 and 256 (items/s = images/s).
//
//   build/bench/executor_bench [--benchmark_filter=lenet] [--benchmark_format=json]
// Threads: CRUCIBLE_BENCH_THREADS (default 2), to match the PyTorch baseline.
#include <cstdlib>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"

namespace crucible {
namespace {

int BenchThreads() {
  const char* env = std::getenv("CRUCIBLE_BENCH_THREADS");
  return env ? std::atoi(env) : 2;
}

const Model& LoadFixture(const std::string& name) {
  static auto* models = new std::map<std::string, Model>();
  auto it = models->find(name);
  if (it == models->end()) {
    auto model = Model::FromOnnxFile(std::string(CRUCIBLE_FIXTURES_DIR) + "/models/" + name + ".onnx");
    if (!model.ok()) {
      std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
      std::abort();
    }
    it = models->emplace(name, *std::move(model)).first;
  }
  return it->second;
}

Tensor RandomTensor(const Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  Tensor t(shape);
  for (float& v : t.values()) v = uniform(rng);
  return t;
}

void Run(benchmark::State& state, const std::string& name, bool with_gradient) {
  const Model& model = LoadFixture(name);
  const int64_t batch = state.range(0);
  auto exec = Executor::Create(model, {.batch_size = batch, .num_threads = BenchThreads()});
  if (!exec.ok()) {
    state.SkipWithError(exec.status().ToString().c_str());
    return;
  }
  const Tensor x = RandomTensor(model.InputShape(batch), 1);
  const Tensor cotangent = RandomTensor((*exec)->output_shape(), 2);
  for (auto _ : state) {
    if (with_gradient) {
      auto grad = (*exec)->InputGradient(x, cotangent);
      benchmark::DoNotOptimize(grad);
    } else {
      auto logits = (*exec)->Forward(x);
      benchmark::DoNotOptimize(logits);
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["threads"] = BenchThreads();
}

void BM_Forward(benchmark::State& state, const char* name) { Run(state, name, false); }
void BM_ForwardInputGradient(benchmark::State& state, const char* name) { Run(state, name, true); }

BENCHMARK_CAPTURE(BM_Forward, fmnist_lenet, "fmnist_lenet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();
BENCHMARK_CAPTURE(BM_ForwardInputGradient, fmnist_lenet, "fmnist_lenet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();
BENCHMARK_CAPTURE(BM_Forward, fmnist_resnet, "fmnist_resnet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();
BENCHMARK_CAPTURE(BM_ForwardInputGradient, fmnist_resnet, "fmnist_resnet")->Arg(1)->Arg(32)->Arg(256)->UseRealTime();

}  // namespace
}  // namespace crucible

BENCHMARK_MAIN();
