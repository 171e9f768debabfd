// FakeJobContext: the JobContext engine unit tests run engines in — a model
// and dataset owned by the test, artifacts kept in memory, progress recorded
// (and required never to go backwards), and cancellation on demand or after a
// number of progress reports.
//
//   FakeJobContext context(*model, &data);
//   context.cancel_after_progress_calls = 50;
//   absl::StatusOr<v1::Report> report = engine.Run(spec, context);
//   EXPECT_TRUE(context.artifacts.contains("adversarial_examples.npy"));
#ifndef CRUCIBLE_TESTS_UNIT_ENGINES_FAKE_JOB_CONTEXT_H_
#define CRUCIBLE_TESTS_UNIT_ENGINES_FAKE_JOB_CONTEXT_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "engines/engine.h"
#include "gtest/gtest.h"

namespace crucible::testing {

class FakeJobContext final : public JobContext {
 public:
  FakeJobContext(const Model& model, const Dataset* dataset, int threads = 2)
      : model_(model), dataset_(dataset), threads_(threads) {}

  const Model& model() const override { return model_; }
  const Dataset* dataset() const override { return dataset_; }
  void ReportProgress(double fraction, std::string_view stage, std::string_view) override {
    std::lock_guard<std::mutex> lock(mutex_);
    EXPECT_GE(fraction, last_progress - 1e-9) << "progress went backwards at stage " << stage;
    last_progress = fraction;
    stages.insert(std::string(stage));
    ++progress_calls;
  }
  bool Cancelled() const override { return cancelled || progress_calls >= cancel_after_progress_calls; }
  absl::Time deadline() const override { return absl::InfiniteFuture(); }
  int threads() const override { return threads_; }
  absl::Status WriteArtifact(const std::string& name, const std::string&, std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(mutex_);
    artifacts[name] = std::string(bytes);
    return absl::OkStatus();
  }

  std::atomic<bool> cancelled = false;
  std::atomic<int64_t> cancel_after_progress_calls = std::numeric_limits<int64_t>::max();
  double last_progress = 0;
  std::atomic<int64_t> progress_calls = 0;
  std::set<std::string> stages;
  std::map<std::string, std::string> artifacts;

 private:
  const Model& model_;
  const Dataset* dataset_;
  const int threads_;
  std::mutex mutex_;
};

}  // namespace crucible::testing

#endif  // CRUCIBLE_TESTS_UNIT_ENGINES_FAKE_JOB_CONTEXT_H_
