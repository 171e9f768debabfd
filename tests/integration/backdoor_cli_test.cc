// The backdoor and unlearnable engines end to end: `crucible run --engine
// backdoor` / `--engine unlearnable` against a real server on the fixtures of
// tools/make_backdoor_fixtures.py, the --json reports checked against the
// fixtures' ground truth, and Neural Cleanse's reversed masks downloaded with
// `crucible artifact download` and re-checked (shape, range, L1 = report).
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "crucible/v1/jobs.pb.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/server_process.h"

namespace crucible {
namespace {

using testing::CommandResult;

// stdout only: progress on stderr is dropped.
CommandResult RunCli(const std::string& server, const std::string& args) {
  return testing::RunCli(server, args, "2>/dev/null");
}


std::string Fixture(const std::string& name) { return testing::FixturePath("backdoor/" + name); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

class BackdoorCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = testing::NewTempDir();
    server_ = std::make_unique<testing::ServerProcess>(data_dir_);
    ASSERT_TRUE(server_->Start().ok()) << server_->Log();
  }

  std::string Config(const std::string& name, const std::string& json) {
    const std::string path = data_dir_ + "/" + name + ".json";
    std::ofstream(path) << json;
    return path;
  }

  v1::Job RunJob(const std::string& args) {
    const CommandResult run = RunCli(server_->address(), "run " + args + " --json");
    EXPECT_EQ(run.exit_code, 0) << run.out << server_->Log();
    v1::Job job;
    const auto parsed = google::protobuf::util::JsonStringToMessage(run.out, &job);
    EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << run.out;
    EXPECT_EQ(job.state(), v1::SUCCEEDED) << run.out;
    return job;
  }

  std::string Download(const v1::Job& job, const std::string& name) {
    const std::string path = data_dir_ + "/" + job.id() + "_" + name;
    const CommandResult download =
        RunCli(server_->address(), "artifact download " + job.id() + " " + name + " --output " + path);
    EXPECT_EQ(download.exit_code, 0) << download.out;
    return ReadFile(path);
  }

  std::string data_dir_;
  std::unique_ptr<testing::ServerProcess> server_;
};

TEST_F(BackdoorCliTest, NeuralCleanseAndActivationClusteringFindTheBadNetsTrojan) {
  // Neural Cleanse on clean test images (the first 300 STRIP inputs), a short run.
  const std::string nc = Config("nc", R"({"methods": ["NEURAL_CLEANSE"], "nc_samples": 300, "nc_steps": 500,
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
  const std::string ac = Config("ac", R"({"methods": ["ACTIVATION_CLUSTERING"],
                                          "preprocess": {"scale": 0.00392156862745098}})");
  const v1::Job ac_job = RunJob("--engine backdoor --model " + Fixture("badnets_cnn.onnx") + " --inputs " +
                                Fixture("poisoned_train_images.npy") + " --labels " +
                                Fixture("poisoned_train_labels.npy") + " --config " + ac);
  const auto poison = ParseNpy(ReadFile(Fixture("poisoned_train_poison_indices.npy")));
  ASSERT_TRUE(poison.ok());
  std::set<int64_t> truth;
  for (float v : ToFloatTensor(*poison).values()) truth.insert(int64_t(v));
  int64_t hits = 0;
  for (int64_t i : ac_job.report().backdoor().flagged_samples()) hits += truth.count(i);
  EXPECT_GE(hits, 0.8 * truth.size());
  EXPECT_LE(ac_job.report().backdoor().flagged_samples_size() - hits, 95);  // <= 10% of 950 clean samples.
}

TEST_F(BackdoorCliTest, UnlearnableVerdictsAndValidationErrors) {
  const std::string config = Config("u", R"({"preprocess": {"scale": 0.00392156862745098}})");
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
  const std::string bad = Config("bad", R"({"methods": ["STRIP"], "poison_fraction": 0.9})");
  const std::string command = std::string(CRUCIBLE_CLI_BINARY) + " --server " + server_->address() +
                              " run --engine backdoor --model " + Fixture("badnets_cnn.onnx") + " --inputs " +
                              Fixture("strip_images.npy") + " --config " + bad + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  const int status = pclose(pipe);
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_THAT(out, ::testing::HasSubstr("backdoor.poison_fraction"));
}

}  // namespace
}  // namespace crucible
