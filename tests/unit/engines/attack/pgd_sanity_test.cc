// PGD's "weaker than FGSM" sanity warning (as AutoAttack checks): with one
// step of a tiny size PGD leaves almost every example alone while FGSM at the
// same epsilon flips many, and the warning must say so with the counts the
// fgsm and pgd engines themselves report; with the default schedule PGD is at
// least as strong and there is no such warning. Also: both engines write the
// adversarial_examples.png grid.
#include <map>

#include "engines/attack/fgsm.h"
#include "engines/attack/pgd.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"
#include "tests/unit/engines/fake_job_context.h"
#include "tests/unit/engines/core/test_png.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;
using testing::FakeJobContext;
using testing::FixturePath;

class PgdSanityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = Model::FromOnnxFile(FixturePath("models/fmnist_lenet.onnx"));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = std::make_unique<Model>(std::move(*model));
    data_.inputs = testing::LoadTensor(FixturePath("attacks/inputs.npy"));
    data_.labels = *ToLabels(*ReadNpyFile(FixturePath("attacks/labels.npy")));
  }

  v1::AttackReport Run(const Engine& engine, const v1::JobSpec& spec) {
    FakeJobContext context(*model_, &data_, /*threads=*/1);
    EXPECT_TRUE(engine.Validate(spec, *model_, &data_).ok());
    auto report = engine.Run(spec, context);
    EXPECT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(context.artifacts.count("adversarial_examples.png")) << engine.name();
    const testing::DecodedPng png = testing::DecodePng(context.artifacts["adversarial_examples.png"]);
    EXPECT_EQ(png.color_type, 2);
    return report.ok() ? report->attack() : v1::AttackReport();
  }

  int64_t Misclassified(const v1::AttackReport& report) {
    int64_t count = 0;
    for (const v1::AttackExample& e : report.examples()) count += e.adversarial_prediction() != e.label();
    return count;
  }

  std::unique_ptr<Model> model_;
  Dataset data_;
};

TEST_F(PgdSanityTest, WarnsWhenPgdIsWeakerThanFgsm) {
  v1::JobSpec fgsm;
  fgsm.mutable_fgsm()->set_epsilon(0.1f);
  const int64_t fgsm_misclassified = Misclassified(Run(FgsmEngine(), fgsm));

  v1::JobSpec pgd;
  pgd.mutable_pgd()->set_epsilon(0.1f);
  pgd.mutable_pgd()->set_steps(1);
  pgd.mutable_pgd()->set_step_size(1e-4f);
  const v1::AttackReport report = Run(PgdEngine(), pgd);
  const int64_t pgd_misclassified = Misclassified(report);
  ASSERT_LT(pgd_misclassified, fgsm_misclassified);
  std::vector<std::string> weaker;
  for (const std::string& w : report.warnings()) {
    if (w.find("weaker than single-step FGSM") != std::string::npos) weaker.push_back(w);
  }
  ASSERT_EQ(weaker.size(), 1u) << ::testing::PrintToString(report.warnings());
  EXPECT_THAT(weaker[0], HasSubstr("epsilon 0.1:"));
  EXPECT_THAT(weaker[0], HasSubstr(absl::StrCat("misclassifies ", pgd_misclassified, " of 16 examples, FGSM ",
                                                fgsm_misclassified, ";")));
}

TEST_F(PgdSanityTest, NoWarningWhenPgdIsStronger) {
  v1::JobSpec fgsm;
  fgsm.mutable_fgsm()->add_epsilons(0.05f);
  fgsm.mutable_fgsm()->add_epsilons(0.1f);
  const int64_t fgsm_misclassified = Misclassified(Run(FgsmEngine(), fgsm));

  v1::JobSpec pgd;
  pgd.mutable_pgd()->add_epsilons(0.05f);
  pgd.mutable_pgd()->add_epsilons(0.1f);
  const v1::AttackReport report = Run(PgdEngine(), pgd);
  EXPECT_GE(Misclassified(report), fgsm_misclassified);
  for (const std::string& w : report.warnings()) EXPECT_THAT(w, ::testing::Not(HasSubstr("weaker than")));
}

}  // namespace
}  // namespace crucible
