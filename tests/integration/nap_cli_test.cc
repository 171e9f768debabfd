// The nap engine end to end: `crucible run --engine nap` against a real
// server on the fixture MLP and the 1,000 bundled Fashion-MNIST test images.
// The first job mines NAPs and verifies one class; its nap.json artifact is
// downloaded with `crucible artifact download` and supplied back to a second
// job with --naps, whose recall / precision over every input must equal what
// this test computes itself from the downloaded patterns and the executor's
// ReLU activations. Bad NAP files and configs fail at submit, naming the field.
#include "absl/container/flat_hash_map.h"
#include "crucible/v1/jobs.pb.h"
#include "engines/core/executor.h"
#include "engines/core/model.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_job_fixture.h"

namespace crucible {
namespace {

using testing::CommandResult;
using testing::FixturePath;
using ::testing::HasSubstr;

constexpr int kClasses = 10;
const char* const kLayers[] = {"/2/Relu_output_0", "/4/Relu_output_0"};

std::string NapRun(const std::string& extra) {
  return "--engine nap --model " + FixturePath("models/fmnist_mlp.onnx") + " --inputs " +
         FixturePath("data/fmnist_test_1000_images.npy") + " --labels " +
         FixturePath("data/fmnist_test_1000_labels.npy") + " " + extra;
}

// Which ReLU units are on for every fixture input: the executor's activations, read here.
std::vector<std::vector<std::vector<bool>>> ActiveUnits() {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
  EXPECT_TRUE(model.ok()) << model.status();
  auto executor = Executor::Create(*model, {.batch_size = 1000, .num_threads = 2});
  EXPECT_TRUE(executor.ok()) << executor.status();
  auto images = ReadNpyFile(FixturePath("data/fmnist_test_1000_images.npy"));
  EXPECT_TRUE(images.ok());
  Tensor x = ToFloatTensor(*images);
  for (float& v : x.values()) v *= 1.0f / 255;
  absl::flat_hash_map<std::string, Tensor> activations;
  EXPECT_TRUE((*executor)->Forward(x, {kLayers[0], kLayers[1]}, &activations).ok());
  std::vector<std::vector<std::vector<bool>>> on(1000, std::vector<std::vector<bool>>(2));
  for (int k = 0; k < 2; ++k) {
    const Tensor& a = activations.at(kLayers[k]);
    const int64_t units = a.num_elements() / 1000;
    for (int64_t i = 0; i < 1000; ++i) {
      for (int64_t j = 0; j < units; ++j) on[i][k].push_back(a.at(i * units + j) > 0);
    }
  }
  return on;
}

class NapCliTest : public testing::CliJobTest {};

TEST_F(NapCliTest, MinedNapsDownloadAndAreScoredAgainInASecondJob) {
  const std::string mine = WriteConfig("mine", R"({"preprocess": {"scale": 0.003921569}, "seed": 7,
                                                   "classes": [1], "timeout_seconds": 20})");
  const v1::Job first = RunJob(NapRun("--config " + mine));
  ASSERT_EQ(first.state(), v1::SUCCEEDED);
  const v1::NapReport& mined = first.report().nap();
  EXPECT_TRUE(mined.mined());
  EXPECT_EQ(mined.training_inputs(), 800);
  EXPECT_EQ(mined.held_out_inputs(), 200);
  ASSERT_EQ(mined.classes_size(), kClasses);
  EXPECT_NE(mined.classes(1).verified(), v1::VERIFICATION_RESULT_UNSPECIFIED);
  EXPECT_EQ(mined.classes(2).verified(), v1::VERIFICATION_RESULT_UNSPECIFIED);
  bool listed = false;
  for (const v1::Artifact& a : first.artifacts()) listed |= a.name() == "nap.json";
  EXPECT_TRUE(listed);

  const std::string json = Download(first, "nap.json");
  v1::NapSet set;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &set).ok()) << json;
  ASSERT_EQ(set.patterns_size(), kClasses);
  EXPECT_THAT(set.layer_names(), ::testing::ElementsAre(kLayers[0], kLayers[1]));
  for (int c = 0; c < kClasses; ++c) EXPECT_EQ(set.patterns(c).neurons_size(), mined.classes(c).fixed_neurons());

  // The same NAPs supplied with --naps: statistics over every input, computed here too.
  const std::string naps = WriteConfig("downloaded_nap", json);
  const std::string reuse = WriteConfig("reuse", R"({"preprocess": {"scale": 0.003921569}, "mine_only": true})");
  const v1::Job second = RunJob(NapRun("--naps " + naps + " --config " + reuse));
  const v1::NapReport& report = second.report().nap();
  EXPECT_FALSE(report.mined());
  EXPECT_EQ(report.held_out_inputs(), 1000);

  const auto on = ActiveUnits();
  auto labels_array = ReadNpyFile(FixturePath("data/fmnist_test_1000_labels.npy"));
  ASSERT_TRUE(labels_array.ok());
  const std::vector<int64_t> labels = *ToLabels(*labels_array);
  std::vector<int64_t> in_class(kClasses), matched(kClasses), hits(kClasses);
  int64_t ambiguous = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    int matches = 0;
    for (const v1::NapPattern& p : set.patterns()) {
      bool sat = true;
      for (const v1::NapNeuron& n : p.neurons()) {
        sat &= on[i][n.layer()][n.neuron()] == (n.state() == v1::NapNeuron::ACTIVE);
      }
      in_class[p.label()] += labels[i] == p.label();
      matched[p.label()] += sat;
      hits[p.label()] += sat && labels[i] == p.label();
      matches += sat;
    }
    ambiguous += matches >= 2;
  }
  EXPECT_EQ(report.ambiguous_inputs(), ambiguous);
  ASSERT_EQ(report.classes_size(), kClasses);
  for (int c = 0; c < kClasses; ++c) {
    const v1::NapClass& row = report.classes(c);
    EXPECT_EQ(row.label(), c);
    EXPECT_DOUBLE_EQ(row.recall(), double(hits[c]) / in_class[c]) << c;
    EXPECT_DOUBLE_EQ(row.precision(), matched[c] == 0 ? 0.0 : double(hits[c]) / matched[c]) << c;
    EXPECT_EQ(row.mined_from(), mined.classes(c).mined_from());
  }
  // A job's artifact is what the next job verified.
  EXPECT_EQ(Download(second, "nap.json"), json);

  // The human form of the first job's report.
  const CommandResult human = Cli("job report " + first.id());
  ASSERT_EQ(human.exit_code, 0) << human.out;
  EXPECT_THAT(human.out, HasSubstr("mined at delta 0.99 from 800 training inputs"));
  EXPECT_THAT(human.out, HasSubstr("RECALL"));
}

TEST_F(NapCliTest, NapFilesAndConfigsThatDoNotFitFailAtSubmit) {
  const std::string naps = WriteConfig("bad_nap", R"({"patterns": [{"label": 3, "neurons": [
      {"layer": 1, "neuron": 64, "state": "ACTIVE"}]}]})");
  CommandResult r = Cli("run " + NapRun("--naps " + naps), "2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(r.out, HasSubstr("nap.patterns.patterns[0].neurons[0].neuron"));

  const std::string bad_delta = WriteConfig("bad_delta", R"({"delta": 0.4})");
  r = Cli("run " + NapRun("--config " + bad_delta), "2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("nap.delta"));

  r = Cli("run --engine evaluate --model " + FixturePath("models/fmnist_mlp.onnx") + " --inputs " +
              FixturePath("data/fmnist_test_1000_images.npy") + " --naps " + naps,
          "2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--naps is only for --engine nap"));
}

}  // namespace
}  // namespace crucible
