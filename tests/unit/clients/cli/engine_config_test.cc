#include "clients/cli/engine_config.h"

#include "clients/cli/cli_errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(EngineConfigTest, EngineNamesAreTheJobSpecOneof) {
  EXPECT_THAT(EngineNames(), ElementsAre("evaluate", "fgsm", "pgd", "cw", "fooling", "verify", "dlv", "nap",
                                         "backdoor", "unlearnable"));
}

TEST(EngineConfigTest, EvaluateConfig) {
  absl::StatusOr<v1::JobSpec> spec =
      JobSpecForEngine("evaluate", R"({"threads": 2, "batch_size": 64, "preprocess": {"scale": 255}})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->config_case(), v1::JobSpec::kEvaluate);
  EXPECT_EQ(spec->evaluate().threads(), 2);
  EXPECT_EQ(spec->evaluate().batch_size(), 64);
  EXPECT_EQ(spec->evaluate().preprocess().scale(), 255.0f);
  EXPECT_EQ(spec->model_id(), "");
  EXPECT_EQ(spec->dataset_id(), "");
}

TEST(EngineConfigTest, PgdConfigWithEnumsAndArrays) {
  absl::StatusOr<v1::JobSpec> spec = JobSpecForEngine(
      "pgd", R"({"epsilons": [0.01, 0.03], "norm": "L2", "steps": 40, "random_start": true, "seed": "7"})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(spec->has_pgd());
  EXPECT_THAT(spec->pgd().epsilons(), ElementsAre(0.01f, 0.03f));
  EXPECT_EQ(spec->pgd().norm(), v1::L2);
  EXPECT_EQ(spec->pgd().steps(), 40);
  EXPECT_TRUE(spec->pgd().random_start());
  EXPECT_EQ(spec->pgd().seed(), 7u);
}

TEST(EngineConfigTest, BackdoorMethodsByName) {
  absl::StatusOr<v1::JobSpec> spec =
      JobSpecForEngine("backdoor", R"({"methods": ["STRIP", "SPECTRAL_SIGNATURES"], "poison_fraction": 0.1})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->backdoor().methods(),
              ElementsAre(v1::BackdoorConfig::STRIP, v1::BackdoorConfig::SPECTRAL_SIGNATURES));
}

TEST(EngineConfigTest, EmptyConfigSelectsTheEngineWithDefaults) {
  for (const std::string& engine : EngineNames()) {
    absl::StatusOr<v1::JobSpec> spec = JobSpecForEngine(engine, "");
    ASSERT_TRUE(spec.ok()) << engine << ": " << spec.status();
    const google::protobuf::FieldDescriptor* field = spec->GetReflection()->GetOneofFieldDescriptor(
        *spec, v1::JobSpec::descriptor()->FindOneofByName("config"));
    ASSERT_NE(field, nullptr) << engine;
    EXPECT_EQ(field->name(), engine);
  }
  absl::StatusOr<v1::JobSpec> fgsm = JobSpecForEngine("fgsm", "{}");
  ASSERT_TRUE(fgsm.ok()) << fgsm.status();
  EXPECT_TRUE(fgsm->has_fgsm());
  EXPECT_EQ(fgsm->fgsm().epsilon(), 0.0f);
}

TEST(EngineConfigTest, UnknownEngineIsAUsageErrorListingTheEngines) {
  absl::StatusOr<v1::JobSpec> spec = JobSpecForEngine("deepfool", "{}");
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(IsUsageError(spec.status()));
  EXPECT_THAT(spec.status().message(), HasSubstr("unknown engine 'deepfool'"));
  EXPECT_THAT(spec.status().message(), HasSubstr("evaluate, fgsm, pgd, cw"));
}

TEST(EngineConfigTest, JobSpecFieldsOutsideTheOneofAreNotEngines) {
  for (const char* name : {"model_id", "dataset_id", "config", ""}) {
    absl::StatusOr<v1::JobSpec> spec = JobSpecForEngine(name, "");
    ASSERT_FALSE(spec.ok()) << name;
    EXPECT_TRUE(IsUsageError(spec.status()));
  }
}

TEST(EngineConfigTest, MalformedJsonNamesTheConfigMessage) {
  absl::StatusOr<v1::JobSpec> spec = JobSpecForEngine("evaluate", R"({"threads": 2,)");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsUsageError(spec.status()));
  EXPECT_THAT(spec.status().message(), HasSubstr("not valid JSON of crucible.v1.EvaluateConfig: "));
}

TEST(EngineConfigTest, FieldsOfAnotherEngineAreRejected) {
  // "epsilon" belongs to the attack configs, not to EvaluateConfig.
  absl::StatusOr<v1::JobSpec> spec = JobSpecForEngine("evaluate", R"({"epsilon": 0.1})");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(), HasSubstr("crucible.v1.EvaluateConfig"));
}

TEST(EngineConfigTest, WrongValueTypesAreRejected) {
  for (const char* json : {R"({"epsilon": "large"})", R"({"norm": "L3"})", R"({"steps": 1.5})", R"([1, 2])",
                           R"("pgd")"}) {
    absl::StatusOr<v1::JobSpec> spec = JobSpecForEngine("pgd", json);
    EXPECT_FALSE(spec.ok()) << json;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(spec.status().message(), HasSubstr("crucible.v1.PgdConfig")) << json;
  }
}

}  // namespace
}  // namespace crucible
