// Shape rules shared by import and execution: broadcasting, Reshape with
// exporter-hard-coded batch sizes, window geometry, and the import-time graph
// rewrites that depend on them.
#include "engines/core/shape_inference.h"

#include "engines/core/model.h"
#include "engines/core/window_geometry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_files.h"

namespace crucible {
namespace {

TEST(ShapeInferenceTest, BroadcastsLikeNumpy) {
  EXPECT_EQ(*BroadcastShapes({2, 3, 8, 8}, {3, 1, 1}), Shape({2, 3, 8, 8}));
  EXPECT_EQ(*BroadcastShapes({5}, {4, 1}), Shape({4, 5}));
  EXPECT_EQ(*BroadcastShapes({}, {2, 2}), Shape({2, 2}));
  EXPECT_EQ(BroadcastShapes({2, 3}, {4, 3}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ShapeInferenceTest, ReshapeResolvesZeroMinusOneAndTracedBatch) {
  EXPECT_EQ(*ResolveReshape({2, 3, 4}, {0, -1}, false, 0), Shape({2, 12}));
  EXPECT_EQ(*ResolveReshape({2, 3, 4}, {-1, 4}, false, 0), Shape({6, 4}));
  // An exporter traced with batch 1 wrote [1, 784]; at batch 32 it means [32, 784].
  EXPECT_EQ(*ResolveReshape({32, 1, 28, 28}, {1, 784}, false, 32), Shape({32, 784}));
  EXPECT_EQ(*ResolveReshape({32, 1, 28, 28}, {1, -1}, false, 32), Shape({32, 784}));
  EXPECT_EQ(ResolveReshape({2, 3}, {4, -1}, false, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveReshape({2, 3}, {-1, -1}, false, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveReshape({2, 3}, {7}, false, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ShapeInferenceTest, WindowGeometryFollowsOnnxPaddingRules) {
  Node pool;
  pool.op_type = "MaxPool";
  pool.name = "p";
  pool.attributes.SetInts("strides", {2, 2});
  auto g = ResolveWindow(pool, {1, 3, 7, 7}, {3, 3});
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->output, std::vector<int64_t>({3, 3}));
  pool.attributes.SetInt("ceil_mode", 1);
  g = ResolveWindow(pool, {1, 3, 8, 8}, {3, 3});
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->output, std::vector<int64_t>({4, 4}));  // floor would give 3.
  EXPECT_EQ(g->pads_end, std::vector<int64_t>({1, 1}));
  Node conv;
  conv.op_type = "Conv";
  conv.name = "c";
  conv.attributes.SetString("auto_pad", "SAME_UPPER");
  conv.attributes.SetInts("strides", {2, 2});
  g = ResolveWindow(conv, {1, 3, 9, 10}, {4, 4});
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->output, std::vector<int64_t>({5, 5}));
  EXPECT_EQ(g->pads_begin, std::vector<int64_t>({1, 1}));
  EXPECT_EQ(g->pads_end, std::vector<int64_t>({2, 1}));
  EXPECT_EQ(ResolveWindow(conv, {1, 3, 9}, {4, 4}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ShapeInferenceTest, ImportFoldsBatchNormIntoConvAndDropsZeroPads) {
  auto resnet = Model::FromOnnxFile(testing::FixturePath("models/fmnist_resnet.onnx"));
  ASSERT_TRUE(resnet.ok()) << resnet.status();
  EXPECT_TRUE(resnet->OutputsOfType("BatchNormalization").empty());
  EXPECT_EQ(resnet->OutputsOfType("Conv").size(), 6u);
  auto lenet = Model::FromOnnxFile(testing::FixturePath("models/fmnist_lenet.onnx"));
  ASSERT_TRUE(lenet.ok()) << lenet.status();
  EXPECT_TRUE(lenet->OutputsOfType("Pad").empty());
  // A BatchNormalization that does not follow a Conv stays.
  auto bn = Model::FromOnnxFile(testing::FixturePath("ops/batchnorm.onnx"));
  ASSERT_TRUE(bn.ok()) << bn.status();
  EXPECT_EQ(bn->OutputsOfType("BatchNormalization").size(), 1u);
}

}  // namespace
}  // namespace crucible
