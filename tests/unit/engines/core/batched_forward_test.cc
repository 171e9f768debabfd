// Whole-dataset evaluation with the core matches PyTorch's accuracy on the
// 1,000 bundled Fashion-MNIST test images (tests/fixtures/golden/accuracy.json).
#include "engines/core/batched_forward.h"

#include <fstream>
#include <regex>
#include <sstream>

#include "engines/core/array_file.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"

namespace crucible {
namespace {

using testing::FixturePath;

int64_t PyTorchCorrect(const std::string& model) {
  std::ifstream in(FixturePath("golden/accuracy.json"));
  std::stringstream json;
  json << in.rdbuf();
  std::smatch match;
  const std::string text = json.str();
  const std::regex pattern("\"" + model + "\"\\s*:\\s*\\{[^}]*\"correct\"\\s*:\\s*(\\d+)");
  return std::regex_search(text, match, pattern) ? std::stoll(match[1]) : -1;
}

class BatchedForwardTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchedForwardTest, AccuracyOnBundledImagesMatchesPyTorch) {
  auto model = Model::FromOnnxFile(FixturePath("models/" + GetParam() + ".onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto images = ReadArrayFile(FixturePath("data/fmnist_test_1000_images.npy"));
  auto label_array = ReadArrayFile(FixturePath("data/fmnist_test_1000_labels.npy"));
  ASSERT_TRUE(images.ok() && label_array.ok());
  auto labels = ToLabels(*label_array);
  ASSERT_TRUE(labels.ok());
  Tensor pixels = ToFloatTensor(*images);
  for (float& v : pixels.values()) v /= 255.0f;
  auto inputs = FitToModelInput(pixels.Reshaped({1000, 28, 28}), *model);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  EXPECT_EQ(inputs->shape(), Shape({1000, 1, 28, 28}));
  auto exec = Executor::Create(*model, {.batch_size = 96, .num_threads = 2});  // 1000 = 10 * 96 + 40.
  ASSERT_TRUE(exec.ok());
  auto logits = ForwardInBatches(**exec, *inputs);
  ASSERT_TRUE(logits.ok()) << logits.status();
  const std::vector<int64_t> predicted = ArgMaxRows(*logits);
  int64_t correct = 0;
  for (size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == (*labels)[i];
  EXPECT_EQ(correct, PyTorchCorrect(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BatchedForwardTest,
                         ::testing::Values("fmnist_mlp", "fmnist_lenet", "fmnist_resnet"),
                         [](const auto& info) { return info.param; });

TEST(BatchedForwardTest, FitToModelInputNamesBothShapes) {
  auto model = Model::FromOnnxFile(FixturePath("models/fmnist_mlp.onnx"));
  ASSERT_TRUE(model.ok());
  auto fitted = FitToModelInput(Tensor({10, 27, 28}), *model);
  EXPECT_EQ(fitted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(fitted.status().message()).find("[10,27,28]"), std::string::npos);
  EXPECT_NE(std::string(fitted.status().message()).find("[1,28,28]"), std::string::npos);
}

TEST(BatchedForwardTest, ArgMaxRowsPicksTheFirstLargest) {
  const Tensor scores({2, 3}, {0.1f, 0.7f, 0.2f, 5.0f, 5.0f, -1.0f});
  EXPECT_EQ(ArgMaxRows(scores), std::vector<int64_t>({1, 0}));
}

}  // namespace
}  // namespace crucible
