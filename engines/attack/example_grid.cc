#include "engines/attack/example_grid.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/core/png.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr int64_t kMinImageSide = 64;  // Small inputs (28 x 28) are enlarged to at least this.
constexpr int64_t kMargin = 4;
constexpr int64_t kFontScale = 2;
constexpr int64_t kGlyphWidth = 3, kGlyphHeight = 5;
constexpr int64_t kCaptionPadding = 2;
constexpr uint8_t kBackground = 255;

// A 3 x 5 bitmap font: one 3-bit row pattern per line, top line first, the
// leftmost pixel in the highest bit.
struct Glyph {
  char symbol;
  std::array<uint8_t, kGlyphHeight> rows;
};
constexpr Glyph kFont[] = {
    {'0', {0b111, 0b101, 0b101, 0b101, 0b111}}, {'1', {0b010, 0b110, 0b010, 0b010, 0b111}},
    {'2', {0b111, 0b001, 0b111, 0b100, 0b111}}, {'3', {0b111, 0b001, 0b111, 0b001, 0b111}},
    {'4', {0b101, 0b101, 0b111, 0b001, 0b001}}, {'5', {0b111, 0b100, 0b111, 0b001, 0b111}},
    {'6', {0b111, 0b100, 0b111, 0b101, 0b111}}, {'7', {0b111, 0b001, 0b001, 0b010, 0b010}},
    {'8', {0b111, 0b101, 0b111, 0b101, 0b111}}, {'9', {0b111, 0b101, 0b111, 0b001, 0b111}},
    {'.', {0b000, 0b000, 0b000, 0b000, 0b010}}, {'/', {0b001, 0b001, 0b010, 0b100, 0b100}},
    {'-', {0b000, 0b000, 0b111, 0b000, 0b000}}, {'%', {0b101, 0b001, 0b010, 0b100, 0b101}},
};

const Glyph* FindGlyph(char symbol) {
  for (const Glyph& glyph : kFont) {
    if (glyph.symbol == symbol) return &glyph;
  }
  return nullptr;
}

class Canvas {
 public:
  Canvas(int64_t width, int64_t height) : width_(width), height_(height), rgb_(width * height * 3, kBackground) {}

  void Set(int64_t x, int64_t y, uint8_t r, uint8_t g, uint8_t b) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    uint8_t* pixel = rgb_.data() + (y * width_ + x) * 3;
    pixel[0] = r;
    pixel[1] = g;
    pixel[2] = b;
  }

  // Text from (x, y), clipped at x + max_width.
  void Text(const std::string& text, int64_t x, int64_t y, int64_t max_width, bool red) {
    const int64_t advance = (kGlyphWidth + 1) * kFontScale;
    for (size_t k = 0; k < text.size(); ++k) {
      const int64_t left = x + int64_t(k) * advance;
      if (left + kGlyphWidth * kFontScale > x + max_width) return;
      const Glyph* glyph = FindGlyph(text[k]);
      if (glyph == nullptr) continue;
      for (int64_t gy = 0; gy < kGlyphHeight; ++gy) {
        for (int64_t gx = 0; gx < kGlyphWidth; ++gx) {
          if (!(glyph->rows[gy] >> (kGlyphWidth - 1 - gx) & 1)) continue;
          for (int64_t sy = 0; sy < kFontScale; ++sy) {
            for (int64_t sx = 0; sx < kFontScale; ++sx) {
              Set(left + gx * kFontScale + sx, y + gy * kFontScale + sy, red ? 220 : 0, 0, 0);
            }
          }
        }
      }
    }
  }

  const std::vector<uint8_t>& rgb() const { return rgb_; }

 private:
  int64_t width_, height_;
  std::vector<uint8_t> rgb_;
};

}  // namespace

absl::StatusOr<ImageShape> ImageShapeOf(const Shape& batch_shape) {
  if (batch_shape.size() == 4 && (batch_shape[1] == 1 || batch_shape[1] == 3)) {
    return ImageShape{batch_shape[1], batch_shape[2], batch_shape[3]};
  }
  if (batch_shape.size() == 3) return ImageShape{1, batch_shape[1], batch_shape[2]};
  if (batch_shape.size() == 2) {
    const auto side = static_cast<int64_t>(std::llround(std::sqrt(double(batch_shape[1]))));
    if (side > 0 && side * side == batch_shape[1]) return ImageShape{1, side, side};
  }
  return absl::FailedPreconditionError(
      absl::StrCat("inputs of shape ", ShapeToString(batch_shape), " cannot be drawn as pictures"));
}

GridGeometry GridGeometryFor(const ImageShape& shape, int64_t rows, int64_t columns) {
  GridGeometry g;
  const int64_t side = std::max<int64_t>(1, std::max(shape.height, shape.width));
  g.scale = std::max<int64_t>(1, (kMinImageSide + side - 1) / side);
  g.image_width = shape.width * g.scale;
  g.image_height = shape.height * g.scale;
  g.caption_height = kGlyphHeight * kFontScale + 2 * kCaptionPadding;
  g.margin = kMargin;
  g.width = g.margin + columns * (g.image_width + g.margin);
  g.height = g.margin + rows * (g.image_height + g.caption_height + g.margin);
  return g;
}

uint8_t GreyLevel(float value, float low, float high) {
  if (!std::isfinite(value)) return 0;
  const double unit = std::clamp((double(value) - low) / (double(high) - low), 0.0, 1.0);
  return static_cast<uint8_t>(std::lround(unit * 255.0));
}

absl::StatusOr<std::string> ImageGridPng(const ImageShape& shape, const std::vector<GridImage>& images,
                                         int64_t columns) {
  if (images.empty()) return absl::InvalidArgumentError("a picture grid needs at least one image");
  if (columns < 1) return absl::InvalidArgumentError(absl::StrCat("grid columns must be positive, got ", columns));
  const int64_t plane = shape.height * shape.width;
  for (size_t k = 0; k < images.size(); ++k) {
    if (int64_t(images[k].values.size()) != shape.channels * plane) {
      return absl::InvalidArgumentError(absl::StrCat("grid image ", k, " has ", images[k].values.size(),
                                                     " values, expected ", shape.channels * plane));
    }
    if (!(images[k].low < images[k].high)) {
      return absl::InvalidArgumentError(absl::StrCat("grid image ", k, ": low must be below high"));
    }
  }
  const int64_t rows = (int64_t(images.size()) + columns - 1) / columns;
  const GridGeometry g = GridGeometryFor(shape, rows, columns);
  Canvas canvas(g.width, g.height);
  for (size_t k = 0; k < images.size(); ++k) {
    const GridImage& image = images[k];
    const int64_t left = g.CellX(int64_t(k) % columns), top = g.CellY(int64_t(k) / columns);
    for (int64_t y = 0; y < shape.height; ++y) {
      for (int64_t x = 0; x < shape.width; ++x) {
        std::array<uint8_t, 3> rgb;
        for (int64_t c = 0; c < 3; ++c) {
          const int64_t channel = shape.channels == 3 ? c : 0;
          rgb[c] = GreyLevel(image.values[channel * plane + y * shape.width + x], image.low, image.high);
        }
        for (int64_t sy = 0; sy < g.scale; ++sy) {
          for (int64_t sx = 0; sx < g.scale; ++sx) {
            canvas.Set(left + x * g.scale + sx, top + y * g.scale + sy, rgb[0], rgb[1], rgb[2]);
          }
        }
      }
    }
    canvas.Text(image.caption, left, top + g.image_height + kCaptionPadding, g.image_width, image.highlight);
  }
  return EncodePng(g.width, g.height, PngColor::kRgb, canvas.rgb());
}

absl::StatusOr<std::string> AttackGridPng(const Tensor& originals, const Tensor& adversarials,
                                          const std::vector<int64_t>& labels,
                                          const std::vector<int64_t>& adversarial_predictions, int max_rows,
                                          float low, float high) {
  if (originals.shape() != adversarials.shape() || originals.rank() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("originals ", ShapeToString(originals.shape()),
                                                   " and adversarials ", ShapeToString(adversarials.shape()),
                                                   " must be batches of the same shape"));
  }
  const int64_t n = originals.dim(0);
  if (int64_t(labels.size()) != n || int64_t(adversarial_predictions.size()) != n) {
    return absl::InvalidArgumentError(absl::StrCat("a grid of ", n, " examples needs as many labels (got ",
                                                   labels.size(), ") and predictions (got ",
                                                   adversarial_predictions.size(), ")"));
  }
  if (max_rows < 1) return absl::InvalidArgumentError(absl::StrCat("max_rows must be positive, got ", max_rows));
  if (n == 0) return absl::InvalidArgumentError("a picture grid needs at least one example");
  ASSIGN_OR_RETURN(const ImageShape shape, ImageShapeOf(originals.shape()));

  std::vector<int64_t> rows;
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t i = 0; i < n && int64_t(rows.size()) < max_rows; ++i) {
      if ((adversarial_predictions[i] != labels[i]) == (pass == 0)) rows.push_back(i);
    }
  }
  const int64_t per_example = originals.num_elements() / n;
  float largest_change = 0;
  for (int64_t i : rows) {
    for (int64_t j = i * per_example; j < (i + 1) * per_example; ++j) {
      largest_change = std::max(largest_change, std::abs(adversarials.at(j) - originals.at(j)));
    }
  }
  const float shown_change = largest_change > 0 ? largest_change : 1.0f;

  std::vector<GridImage> images;
  for (int64_t i : rows) {
    const float* original = originals.data() + i * per_example;
    const float* adversarial = adversarials.data() + i * per_example;
    GridImage clean{{original, original + per_example}, low, high, absl::StrCat(labels[i]), false};
    GridImage change{std::vector<float>(per_example), -shown_change, shown_change,
                     absl::StrFormat("%.3f", largest_change), false};
    for (int64_t j = 0; j < per_example; ++j) change.values[j] = adversarial[j] - original[j];
    GridImage attacked{{adversarial, adversarial + per_example}, low, high,
                       absl::StrCat(adversarial_predictions[i]), adversarial_predictions[i] != labels[i]};
    images.push_back(std::move(clean));
    images.push_back(std::move(change));
    images.push_back(std::move(attacked));
  }
  return ImageGridPng(shape, images, 3);
}

}  // namespace crucible
