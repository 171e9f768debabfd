// Picture grids for the attack and fooling artifacts: images (NCHW with 1 or
// 3 channels, [N, H, W], or flat vectors of a square size) drawn as an RGB
// PNG, each cell with a caption in a small built-in bitmap font.
//
// AttackGridPng draws one row per example, original | perturbation |
// adversarial: the original captioned with its label, the perturbation
// (adversarial - original, mid-grey = 0, scaled so the largest |change| of
// the drawn rows is black or white) captioned with that largest change, the
// adversarial captioned with the model's prediction (red when it differs from
// the label). Rows whose prediction changed come first, then the others, in
// example order, at most max_rows.
//
//   ASSIGN_OR_RETURN(std::string png, AttackGridPng(clean, adversarial, labels, predictions, 16));
//   RETURN_IF_ERROR(context.WriteArtifact("adversarial_examples.png", "image/png", png));
//
// ImageGridPng is the general form: any images, `columns` per row, captions
// of digits, '.', '/', '-', '%' and spaces (other characters are drawn blank).
#ifndef CRUCIBLE_ENGINES_ATTACK_EXAMPLE_GRID_H_
#define CRUCIBLE_ENGINES_ATTACK_EXAMPLE_GRID_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/core/tensor.h"

namespace crucible {

// How one example of a batch is drawn.
struct ImageShape {
  int64_t channels = 1;  // 1 (grey) or 3 (RGB).
  int64_t height = 0;
  int64_t width = 0;
};

// The picture shape of the examples of a batch of shape [N, ...]:
// [N, C, H, W] with C 1 or 3, [N, H, W], or [N, F] with F a perfect square.
// FAILED_PRECONDITION for anything else (such inputs are not pictures).
absl::StatusOr<ImageShape> ImageShapeOf(const Shape& batch_shape);

struct GridImage {
  std::vector<float> values;  // channels x height x width, as in the model input.
  float low = 0.0f;           // Drawn black.
  float high = 1.0f;          // Drawn white; values outside [low, high] are clamped.
  std::string caption;
  bool highlight = false;     // Caption in red instead of black.
};

// Where things are in a grid: cell (row, column)'s image has its top-left
// pixel at (CellX(column), CellY(row)) and each image pixel is drawn as a
// scale x scale block; the caption band lies below the image.
struct GridGeometry {
  int64_t scale = 1;
  int64_t image_width = 0, image_height = 0;  // In grid pixels (scaled).
  int64_t caption_height = 0;
  int64_t margin = 0;
  int64_t width = 0, height = 0;              // Of the whole PNG.

  int64_t CellX(int64_t column) const { return margin + column * (image_width + margin); }
  int64_t CellY(int64_t row) const { return margin + row * (image_height + caption_height + margin); }
};

GridGeometry GridGeometryFor(const ImageShape& shape, int64_t rows, int64_t columns);

// The grey level (0..255) a value is drawn with.
uint8_t GreyLevel(float value, float low, float high);

// INVALID_ARGUMENT when there are no images, columns < 1, or an image has the
// wrong number of values or low >= high.
absl::StatusOr<std::string> ImageGridPng(const ImageShape& shape, const std::vector<GridImage>& images,
                                         int64_t columns);

// Originals and adversarials of the same shape [N, ...] in pixel units within
// [low, high]; labels and adversarial_predictions of size N. INVALID_ARGUMENT
// on mismatched sizes or max_rows < 1; FAILED_PRECONDITION when the inputs
// are not pictures (see ImageShapeOf).
absl::StatusOr<std::string> AttackGridPng(const Tensor& originals, const Tensor& adversarials,
                                          const std::vector<int64_t>& labels,
                                          const std::vector<int64_t>& adversarial_predictions, int max_rows,
                                          float low = 0.0f, float high = 1.0f);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_EXAMPLE_GRID_H_
