// Test helper: an independent PNG decoder written from the PNG specification
// (chunk framing, CRC-32 of every chunk via zlib's crc32, IHDR fields,
// inflate of the IDAT data via zlib's uncompress, the five scanline filters),
// for 8-bit greyscale and RGB images. Decoding errors fail the calling test.
#ifndef CRUCIBLE_TESTS_UNIT_ENGINES_CORE_TEST_PNG_H_
#define CRUCIBLE_TESTS_UNIT_ENGINES_CORE_TEST_PNG_H_

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace crucible::testing {

struct DecodedPng {
  uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  std::vector<std::string> chunk_types;
  std::vector<uint8_t> pixels;
};

inline uint32_t BigEndian32(const std::string& bytes, size_t at) {
  return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
         (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
}

inline int Paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// Decodes an 8-bit greyscale or RGB PNG, failing the test on any framing,
// CRC or filter error.
inline DecodedPng DecodePng(const std::string& png) {
  DecodedPng out;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string idat;
  size_t at = 8;
  while (at + 12 <= png.size()) {
    const uint32_t length = BigEndian32(png, at);
    EXPECT_LE(at + 12 + length, png.size()) << "chunk runs past the end";
    if (at + 12 + length > png.size()) return out;
    const std::string type = png.substr(at + 4, 4);
    const std::string data = png.substr(at + 8, length);
    const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(png.data() + at + 4), length + 4);
    EXPECT_EQ(BigEndian32(png, at + 8 + length), crc) << "CRC of chunk " << type;
    out.chunk_types.push_back(type);
    if (type == "IHDR") {
      EXPECT_EQ(length, 13u);
      out.width = BigEndian32(data, 0);
      out.height = BigEndian32(data, 4);
      out.bit_depth = uint8_t(data[8]);
      out.color_type = uint8_t(data[9]);
      EXPECT_EQ(data[10], 0);
      EXPECT_EQ(data[11], 0);
      out.interlace = uint8_t(data[12]);
    } else if (type == "IDAT") {
      idat += data;
    }
    at += 12 + length;
  }
  EXPECT_EQ(at, png.size()) << "trailing bytes after the last chunk";
  const int channels = out.color_type == 2 ? 3 : 1;
  const size_t row_bytes = size_t(out.width) * channels;
  uLongf raw_size = (row_bytes + 1) * out.height;
  std::vector<uint8_t> raw(raw_size);
  EXPECT_EQ(uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()), Z_OK);
  EXPECT_EQ(raw_size, (row_bytes + 1) * out.height);
  out.pixels.assign(row_bytes * out.height, 0);
  for (size_t y = 0; y < out.height; ++y) {
    const int filter = raw[y * (row_bytes + 1)];
    const uint8_t* in = raw.data() + y * (row_bytes + 1) + 1;
    uint8_t* row = out.pixels.data() + y * row_bytes;
    const uint8_t* up = y > 0 ? row - row_bytes : nullptr;
    for (size_t i = 0; i < row_bytes; ++i) {
      const int a = i >= size_t(channels) ? row[i - channels] : 0;
      const int b = up ? up[i] : 0;
      const int c = up && i >= size_t(channels) ? up[i - channels] : 0;
      int predictor = 0;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) / 2; break;
        case 4: predictor = Paeth(a, b, c); break;
        default: ADD_FAILURE() << "filter type " << filter;
      }
      row[i] = uint8_t(in[i] + predictor);
    }
  }
  return out;
}

// RGB (or grey) value at (x, y) of a decoded image.
inline std::vector<uint8_t> PixelAt(const DecodedPng& png, int64_t x, int64_t y) {
  const int channels = png.color_type == 2 ? 3 : 1;
  const uint8_t* p = png.pixels.data() + (y * png.width + x) * channels;
  return std::vector<uint8_t>(p, p + channels);
}

}  // namespace crucible::testing

#endif  // CRUCIBLE_TESTS_UNIT_ENGINES_CORE_TEST_PNG_H_
