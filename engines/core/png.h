// PNG encoding of 8-bit grayscale and RGB images, for the picture artifacts
// engines write (adversarial example grids, fooling images).
//
// Produces a minimal valid PNG: signature, IHDR (bit depth 8, no interlace),
// one zlib-compressed IDAT with filter type 0 on every row, IEND; every chunk
// carries its CRC-32. Pixels are row-major, interleaved for RGB.
//
//   std::vector<uint8_t> pixels(width * height * 3);
//   ASSIGN_OR_RETURN(std::string png, EncodePng(width, height, PngColor::kRgb, pixels));
//   RETURN_IF_ERROR(context.WriteArtifact("grid.png", "image/png", png));
#ifndef CRUCIBLE_ENGINES_CORE_PNG_H_
#define CRUCIBLE_ENGINES_CORE_PNG_H_

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"

namespace crucible {

enum class PngColor {
  kGray,  // One byte per pixel.
  kRgb,   // Three bytes per pixel: red, green, blue.
};

// The PNG file bytes. INVALID_ARGUMENT when width or height is not positive
// (or above 2^24), or pixels does not hold exactly width * height * channels
// bytes.
absl::StatusOr<std::string> EncodePng(int64_t width, int64_t height, PngColor color,
                                      std::span<const uint8_t> pixels);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_PNG_H_
