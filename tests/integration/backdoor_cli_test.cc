// The backdoor and unlearnable engines end to end: `crucible run --engine
// backdoor` / `--engine unlearnable` against a real server on the fixtures of
// tools/make_backdoor_fixtures.py, the --json reports checked against the
// fixtures' ground truth, and Neural Cleanse's reversed masks downloaded with
// `crucible artifact download` and re-checked (shape, range, L1 = report).
#include <cmath>
#include <set>

#include "crucible/v1/jobs.pb.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_job_fixture.h"

namespace crucible {
namespace {

using testing::CommandResult;
using testing::ReadFile;

std::string Fixture(const std::string& name) { return testing::FixturePath("backdoor/" + name); }

class BackdoorCliTest : public testing::CliJobTest {};

TEST_F(BackdoorCliTest, NeuralCleanseAndActivationClusteringFindTheBadNetsTrojan) {
  // Neural Cleanse on clean test images (the first 300 STRIP inputs), a short run.
  const std::string nc = WriteConfig("nc", R"({"methods": ["NEURAL_CLEANSE"], "nc_samples": 300, "nc_steps": 500,
                                          "preprocess": {"scale": 0.00392156862745098}})");
  const v1::Job job = RunJob("--engine backdoor --model " + Fixture("badnets_cnn.onnx") + " --inputs " +
                             Fixture("strip_images.npy") + " --config " + nc);
  const v1::BackdoorReport& report = job.report().backdoor();
  EXPECT_THAT(report.flagged_classes(), ::testing::ElementsAre(0));
  ASSERT_EQ(report.classes_size(), 10);

  const auto masks = ParseNpy(Download(job, "nc_masks.npy"));
  ASSERT_TRUE(masks.ok()) << masks.status();
  const Tensor m = ToFloatTensor(*masks);
  ASSERT_EQ(m.shape(), (Shape{10, 28, 28}));
  for (int label = 0; label < 10; ++label) {
    double l1 = 0;
    for (int k = 0; k < 28 * 28; ++k) {
      const float v = m.at(label * 28 * 28 + k);
      ASSERT_TRUE(v >= 0 && v <= 1);
      l1 += v;
    }
    EXPECT_NEAR(l1, report.classes(label).mask_l1(), 1e-3 * l1) << "label " << label;
  }
  EXPECT_EQ(Download(job, "nc_triggers.png").substr(1, 3), "PNG");

  // Activation Clustering on the poisoned training subset.
  const std::string ac = WriteConfig("ac", R"({"methods": ["ACTIVATION_CLUSTERING"],
                                          "preprocess": {"scale": 0.00392156862745098}})");
  const v1::Job ac_job = RunJob("--engine backdoor --model " + Fixture("badnets_cnn.onnx") + " --inputs " +
                                Fixture("poisoned_train_images.npy") + " --labels " +
                                Fixture("poisoned_train_labels.npy") + " --config " + ac);
  const auto poison = ParseNpy(ReadFile(Fixture("poisoned_train_poison_indices.npy")));
  ASSERT_TRUE(poison.ok());
  std::set<int64_t> truth;
  const Tensor poison_indices = ToFloatTensor(*poison);
  for (float v : poison_indices.values()) truth.insert(int64_t(v));
  int64_t hits = 0;
  for (int64_t i : ac_job.report().backdoor().flagged_samples()) hits += truth.count(i);
  EXPECT_GE(hits, 0.8 * truth.size());
  EXPECT_LE(ac_job.report().backdoor().flagged_samples_size() - hits, 95);  // <= 10% of 950 clean samples.
}

TEST_F(BackdoorCliTest, UnlearnableVerdictsAndValidationErrors) {
  const std::string config = WriteConfig("u", R"({"preprocess": {"scale": 0.00392156862745098}})");
  for (const auto& [subset, verdict] : {std::pair{"clean", v1::UnlearnableReport::CLEAN},
                                        {"cuda", v1::UnlearnableReport::SUSPICIOUS},
                                        {"em", v1::UnlearnableReport::SUSPICIOUS}}) {
    const std::string prefix = std::string("unlearnable_") + subset;
    const v1::Job job = RunJob("--engine unlearnable --model " + Fixture("clean_cnn.onnx") + " --inputs " +
                               Fixture(prefix + "_images.npy") + " --labels " + Fixture(prefix + "_labels.npy") +
                               " --config " + config);
    EXPECT_EQ(job.report().unlearnable().verdict(), verdict) << subset;
    EXPECT_FALSE(job.report().unlearnable().evidence().empty());
  }
  // A bad spec is refused at submit time, naming the field.
  const std::string bad = WriteConfig("bad", R"({"methods": ["STRIP"], "poison_fraction": 0.9})");
  const CommandResult run = Cli("run --engine backdoor --model " + Fixture("badnets_cnn.onnx") + " --inputs " +
                                    Fixture("strip_images.npy") + " --config " + bad,
                                "2>&1");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.out, ::testing::HasSubstr("backdoor.poison_fraction"));
}

}  // namespace
}  // namespace crucible
