// NapSet conversion (engines/nap/nap_set.h) and layer selection
// (engines/nap/hidden_layers.h): the JSON round trip keeps every pattern, and
// a NapSet that does not fit the model is INVALID_ARGUMENT naming the field.
#include "engines/nap/nap_set.h"

#include "engines/nap/hidden_layers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"

namespace crucible {

// Found by argument-dependent lookup from the matchers.
bool operator==(const FixedNeuron& a, const FixedNeuron& b) {
  return a.layer == b.layer && a.neuron == b.neuron && a.state == b.state;
}

namespace {

using ::testing::HasSubstr;
using testing::FixturePath;

// The fixture MLP's layers: 784 -> 128 -> ReLU -> 64 -> ReLU -> 10.
const std::vector<HiddenLayer> kLayers = {{"/2/Relu_output_0", 128}, {"/4/Relu_output_0", 64}};

std::vector<ActivationPattern> SomePatterns() {
  return {{.label = 2,
           .neurons = {{.layer = 1, .neuron = 63, .state = NeuronState::kInactive},
                       {.layer = 0, .neuron = 5, .state = NeuronState::kActive},
                       {.layer = 0, .neuron = 127, .state = NeuronState::kInactive}}},
          {.label = 7, .neurons = {}},
          {.label = 9, .neurons = {{.layer = 1, .neuron = 0, .state = NeuronState::kActive}}}};
}

TEST(NapSetTest, JsonRoundTripKeepsEveryPatternSorted) {
  const v1::NapSet set = ToNapSet(SomePatterns(), {71, 0, 80}, 0.95f, kLayers);
  absl::StatusOr<std::string> json = NapSetToJson(set);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"layer_names\""));
  EXPECT_THAT(*json, HasSubstr("\"/4/Relu_output_0\""));
  EXPECT_THAT(*json, HasSubstr("\"state\": \"INACTIVE\""));
  EXPECT_THAT(*json, HasSubstr("\"mined_from\": \"71\""));

  absl::StatusOr<v1::NapSet> parsed = NapSetFromJson(*json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), set.SerializeAsString());
  EXPECT_FLOAT_EQ(parsed->delta(), 0.95f);
  EXPECT_THAT(parsed->layer_sizes(), ::testing::ElementsAre(128, 64));

  absl::StatusOr<std::vector<ActivationPattern>> back = PatternsFromNapSet(*parsed, kLayers, 10, "nap.patterns");
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].label, 2);
  // Sorted by layer, then neuron.
  EXPECT_THAT((*back)[0].neurons, ::testing::ElementsAre(FixedNeuron{0, 5, NeuronState::kActive},
                                                         FixedNeuron{0, 127, NeuronState::kInactive},
                                                         FixedNeuron{1, 63, NeuronState::kInactive}));
  EXPECT_TRUE((*back)[1].neurons.empty());
  EXPECT_EQ((*back)[2].label, 9);
  EXPECT_THAT((*back)[2].neurons, ::testing::ElementsAre(FixedNeuron{1, 0, NeuronState::kActive}));
}

TEST(NapSetTest, HandWrittenJsonWithPlainNumbersAndARepeatedNeuronIsAccepted) {
  absl::StatusOr<v1::NapSet> set = NapSetFromJson(R"({"patterns": [{"label": 4, "neurons": [
      {"layer": 1, "neuron": 3, "state": "ACTIVE"}, {"layer": 1, "neuron": 3, "state": "ACTIVE"}]}]})");
  ASSERT_TRUE(set.ok()) << set.status();
  absl::StatusOr<std::vector<ActivationPattern>> patterns = PatternsFromNapSet(*set, kLayers, 10, "nap.patterns");
  ASSERT_TRUE(patterns.ok()) << patterns.status();
  ASSERT_EQ(patterns->size(), 1u);
  EXPECT_THAT((*patterns)[0].neurons, ::testing::ElementsAre(FixedNeuron{1, 3, NeuronState::kActive}));
}

TEST(NapSetTest, NapSetsThatDoNotFitTheModelNameTheField) {
  struct Case {
    std::string json;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"patterns": [{"label": 1, "neurons": [{"layer": 0, "neuron": 1, "state": "ACTIVE"},
                                                 {"layer": 2, "neuron": 0, "state": "ACTIVE"}]}]})",
       "nap.patterns.patterns[0].neurons[1].layer"},
      {R"({"patterns": [{"label": 1}, {"label": 2, "neurons": [{"layer": 1, "neuron": 64, "state": "ACTIVE"}]}]})",
       "nap.patterns.patterns[1].neurons[0].neuron"},
      {R"({"patterns": [{"label": 1, "neurons": [{"layer": 0, "neuron": -1, "state": "ACTIVE"}]}]})",
       "nap.patterns.patterns[0].neurons[0].neuron"},
      {R"({"patterns": [{"label": 10}]})", "nap.patterns.patterns[0].label"},
      {R"({"patterns": [{"label": -1}]})", "nap.patterns.patterns[0].label"},
      {R"({"patterns": [{"label": 3}, {"label": 3}]})", "nap.patterns.patterns[1].label"},
      {R"({"patterns": [{"label": 3, "neurons": [{"layer": 0, "neuron": 9}]}]})",
       "nap.patterns.patterns[0].neurons[0].state"},
      {R"({"patterns": [{"label": 3, "neurons": [{"layer": 0, "neuron": 9, "state": "ACTIVE"},
                                                 {"layer": 0, "neuron": 9, "state": "INACTIVE"}]}]})",
       "nap.patterns.patterns[0].neurons[1]"},
      {R"({"layer_sizes": [128, 32], "patterns": [{"label": 3}]})", "nap.patterns.layer_sizes[1]"},
      {R"({"layer_sizes": [128], "patterns": [{"label": 3}]})", "nap.patterns.layer_sizes"},
      {R"({"delta": 0.3, "patterns": [{"label": 3}]})", "nap.patterns.delta"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::NapSet> set = NapSetFromJson(c.json);
    ASSERT_TRUE(set.ok()) << c.json << ": " << set.status();
    absl::Status status = PatternsFromNapSet(*set, kLayers, 10, "nap.patterns").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(status.message(), HasSubstr(c.field + ":")) << c.json;
  }
  absl::StatusOr<v1::NapSet> unknown_field = NapSetFromJson(R"({"patterns": [{"lable": 3}]})");
  EXPECT_EQ(unknown_field.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown_field.status().message(), HasSubstr("crucible.v1.NapSet"));
}

TEST(HiddenLayersTest, TheMlpsReluLayersAreSelectedByIndexOrName) {
  absl::StatusOr<Model> model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<std::vector<HiddenLayer>> layers = HiddenReluLayers(*model);
  ASSERT_TRUE(layers.ok()) << layers.status();
  ASSERT_EQ(layers->size(), 2u);
  EXPECT_EQ((*layers)[0].name, "/2/Relu_output_0");
  EXPECT_EQ((*layers)[0].size, 128);
  EXPECT_EQ((*layers)[1].name, "/4/Relu_output_0");
  EXPECT_EQ((*layers)[1].size, 64);

  google::protobuf::RepeatedPtrField<std::string> selection;
  EXPECT_THAT(*SelectLayers(selection, *layers), ::testing::ElementsAre(0, 1));
  *selection.Add() = "/4/Relu_output_0";
  *selection.Add() = "1";
  EXPECT_THAT(*SelectLayers(selection, *layers), ::testing::ElementsAre(1));
  *selection.Add() = "2";
  absl::Status bad = SelectLayers(selection, *layers).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("nap.layers[2]: '2'"));
  selection.Mutable(2)->assign("/3/Gemm_output_0");
  EXPECT_THAT(SelectLayers(selection, *layers).status().message(), HasSubstr("nap.layers[2]"));
}

}  // namespace
}  // namespace crucible
