// The fooling engine end to end: `crucible run --engine fooling` against a
// real server, the --json report checked, the fooling_images.npy artifact
// downloaded with `crucible artifact download` and re-checked by an
// independent forward pass (Executor + softmax here), the PNG downloaded and
// checked for its signature and size; and a pgd run whose artifacts include
// the adversarial_examples.png grid.
#include <cmath>

#include "crucible/v1/jobs.pb.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_job_fixture.h"

namespace crucible {
namespace {

using testing::ReadFile;

std::string Fixture(const std::string& relative) { return testing::FixturePath(relative); }

uint32_t BigEndian32(const std::string& bytes, size_t at) {
  return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
         (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
}

// PNG signature, then IHDR as the first chunk; returns the width.
uint32_t ExpectPng(const std::string& bytes) {
  EXPECT_GE(bytes.size(), 33u);
  if (bytes.size() < 33) return 0;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  return BigEndian32(bytes, 16);
}

class FoolingCliTest : public testing::CliJobTest {};

TEST_F(FoolingCliTest, FoolingImagesReachTheTargetByAnIndependentForwardPass) {
  for (const std::string method : {"EVOLUTION", "GRADIENT"}) {
    const std::string config =
        WriteConfig("fooling_" + method, R"({"method": ")" + method + R"(", "seed": 5, "classes": [0, 3, 9]})");
    const v1::Job job = RunJob("--engine fooling --model " + Fixture("models/fmnist_lenet.onnx") + " --config " + config);
    ASSERT_EQ(job.report().fooling().classes_size(), 3) << method;
    const std::vector<int64_t> targets = {0, 3, 9};
    for (int k = 0; k < 3; ++k) {
      const v1::FoolingClass& c = job.report().fooling().classes(k);
      EXPECT_EQ(c.target(), targets[k]);
      EXPECT_TRUE(c.reached()) << method << " class " << c.target();
      EXPECT_GE(c.confidence(), 0.99) << method << " class " << c.target();
    }

    const auto images = ParseNpy(Download(job, "fooling_images.npy"));
    ASSERT_TRUE(images.ok()) << images.status();
    const Tensor x = ToFloatTensor(*images);
    ASSERT_EQ(x.shape(), (Shape{3, 1, 28, 28}));
    auto model = Model::FromOnnxFile(Fixture("models/fmnist_lenet.onnx"));
    ASSERT_TRUE(model.ok()) << model.status();
    auto executor = Executor::Create(*model, {.batch_size = 3, .num_threads = 1});
    ASSERT_TRUE(executor.ok()) << executor.status();
    auto logits = (*executor)->Forward(x);
    ASSERT_TRUE(logits.ok()) << logits.status();
    for (int k = 0; k < 3; ++k) {
      double total = 0;
      for (int c = 0; c < 10; ++c) total += std::exp(double(logits->at(k * 10 + c)));
      const double p = std::exp(double(logits->at(k * 10 + targets[k]))) / total;
      EXPECT_GE(p, 0.99) << method << " class " << targets[k] << " by an independent forward pass";
      EXPECT_NEAR(p, job.report().fooling().classes(k).confidence(), 1e-4);
    }
    EXPECT_GT(ExpectPng(Download(job, "fooling_images.png")), 3u * 28u);
  }
}

TEST_F(FoolingCliTest, PgdWritesThePictureGrid) {
  const std::string config = WriteConfig("pgd", R"({"epsilon": 0.1})");
  const v1::Job job = RunJob("--engine pgd --model " + Fixture("models/fmnist_lenet.onnx") + " --inputs " +
                             Fixture("attacks/inputs.npy") + " --labels " + Fixture("attacks/labels.npy") +
                             " --config " + config);
  std::vector<std::string> names;
  for (const v1::Artifact& a : job.artifacts()) names.push_back(a.name());
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("adversarial_examples.npy", "adversarial_examples.png"));
  EXPECT_GT(ExpectPng(Download(job, "adversarial_examples.png")), 3u * 28u);
}

}  // namespace
}  // namespace crucible
