#include "engines/engine.h"

#include "engines/attack/cw.h"
#include "engines/attack/fgsm.h"
#include "engines/attack/fooling.h"
#include "engines/attack/pgd.h"
#include "engines/backdoor/backdoor_engine.h"
#include "engines/backdoor/unlearnable_engine.h"
#include "engines/evaluate/evaluate_engine.h"
#include "engines/nap/nap_engine.h"
#include "engines/verify/dlv_engine.h"
#include "engines/verify/verify_engine.h"

namespace crucible {

void EngineRegistry::Register(std::unique_ptr<Engine> engine) {
  const std::string name(engine->name());
  engines_[name] = std::move(engine);
}

const Engine* EngineRegistry::Find(std::string_view name) const {
  auto it = engines_.find(std::string(name));
  return it == engines_.end() ? nullptr : it->second.get();
}

std::string EngineName(const v1::JobSpec& spec) {
  const auto* field = v1::JobSpec::descriptor()->FindFieldByNumber(spec.config_case());
  return field == nullptr ? "" : field->name();
}

EngineRegistry BuiltinEngines() {
  EngineRegistry registry;
  registry.Register(std::make_unique<EvaluateEngine>());
  registry.Register(std::make_unique<FgsmEngine>());
  registry.Register(std::make_unique<PgdEngine>());
  registry.Register(std::make_unique<BackdoorEngine>());
  registry.Register(std::make_unique<UnlearnableEngine>());
  registry.Register(std::make_unique<CwEngine>());
  registry.Register(std::make_unique<FoolingEngine>());
  registry.Register(std::make_unique<VerifyEngine>());
  registry.Register(std::make_unique<DlvEngine>());
  registry.Register(std::make_unique<NapEngine>());
  return registry;
}

}  // namespace crucible
