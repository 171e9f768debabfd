// ParseVnnLib on the VNN-COMP ACAS Xu property shapes (boxes, conjunctions,
// disjunctions of conjunctions, input disjunctions) and on malformed text,
// whose errors must name the line and the token.
#include "engines/verify/vnnlib.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::HasSubstr;

constexpr char kHeader[] =
    "; two inputs, three outputs\n"
    "(declare-const X_0 Real)\n"
    "(declare-const X_1 Real)\n"
    "(declare-const Y_0 Real)\n"
    "(declare-const Y_1 Real)\n"
    "(declare-const Y_2 Real)\n";

TEST(VnnLibTest, BoxAndConjunctionOfOutputConstraints) {
  const std::string text = std::string(kHeader) +
                           "(assert (<= X_0 0.5))\n(assert (>= X_0 -0.5)) ; comment\n"
                           "(assert (<= X_1 1e-1))\n(assert (>= X_1 -.25))\n"
                           "(assert (<= Y_0 Y_1))\n(assert (>= Y_2 3.5))\n";
  auto p = ParseVnnLib(text);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->num_inputs, 2);
  EXPECT_EQ(p->num_outputs, 3);
  ASSERT_EQ(p->cases.size(), 1u);
  const PropertyCase& c = p->cases[0];
  EXPECT_EQ(c.input_lower, (std::vector<double>{-0.5, -0.25}));
  EXPECT_EQ(c.input_upper, (std::vector<double>{0.5, 0.1}));
  ASSERT_EQ(c.constraints.size(), 2u);
  // Y_0 - Y_1 <= 0
  EXPECT_EQ(c.constraints[0].coefficients, (std::vector<double>{1, -1, 0}));
  EXPECT_EQ(c.constraints[0].bound, 0);
  // -Y_2 <= -3.5
  EXPECT_EQ(c.constraints[1].coefficients, (std::vector<double>{0, 0, -1}));
  EXPECT_EQ(c.constraints[1].bound, -3.5);
  EXPECT_TRUE(p->Violates(c, {0, 0}, {1, 2, 4}));
  EXPECT_FALSE(p->Violates(c, {0, 0}, {3, 2, 4}));
  EXPECT_FALSE(p->Violates(c, {0.6, 0}, {1, 2, 4}));
}

TEST(VnnLibTest, DisjunctionsOfConjunctionsAndInputDisjunctions) {
  const std::string text = std::string(kHeader) +
                           "(assert (or (and (<= X_0 0) (>= X_0 -1)) (and (<= X_0 1) (>= X_0 0.5))))\n"
                           "(assert (and (<= X_1 1) (>= X_1 0)))\n"
                           "(assert (or\n (and (<= Y_2 Y_0) (<= Y_2 Y_1))\n (and (<= (+ Y_0 (* 2 Y_1)) (- 3 Y_2)))\n))\n";
  auto p = ParseVnnLib(text);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->cases.size(), 4u);
  EXPECT_EQ(p->cases[0].input_lower[0], -1);
  EXPECT_EQ(p->cases[0].constraints.size(), 2u);
  EXPECT_EQ(p->cases[1].constraints.size(), 1u);
  EXPECT_EQ(p->cases[1].constraints[0].coefficients, (std::vector<double>{1, 2, 1}));
  EXPECT_EQ(p->cases[1].constraints[0].bound, 3);
  EXPECT_EQ(p->cases[2].input_lower[0], 0.5);
}

TEST(VnnLibTest, ContradictoryBoxesAreDropped) {
  const std::string text = std::string(kHeader) +
                           "(assert (<= X_0 0))(assert (>= X_0 1))(assert (<= X_1 1))(assert (>= X_1 0))"
                           "(assert (<= Y_0 Y_1))";
  auto p = ParseVnnLib(text);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->cases.empty());
}

void ExpectError(const std::string& text, const std::string& line, const std::string& token) {
  auto p = ParseVnnLib(text);
  ASSERT_FALSE(p.ok()) << text;
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr(line)) << p.status();
  EXPECT_THAT(p.status().message(), HasSubstr(token)) << p.status();
}

TEST(VnnLibTest, MalformedTextNamesLineAndToken) {
  const std::string box = "(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= X_1 1))\n(assert (>= X_1 0))\n";
  ExpectError(std::string(kHeader) + box + "(assert (<= Y_0 Y_7))\n", "line 11", "Y_7");
  ExpectError(std::string(kHeader) + box + "(assert (== Y_0 1))\n", "line 11", "==");
  ExpectError(std::string(kHeader) + box + "(assert (<= Y_0 1x))\n", "line 11", "1x");
  ExpectError(std::string(kHeader) + box + "(assert (<= Y_0 1)\n", "line 11", "(");
  ExpectError(std::string(kHeader) + box + "(assert (<= Y_0 1)))\n", "line 11", ")");
  ExpectError(std::string(kHeader) + box + "(assert (<= (* Y_0 Y_1) 1))\n", "line 11", "*");
  ExpectError(std::string(kHeader) + box + "(assert (<= (+ X_0 X_1) 1))\n", "line 11", "<=");
  ExpectError(std::string(kHeader) + "(assert (<= X_0 1))\n", "line 2", "X_0");  // X_0 has no lower bound
  ExpectError("(declare-const X_0 Int)\n", "line 1", "Int");
  ExpectError("(declare-const X_1 Real)\n(declare-const Y_0 Real)\n", "line 1", "X_1");
  ExpectError("(declare-const Z Real)\n", "line 1", "Z");
  ExpectError("(check-sat)\n", "line 1", "check-sat");
}

}  // namespace
}  // namespace crucible
