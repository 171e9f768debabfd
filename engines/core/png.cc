#include "engines/core/png.h"

#include <zlib.h>

#include "absl/strings/str_cat.h"

namespace crucible {
namespace {

constexpr int64_t kMaxSide = int64_t{1} << 24;

void AppendBigEndian32(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>(value >> 24));
  out.push_back(static_cast<char>(value >> 16));
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

// Length, type, data and the CRC-32 of type + data.
void AppendChunk(std::string& out, const char type[4], const std::string& data) {
  AppendBigEndian32(out, static_cast<uint32_t>(data.size()));
  const size_t type_start = out.size();
  out.append(type, 4);
  out.append(data);
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(out.data() + type_start), out.size() - type_start);
  AppendBigEndian32(out, static_cast<uint32_t>(crc));
}

}  // namespace

absl::StatusOr<std::string> EncodePng(int64_t width, int64_t height, PngColor color,
                                      std::span<const uint8_t> pixels) {
  if (width <= 0 || height <= 0 || width > kMaxSide || height > kMaxSide) {
    return absl::InvalidArgumentError(
        absl::StrCat("PNG width and height must be between 1 and 2^24, got ", width, " x ", height));
  }
  const int64_t channels = color == PngColor::kRgb ? 3 : 1;
  const int64_t row_bytes = width * channels;
  if (static_cast<int64_t>(pixels.size()) != row_bytes * height) {
    return absl::InvalidArgumentError(absl::StrCat("PNG pixels: expected ", row_bytes * height, " bytes for ", width,
                                                   " x ", height, " x ", channels, ", got ", pixels.size()));
  }

  // Every scanline starts with its filter type (0: none).
  std::string scanlines;
  scanlines.reserve((row_bytes + 1) * height);
  for (int64_t y = 0; y < height; ++y) {
    scanlines.push_back('\0');
    scanlines.append(reinterpret_cast<const char*>(pixels.data() + y * row_bytes), row_bytes);
  }
  uLongf compressed_size = compressBound(scanlines.size());
  std::string compressed(compressed_size, '\0');
  const int zstatus = compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                                reinterpret_cast<const Bytef*>(scanlines.data()), scanlines.size(), Z_BEST_COMPRESSION);
  if (zstatus != Z_OK) return absl::InternalError(absl::StrCat("zlib compress2 failed with code ", zstatus));
  compressed.resize(compressed_size);

  std::string header;
  AppendBigEndian32(header, static_cast<uint32_t>(width));
  AppendBigEndian32(header, static_cast<uint32_t>(height));
  header.push_back(8);                                   // Bit depth.
  header.push_back(color == PngColor::kRgb ? 2 : 0);     // Colour type: truecolour or greyscale.
  header.push_back(0);                                   // Compression: deflate.
  header.push_back(0);                                   // Filter method: adaptive (type per row).
  header.push_back(0);                                   // No interlace.

  std::string png("\x89PNG\r\n\x1a\n", 8);
  AppendChunk(png, "IHDR", header);
  AppendChunk(png, "IDAT", compressed);
  AppendChunk(png, "IEND", "");
  return png;
}

}  // namespace crucible
