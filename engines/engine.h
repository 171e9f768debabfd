// Engine: one kind of audit (evaluate, fgsm, pgd, ...) behind a common
// interface, and the registry the job manager finds engines in.
//
// An engine sees a validated JobSpec and a JobContext (model, dataset,
// progress, cancellation, deadline, threads, artifacts) and returns a Report
// proto. It knows nothing of transport or storage. Engines must be
// thread-safe: several jobs may run the same engine at once.
//
//   class EvaluateEngine final : public Engine { ... };
//   EngineRegistry registry;
//   registry.Register(std::make_unique<EvaluateEngine>());
//   const Engine* e = registry.Find(EngineName(spec));   // nullptr: not built
#ifndef CRUCIBLE_ENGINES_ENGINE_H_
#define CRUCIBLE_ENGINES_ENGINE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crucible/v1/jobs.pb.h"
#include "engines/core/dataset.h"
#include "engines/core/model.h"

namespace crucible {

class JobContext {
 public:
  virtual ~JobContext() = default;

  virtual const Model& model() const = 0;
  // nullptr when the job has no dataset.
  virtual const Dataset* dataset() const = 0;

  // Progress in [0, 1] with a short stage name; cheap to call often (the
  // caller throttles what it stores).
  virtual void ReportProgress(double fraction, std::string_view stage, std::string_view message) = 0;
  // True once the job is cancelled or the server is shutting down. Engines
  // check it at least every ~100 ms of work and then return CANCELLED.
  virtual bool Cancelled() const = 0;
  virtual absl::Time deadline() const = 0;
  // Threads the engine may use (executors' num_threads).
  virtual int threads() const = 0;
  // Stores a file the job produced (NPY, PNG, JSON), downloadable by name.
  virtual absl::Status WriteArtifact(const std::string& name, const std::string& media_type,
                                     std::string_view bytes) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  // The name used in job specs ("evaluate", "fgsm", ...).
  virtual std::string_view name() const = 0;
  // Whole-spec validation at submit time: INVALID_ARGUMENT naming the field.
  virtual absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const = 0;
  virtual absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const = 0;
};

class EngineRegistry {
 public:
  void Register(std::unique_ptr<Engine> engine);
  // nullptr when no engine of that name is built.
  const Engine* Find(std::string_view name) const;

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<Engine>> engines_;
};

// The engine a spec names through its config ("" when no config is set).
std::string EngineName(const v1::JobSpec& spec);

// Every engine built into this binary.
EngineRegistry BuiltinEngines();

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ENGINE_H_
