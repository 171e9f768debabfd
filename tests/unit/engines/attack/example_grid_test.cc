// AttackGridPng and ImageGridPng, decoded with the independent PNG decoder of
// test_png.h: the picture has the size the geometry promises, every image
// pixel of every cell equals the input value scaled to 0..255 (computed here,
// not with the grid's own helpers), the perturbation cell is mid-grey where
// nothing changed, rows whose prediction changed come first, and every
// caption band holds some ink (red for a changed prediction).
#include "engines/attack/example_grid.h"

#include <cmath>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/engines/core/test_png.h"

namespace crucible {
namespace {

using testing::DecodedPng;
using testing::DecodePng;
using testing::PixelAt;

Tensor RandomTensor(const Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  Tensor t(shape);
  for (float& v : t.values()) v = uniform(rng);
  return t;
}

uint8_t Expected(double value, double low, double high) {
  const double unit = std::min(1.0, std::max(0.0, (value - low) / (high - low)));
  return static_cast<uint8_t>(std::floor(unit * 255.0 + 0.5));
}

// Checks every pixel of the image in cell (row, column) against `values`
// (channels x h x w) drawn between low and high.
void ExpectCell(const DecodedPng& png, const GridGeometry& g, int64_t row, int64_t column, const ImageShape& shape,
                const std::vector<double>& values, double low, double high) {
  int mismatches = 0;
  for (int64_t y = 0; y < shape.height * g.scale; ++y) {
    for (int64_t x = 0; x < shape.width * g.scale; ++x) {
      const std::vector<uint8_t> pixel = PixelAt(png, g.CellX(column) + x, g.CellY(row) + y);
      for (int64_t c = 0; c < 3; ++c) {
        const int64_t channel = shape.channels == 3 ? c : 0;
        const double v = values[(channel * shape.height + y / g.scale) * shape.width + x / g.scale];
        mismatches += pixel[c] != Expected(v, low, high);
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "cell (" << row << ", " << column << ")";
}

struct Ink {
  int black = 0, red = 0;
};

Ink CaptionInk(const DecodedPng& png, const GridGeometry& g, int64_t row, int64_t column) {
  Ink ink;
  for (int64_t y = 0; y < g.caption_height; ++y) {
    for (int64_t x = 0; x < g.image_width; ++x) {
      const std::vector<uint8_t> p = PixelAt(png, g.CellX(column) + x, g.CellY(row) + g.image_height + y);
      if (p == std::vector<uint8_t>{0, 0, 0}) ++ink.black;
      if (p[0] > 128 && p[1] == 0 && p[2] == 0) ++ink.red;
    }
  }
  return ink;
}

std::vector<double> Example(const Tensor& t, int64_t i) {
  const int64_t per = t.num_elements() / t.dim(0);
  return std::vector<double>(t.data() + i * per, t.data() + (i + 1) * per);
}

TEST(AttackGridPngTest, GreyCellsEqualInputsAndChangedRowsComeFirst) {
  const Tensor originals = RandomTensor({5, 1, 7, 6}, 1);
  Tensor adversarials = originals;
  for (int64_t j = 0; j < adversarials.num_elements(); ++j) {
    adversarials.at(j) = std::min(1.0f, std::max(0.0f, originals.at(j) + ((j % 3) - 1) * 0.1f));
  }
  // Rows 1 and 3 change their prediction; row 4 is dropped by max_rows.
  const std::vector<int64_t> labels = {0, 1, 2, 3, 4}, predictions = {0, 7, 2, 8, 4};
  auto png = AttackGridPng(originals, adversarials, labels, predictions, 4);
  ASSERT_TRUE(png.ok()) << png.status();
  const DecodedPng decoded = DecodePng(*png);
  const ImageShape shape{1, 7, 6};
  const GridGeometry g = GridGeometryFor(shape, 4, 3);
  EXPECT_GE(g.scale * 7, 64);
  EXPECT_EQ(decoded.width, uint32_t(g.width));
  EXPECT_EQ(decoded.height, uint32_t(g.height));
  EXPECT_EQ(decoded.color_type, 2);

  double largest_change = 0;
  for (int64_t i : {1, 3, 0, 2}) {
    for (size_t j = 0; j < Example(originals, i).size(); ++j) {
      largest_change = std::max(largest_change, std::abs(Example(adversarials, i)[j] - Example(originals, i)[j]));
    }
  }
  const std::vector<int64_t> order = {1, 3, 0, 2};
  for (int64_t row = 0; row < 4; ++row) {
    const int64_t i = order[row];
    ExpectCell(decoded, g, row, 0, shape, Example(originals, i), 0, 1);
    std::vector<double> change = Example(adversarials, i);
    const std::vector<double> original = Example(originals, i);
    for (size_t j = 0; j < change.size(); ++j) change[j] -= original[j];
    ExpectCell(decoded, g, row, 1, shape, change, -largest_change, largest_change);
    ExpectCell(decoded, g, row, 2, shape, Example(adversarials, i), 0, 1);
    for (int64_t column = 0; column < 3; ++column) {
      const Ink ink = CaptionInk(decoded, g, row, column);
      EXPECT_GT(ink.black + ink.red, 0) << "caption of cell (" << row << ", " << column << ")";
    }
    EXPECT_EQ(CaptionInk(decoded, g, row, 2).red > 0, predictions[i] != labels[i]) << "row " << row;
  }
}

TEST(AttackGridPngTest, UnchangedPixelsAreMidGrey) {
  Tensor originals = RandomTensor({1, 1, 4, 4}, 2);
  Tensor adversarials = originals;
  adversarials.at(5) += 0.25f;
  auto png = AttackGridPng(originals, adversarials, {3}, {3}, 16);
  ASSERT_TRUE(png.ok()) << png.status();
  const DecodedPng decoded = DecodePng(*png);
  const GridGeometry g = GridGeometryFor({1, 4, 4}, 1, 3);
  EXPECT_EQ(PixelAt(decoded, g.CellX(1), g.CellY(0)), (std::vector<uint8_t>{128, 128, 128}));
  // Pixel 5 is (x 1, y 1): the largest change, drawn white.
  EXPECT_EQ(PixelAt(decoded, g.CellX(1) + g.scale, g.CellY(0) + g.scale), (std::vector<uint8_t>{255, 255, 255}));
}

TEST(AttackGridPngTest, RgbChannelsMapToColours) {
  const Tensor originals = RandomTensor({2, 3, 5, 4}, 3);
  const Tensor adversarials = RandomTensor({2, 3, 5, 4}, 4);
  auto png = AttackGridPng(originals, adversarials, {1, 2}, {1, 2}, 16);
  ASSERT_TRUE(png.ok()) << png.status();
  const DecodedPng decoded = DecodePng(*png);
  const ImageShape shape{3, 5, 4};
  const GridGeometry g = GridGeometryFor(shape, 2, 3);
  EXPECT_EQ(decoded.height, uint32_t(g.height));
  for (int64_t row = 0; row < 2; ++row) {
    ExpectCell(decoded, g, row, 0, shape, Example(originals, row), 0, 1);
    ExpectCell(decoded, g, row, 2, shape, Example(adversarials, row), 0, 1);
  }
}

TEST(AttackGridPngTest, FlatSquareVectorsAndPixelRange) {
  Tensor originals = RandomTensor({1, 16}, 5);
  for (float& v : originals.values()) v = v * 2 - 1;
  auto png = AttackGridPng(originals, originals, {0}, {0}, 1, -1.0f, 1.0f);
  ASSERT_TRUE(png.ok()) << png.status();
  const DecodedPng decoded = DecodePng(*png);
  const ImageShape shape{1, 4, 4};
  const GridGeometry g = GridGeometryFor(shape, 1, 3);
  EXPECT_EQ(decoded.width, uint32_t(g.width));
  ExpectCell(decoded, g, 0, 0, shape, Example(originals, 0), -1, 1);
}

TEST(AttackGridPngTest, Errors) {
  const Tensor a = RandomTensor({2, 1, 4, 4}, 6);
  EXPECT_EQ(AttackGridPng(a, RandomTensor({2, 1, 4, 5}, 7), {0, 1}, {0, 1}, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AttackGridPng(a, a, {0}, {0, 1}, 4).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AttackGridPng(a, a, {0, 1}, {0, 1}, 0).status().code(), absl::StatusCode::kInvalidArgument);
  const Tensor vectors = RandomTensor({2, 10}, 8);
  EXPECT_EQ(AttackGridPng(vectors, vectors, {0, 1}, {0, 1}, 4).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ImageGridPngTest, CaptionsAndLayout) {
  const ImageShape shape{1, 3, 3};
  std::vector<GridImage> images;
  for (int k = 0; k < 5; ++k) {
    images.push_back({std::vector<float>(9, k / 4.0f), 0.0f, 1.0f, std::to_string(k) + " 0.99", false});
  }
  auto png = ImageGridPng(shape, images, 2);
  ASSERT_TRUE(png.ok()) << png.status();
  const DecodedPng decoded = DecodePng(*png);
  const GridGeometry g = GridGeometryFor(shape, 3, 2);
  EXPECT_EQ(decoded.width, uint32_t(g.width));
  EXPECT_EQ(decoded.height, uint32_t(g.height));
  for (int k = 0; k < 5; ++k) {
    ExpectCell(decoded, g, k / 2, k % 2, shape, std::vector<double>(9, k / 4.0f), 0, 1);
    EXPECT_GT(CaptionInk(decoded, g, k / 2, k % 2).black, 0);
  }
  // The sixth cell is empty background.
  EXPECT_EQ(PixelAt(decoded, g.CellX(1), g.CellY(2)), (std::vector<uint8_t>{255, 255, 255}));
  images[2].values.pop_back();
  EXPECT_EQ(ImageGridPng(shape, images, 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ImageGridPng(shape, {}, 2).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crucible
