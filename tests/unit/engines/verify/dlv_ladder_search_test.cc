// ManipulationGrid geometry and SearchLadders: exhaustive exploration visits
// every grid point exactly once, shortest ladders first; the budget turns it
// into a best-first search that is reported as not exhaustive; misclassified
// points come back as examples; the stop callback ends the search.
#include "engines/verify/dlv_ladder_search.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

// Three dims, centre (0.5, 0.2, 0.9) in the box [0,1]^3; features {0} (+) and
// {1,2} (+1 on dim 1, -1 on dim 2).
ManipulationGrid SmallGrid(int steps) {
  ManipulationGrid grid;
  grid.center = {0.5, 0.2, 0.9};
  grid.box = {{0.0, 0.0, 0.0}, {1.0, 1.0, 1.0}};
  grid.features = {{{0}, {1}}, {{1, 2}, {1, -1}}};
  grid.steps = steps;
  return grid;
}

TEST(ManipulationGridTest, PointsSplitEachSideIntoEqualStepsInsideTheBox) {
  const ManipulationGrid grid = SmallGrid(2);
  EXPECT_THAT(grid.Point({0, 0}), ::testing::ElementsAre(0.5, 0.2, 0.9));
  // Full "+" step on feature 1: dim 1 to its upper end, dim 2 (orientation -1) to its lower end.
  EXPECT_THAT(grid.Point({0, 2}), ::testing::ElementsAre(0.5, 1.0, 0.0));
  EXPECT_THAT(grid.Point({0, -2}), ::testing::ElementsAre(0.5, 0.0, 1.0));
  const std::vector<double> half = grid.Point({-1, 1});
  EXPECT_DOUBLE_EQ(half[0], 0.25);
  EXPECT_DOUBLE_EQ(half[1], 0.6);
  EXPECT_DOUBLE_EQ(half[2], 0.45);
  EXPECT_DOUBLE_EQ(grid.GridPoints(), 25.0);
  // Half the larger step of each side.
  EXPECT_THAT(grid.HalfSteps(), ::testing::ElementsAre(0.125, 0.2, 0.225));
}

TEST(LadderSearchTest, ExhaustiveSearchVisitsEveryGridPointOnceShortestLaddersFirst) {
  const ManipulationGrid grid = SmallGrid(3);
  std::set<std::vector<double>> seen;
  std::vector<double> distances;
  const GridEvaluator evaluate = [&](const std::vector<std::vector<double>>& points) {
    std::vector<GridEvaluation> out;
    for (const auto& p : points) {
      seen.insert(p);
      // Ladder length |j0| + |j1| recovered from the point.
      const double j0 = (p[0] - 0.5) / (0.5 / 3);
      const double j1 = p[1] >= 0.2 ? (p[1] - 0.2) / (0.8 / 3) : (p[1] - 0.2) / (0.2 / 3);
      distances.push_back(std::round(std::fabs(j0)) + std::round(std::fabs(j1)));
      out.push_back({1.0 - p[0], p[0] > 0.9});  // misclassified when dim 0 passes 0.9
    }
    return absl::StatusOr<std::vector<GridEvaluation>>(out);
  };
  auto result = SearchLadders(grid, evaluate, {.budget = 1000, .max_examples = 100, .batch_size = 7});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->exhaustive);
  EXPECT_EQ(result->explored, 49);
  EXPECT_EQ(seen.size(), 49u);
  // Dim 0 reaches 1.0 only at coordinate +3: seven points (one per feature-1 coordinate).
  EXPECT_EQ(result->misclassified, 7);
  EXPECT_EQ(result->examples.size(), 7u);
  for (const auto& e : result->examples) EXPECT_DOUBLE_EQ(e[0], 1.0);
  EXPECT_NEAR(result->min_margin, 0.0, 1e-12);
  // The origin comes first and no point is evaluated before one with a shorter ladder.
  EXPECT_EQ(distances.front(), 0.0);
  EXPECT_TRUE(std::is_sorted(distances.begin(), distances.end()));
  EXPECT_EQ(distances.back(), 6.0);
}

TEST(LadderSearchTest, BudgetMakesTheSearchBestFirstAndNotExhaustive) {
  ManipulationGrid grid;
  grid.center.assign(10, 0.5);
  grid.box = {std::vector<double>(10, 0.0), std::vector<double>(10, 1.0)};
  for (int64_t d = 0; d < 10; ++d) grid.features.push_back({{d}, {1}});
  grid.steps = 2;  // 5^10 grid points
  // The margin falls along dim 3 only: best-first must walk straight there.
  const GridEvaluator evaluate = [](const std::vector<std::vector<double>>& points) {
    std::vector<GridEvaluation> out;
    for (const auto& p : points) out.push_back({0.8 - p[3], p[3] > 0.8});
    return absl::StatusOr<std::vector<GridEvaluation>>(out);
  };
  auto result = SearchLadders(grid, evaluate, {.budget = 200, .max_examples = 1, .batch_size = 16});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->exhaustive);
  EXPECT_LE(result->explored, 200);
  EXPECT_GE(result->misclassified, 1);
  ASSERT_EQ(result->examples.size(), 1u);
  EXPECT_DOUBLE_EQ(result->examples[0][3], 1.0);
}

TEST(LadderSearchTest, StopEndsTheSearch) {
  const ManipulationGrid grid = SmallGrid(3);
  int calls = 0;
  const GridEvaluator evaluate = [&](const std::vector<std::vector<double>>& points) {
    ++calls;
    return absl::StatusOr<std::vector<GridEvaluation>>(std::vector<GridEvaluation>(points.size(), {1.0, false}));
  };
  auto result = SearchLadders(grid, evaluate, {.budget = 1000, .batch_size = 5, .stop = [&] { return calls >= 2; }});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->stopped);
  EXPECT_FALSE(result->exhaustive);
  EXPECT_EQ(result->explored, 10);
}

TEST(LadderSearchTest, EvaluatorErrorsPropagate) {
  const GridEvaluator failing = [](const std::vector<std::vector<double>>&) {
    return absl::StatusOr<std::vector<GridEvaluation>>(absl::InvalidArgumentError("bad input"));
  };
  EXPECT_EQ(SearchLadders(SmallGrid(1), failing, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crucible
