// EncodePng against the independent decoder of test_png.h (chunk framing and
// CRCs checked with zlib, IDAT inflated, filters undone): the decoded pixels
// must equal the input.
#include "engines/core/png.h"

#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_png.h"

namespace crucible {
namespace {

using testing::DecodePng;

std::vector<uint8_t> RandomPixels(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> pixels(n);
  for (uint8_t& p : pixels) p = uint8_t(rng());
  return pixels;
}

TEST(PngTest, GrayRoundTripsThroughIndependentDecoder) {
  const std::vector<uint8_t> pixels = RandomPixels(37 * 11, 1);
  auto png = EncodePng(37, 11, PngColor::kGray, pixels);
  ASSERT_TRUE(png.ok()) << png.status();
  const testing::DecodedPng decoded = DecodePng(*png);
  EXPECT_EQ(decoded.width, 37u);
  EXPECT_EQ(decoded.height, 11u);
  EXPECT_EQ(decoded.bit_depth, 8);
  EXPECT_EQ(decoded.color_type, 0);
  EXPECT_EQ(decoded.interlace, 0);
  EXPECT_THAT(decoded.chunk_types, ::testing::ElementsAre("IHDR", "IDAT", "IEND"));
  EXPECT_EQ(decoded.pixels, pixels);
}

TEST(PngTest, RgbRoundTripsThroughIndependentDecoder) {
  const std::vector<uint8_t> pixels = RandomPixels(5 * 64 * 3, 2);
  auto png = EncodePng(5, 64, PngColor::kRgb, pixels);
  ASSERT_TRUE(png.ok()) << png.status();
  const testing::DecodedPng decoded = DecodePng(*png);
  EXPECT_EQ(decoded.width, 5u);
  EXPECT_EQ(decoded.height, 64u);
  EXPECT_EQ(decoded.color_type, 2);
  EXPECT_EQ(decoded.pixels, pixels);
}

TEST(PngTest, OnePixelImage) {
  const std::vector<uint8_t> pixel = {200};
  auto png = EncodePng(1, 1, PngColor::kGray, pixel);
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(DecodePng(*png).pixels, pixel);
}

TEST(PngTest, RejectsZeroSize) {
  EXPECT_EQ(EncodePng(0, 4, PngColor::kGray, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePng(4, 0, PngColor::kRgb, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePng(-1, 4, PngColor::kGray, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PngTest, RejectsMismatchedBuffer) {
  const std::vector<uint8_t> gray_sized(4 * 4);
  const auto status = EncodePng(4, 4, PngColor::kRgb, gray_sized).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("48 bytes"));
  const std::vector<uint8_t> one_short(4 * 4 - 1);
  EXPECT_EQ(EncodePng(4, 4, PngColor::kGray, one_short).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crucible
