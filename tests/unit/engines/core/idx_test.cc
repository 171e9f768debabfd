#include "engines/core/idx.h"

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

template <size_t N>
std::string Literal(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// An IDX header: magic 0x00 0x00, type, rank, big-endian uint32 dims.
std::string Header(int type, const std::vector<uint32_t>& dims) {
  std::string out = Bytes({0, 0, type, static_cast<int>(dims.size())});
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xff));
  }
  return out;
}

// gzip with zlib's own deflate (windowBits 15 + 16 selects the gzip wrapper).
std::string Gzip(const std::string& raw) {
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&stream, raw.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  stream.avail_in = static_cast<uInt>(raw.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::vector<int64_t> Int64s(const NdArray& array) {
  std::vector<int64_t> out(array.bytes.size() / 8);
  std::memcpy(out.data(), array.bytes.data(), out.size() * 8);
  return out;
}
std::vector<float> Floats(const NdArray& array) {
  std::vector<float> out(array.bytes.size() / 4);
  std::memcpy(out.data(), array.bytes.data(), out.size() * 4);
  return out;
}
std::vector<double> Doubles(const NdArray& array) {
  std::vector<double> out(array.bytes.size() / 8);
  std::memcpy(out.data(), array.bytes.data(), out.size() * 8);
  return out;
}

TEST(ParseIdxTest, UnsignedByteVector) {
  absl::StatusOr<NdArray> array = ParseIdx(Header(0x08, {3}) + Bytes({7, 0, 255}));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kUint8);
  EXPECT_THAT(array->shape, ElementsAre(3));
  EXPECT_EQ(array->bytes, Bytes({7, 0, 255}));
}

TEST(ParseIdxTest, UnsignedByteImagesKeepCOrder) {
  absl::StatusOr<NdArray> array =
      ParseIdx(Header(0x08, {2, 2, 3}) + Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_THAT(array->shape, ElementsAre(2, 2, 3));
  EXPECT_EQ(array->bytes, Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
}

TEST(ParseIdxTest, SignedByteBecomesInt64) {
  absl::StatusOr<NdArray> array = ParseIdx(Header(0x09, {4}) + Bytes({0x80, 0x7f, 0xff, 0x00}));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kInt64);
  EXPECT_THAT(Int64s(*array), ElementsAre(-128, 127, -1, 0));
}

TEST(ParseIdxTest, BigEndianShortBecomesInt64) {
  absl::StatusOr<NdArray> array =
      ParseIdx(Header(0x0B, {3}) + Bytes({0x80, 0x00, 0x01, 0x02, 0xff, 0xfe}));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kInt64);
  EXPECT_THAT(Int64s(*array), ElementsAre(-32768, 258, -2));
}

TEST(ParseIdxTest, BigEndianIntBecomesInt64) {
  absl::StatusOr<NdArray> array = ParseIdx(
      Header(0x0C, {1, 3}) +
      Bytes({0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00}));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kInt64);
  EXPECT_THAT(array->shape, ElementsAre(1, 3));
  EXPECT_THAT(Int64s(*array), ElementsAre(16909060, -2, -2147483648LL));
}

TEST(ParseIdxTest, BigEndianFloat) {
  // 1.5f = 0x3FC00000, -0.25f = 0xBE800000.
  absl::StatusOr<NdArray> array =
      ParseIdx(Header(0x0D, {2}) + Bytes({0x3f, 0xc0, 0, 0, 0xbe, 0x80, 0, 0}));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kFloat32);
  EXPECT_THAT(Floats(*array), ElementsAre(1.5f, -0.25f));
}

TEST(ParseIdxTest, BigEndianDouble) {
  // -2.5 = 0xC004000000000000.
  absl::StatusOr<NdArray> array =
      ParseIdx(Header(0x0E, {1}) + Bytes({0xc0, 0x04, 0, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kFloat64);
  EXPECT_THAT(Doubles(*array), ElementsAre(-2.5));
}

TEST(ParseIdxTest, EmptyDimension) {
  absl::StatusOr<NdArray> array = ParseIdx(Header(0x0D, {0, 28, 28}));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_THAT(array->shape, ElementsAre(0, 28, 28));
  EXPECT_TRUE(array->bytes.empty());
}

TEST(ParseIdxTest, BadMagic) {
  const absl::Status status = ParseIdx(Bytes({0x01, 0x00, 0x08, 0x01, 0, 0, 0, 1, 5})).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("magic"));
  // An NPY file is not an IDX file.
  EXPECT_EQ(ParseIdx(std::string("\x93NUMPY\x01\x00v\x00{", 11)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseIdxTest, UnsupportedType) {
  const absl::Status status = ParseIdx(Header(0x0A, {1}) + Bytes({0})).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("0x0A"));
}

TEST(ParseIdxTest, TruncatedHeader) {
  EXPECT_EQ(ParseIdx("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIdx(Bytes({0, 0, 8})).status().code(), absl::StatusCode::kInvalidArgument);
  const absl::Status status = ParseIdx(Bytes({0, 0, 8, 3, 0, 0, 0, 2, 0, 0})).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("IDX header truncated"));
}

TEST(ParseIdxTest, TruncatedData) {
  const absl::Status status =
      ParseIdx(Header(0x08, {10000, 28, 28}) + std::string(100, '\0')).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "IDX data truncated: expected 7840000 bytes, found 100");
}

TEST(ParseIdxTest, TrailingDataIsRejected) {
  const absl::Status status = ParseIdx(Header(0x08, {2}) + Bytes({1, 2, 3})).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("trailing"));
}

TEST(ParseIdxTest, RankAbove32IsRejected) {
  const absl::Status status =
      ParseIdx(Header(0x08, std::vector<uint32_t>(33, 1)) + Bytes({1})).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("33"));
}

TEST(ParseIdxTest, ShapeOverflowIsRejected) {
  const absl::Status status =
      ParseIdx(Header(0x0E, {0xffffffffu, 0xffffffffu, 0xffffffffu})).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("too large"));
  // A zero dimension does not hide the overflow of the others.
  EXPECT_EQ(ParseIdx(Header(0x08, {0, 0xffffffffu, 0xffffffffu, 0xffffffffu})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseIdxTest, EveryProperPrefixIsAnError) {
  const std::string file = Header(0x0C, {2, 2}) + std::string(16, '\x01');
  for (size_t n = 0; n < file.size(); ++n) {
    EXPECT_EQ(ParseIdx(file.substr(0, n)).status().code(), absl::StatusCode::kInvalidArgument)
        << n;
  }
}

// Made by Python: gzip.compress(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 3, 1, 4, 1, 5, 9]),
// mtime=0).
const std::string kPythonGzip = Literal(
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"
    "c`\xe0`b``\x00"
    "affF\x16"
    "FVN\x00P\xa8\xf5\xe4\x12\x00\x00\x00");

TEST(ParseIdxGzipTest, PythonGzip) {
  ASSERT_EQ(kPythonGzip.size(), 35u);
  absl::StatusOr<NdArray> array = ParseIdx(kPythonGzip);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kUint8);
  EXPECT_THAT(array->shape, ElementsAre(2, 3));
  EXPECT_EQ(array->bytes, Bytes({3, 1, 4, 1, 5, 9}));
}

TEST(ParseIdxGzipTest, ZlibGzipMatchesRaw) {
  std::mt19937 rng(42);
  std::string data(3 * 28 * 28 * 4, '\0');
  for (char& c : data) c = static_cast<char>(rng() % 7);
  const std::string raw = Header(0x0C, {3, 28, 28}) + data;
  absl::StatusOr<NdArray> plain = ParseIdx(raw);
  absl::StatusOr<NdArray> gzipped = ParseIdx(Gzip(raw));
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(gzipped.ok()) << gzipped.status();
  EXPECT_EQ(gzipped->dtype, DType::kInt64);
  EXPECT_EQ(gzipped->shape, plain->shape);
  EXPECT_EQ(gzipped->bytes, plain->bytes);
}

TEST(ParseIdxGzipTest, ConcatenatedMembers) {
  const std::string raw = Header(0x08, {6}) + Bytes({10, 20, 30, 40, 50, 60});
  absl::StatusOr<NdArray> array = ParseIdx(Gzip(raw.substr(0, 7)) + Gzip(raw.substr(7)));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->bytes, Bytes({10, 20, 30, 40, 50, 60}));
}

TEST(ParseIdxGzipTest, TruncatedGzipIsRejected) {
  const std::string gz = Gzip(Header(0x08, {1000}) + std::string(1000, '\x05'));
  for (size_t n = 2; n < gz.size(); ++n) {
    EXPECT_EQ(ParseIdx(gz.substr(0, n)).status().code(), absl::StatusCode::kInvalidArgument)
        << n;
  }
}

TEST(ParseIdxGzipTest, CorruptGzipIsRejected) {
  std::string gz = kPythonGzip;
  gz[gz.size() - 6] ^= 0x55;  // CRC32 in the trailer.
  EXPECT_EQ(ParseIdx(gz).status().code(), absl::StatusCode::kInvalidArgument);
  std::string bad_deflate = kPythonGzip;
  bad_deflate[10] = '\xff';  // Invalid deflate block type.
  const absl::Status status = ParseIdx(bad_deflate).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("gzip"));
}

TEST(ParseIdxGzipTest, GarbageAfterGzipIsRejected) {
  const absl::Status status = ParseIdx(kPythonGzip + "junk").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("garbage"));
}

TEST(ParseIdxGzipTest, ClaimOverTheDecompressionLimitIsResourceExhausted) {
  // 65535^3 bytes claimed; rejected from the header, nothing large allocated.
  const absl::Status status =
      ParseIdx(Gzip(Header(0x08, {65535, 65535, 65535}) + std::string(10, '\0'))).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("limit"));
}

TEST(ParseIdxGzipTest, BombWithSmallClaimStopsEarly) {
  // Header claims 10 bytes; the stream inflates to 16 MiB of zeros.
  const std::string gz = Gzip(Header(0x08, {10}) + std::string(16 << 20, '\0'));
  EXPECT_LT(gz.size(), 64u << 10);
  const absl::Status status = ParseIdx(gz).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("trailing"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("longer than the 18 bytes"));
}

TEST(ParseIdxGzipTest, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(99);
  const std::string raw = Header(0x0B, {4, 5}) + std::string(40, '\x11');
  const std::vector<std::string> files = {raw, Gzip(raw), kPythonGzip};
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string bytes = files[rng() % files.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
    absl::StatusOr<NdArray> array = ParseIdx(bytes);
    if (array.ok()) {
      int64_t n = 1;
      for (int64_t d : array->shape) n *= d;
      EXPECT_EQ(static_cast<int64_t>(array->bytes.size()), n * DTypeSize(array->dtype));
    }
  }
}

class IdxFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("idx_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(IdxFileTest, ReadsGzipFile) {
  const std::string path = (dir_ / "labels-idx1-ubyte.gz").string();
  std::ofstream(path, std::ios::binary) << kPythonGzip;
  absl::StatusOr<NdArray> array = ReadIdxFile(path);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->bytes, Bytes({3, 1, 4, 1, 5, 9}));
}

TEST_F(IdxFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = (dir_ / "nope-idx3-ubyte").string();
  const absl::Status status = ReadIdxFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
}

TEST_F(IdxFileTest, ParseErrorsNameThePath) {
  const std::string path = (dir_ / "short-idx1-ubyte").string();
  std::ofstream(path, std::ios::binary) << Header(0x08, {5}) << "ab";
  const absl::Status status = ReadIdxFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
  EXPECT_THAT(std::string(status.message()), HasSubstr("expected 5 bytes, found 2"));
}

// Debian's dataset-fashion-mnist package; expectations computed with Python's
// gzip module from the same files.
constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

TEST(FashionMnistTest, TestLabels) {
  const std::string path = std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  absl::StatusOr<NdArray> array = ReadIdxFile(path);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kUint8);
  EXPECT_THAT(array->shape, ElementsAre(10000));
  absl::StatusOr<std::vector<int64_t>> labels = ToLabels(*array);
  ASSERT_TRUE(labels.ok()) << labels.status();
  ASSERT_EQ(labels->size(), 10000u);
  EXPECT_EQ(std::vector<int64_t>(labels->begin(), labels->begin() + 20),
            std::vector<int64_t>({9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0}));
  std::map<int64_t, int> counts;
  for (int64_t label : *labels) ++counts[label];
  ASSERT_EQ(counts.size(), 10u);
  for (const auto& [label, count] : counts) EXPECT_EQ(count, 1000) << label;
}

TEST(FashionMnistTest, TestImages) {
  const std::string path = std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  absl::StatusOr<NdArray> array = ReadIdxFile(path);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kUint8);
  EXPECT_THAT(array->shape, ElementsAre(10000, 28, 28));
  ASSERT_EQ(array->bytes.size(), 7840000u);
  int64_t first_image_sum = 0;
  for (int i = 0; i < 784; ++i) first_image_sum += static_cast<unsigned char>(array->bytes[i]);
  EXPECT_EQ(first_image_sum, 33456);
  std::vector<int> row14;
  for (int i = 14 * 28; i < 15 * 28; ++i) row14.push_back(static_cast<unsigned char>(array->bytes[i]));
  EXPECT_EQ(row14, std::vector<int>({0,   0,   0,   0,   0,   0,   2,   4,   1,   0,
                                     0,   0,   98,  136, 110, 109, 110, 162, 135, 144,
                                     149, 159, 167, 144, 158, 169, 119, 0}));
}

}  // namespace
}  // namespace crucible
