#include "engines/core/npy.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A string literal's bytes, embedded NULs included.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// The files below are the exact bytes numpy 1.24.2 writes with np.save (or
// np.lib.format.write_array with an explicit version) for the arrays named.

// np.arange(6, dtype='<f4').reshape(2, 3)
const std::string kF4_2x3 = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }       "
    "                                                   \x0a\x00\x00\x00\x00\x00\x00\x80\x3f"
    "\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@");
// np.array([0, 1, 254, 255], dtype='u1')
const std::string kU1_4 = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }         "
    "                                                   \x0a\x00\x01\xfe\xff");
// np.array([-1, 0, 7], dtype='<i8')
const std::string kI8_3 = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }         "
    "                                                   \x0a\xff\xff\xff\xff\xff\xff\xff\xff"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00");
// np.array(2.5, dtype='<f8')
const std::string kF8Scalar = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (), }           "
    "                                                   \x0a\x00\x00\x00\x00\x00\x00\x04@");
// np.zeros((0, 3), dtype='<f4')
const std::string kF4_0x3 = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }       "
    "                                                   \x0a");
// np.array([1.5, -2.0], dtype='>f4')
const std::string kF4Big = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }         "
    "                                                   \x0a\x3f\xc0\x00\x00\xc0\x00\x00\x00");
// np.array([1, -2], dtype='>i8')
const std::string kI8Big = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }         "
    "                                                   \x0a\x00\x00\x00\x00\x00\x00\x00\x01"
    "\xff\xff\xff\xff\xff\xff\xff\xfe");
// np.array([-3, 5], dtype='<i4')
const std::string kI4 = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }         "
    "                                                   \x0a\xfd\xff\xff\xff\x05\x00\x00\x00");
// np.array([1, 65535], dtype='>u2')
const std::string kU2Big = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }         "
    "                                                   \x0a\x00\x01\xff\xff");
// np.array([1+2j], dtype='<c8')
const std::string kC8 = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }         "
    "                                                   \x0a\x00\x00\x80\x3f\x00\x00\x00@");
// np.array(['abc'])
const std::string kU3 = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }         "
    "                                                   \x0a"
    "a\x00\x00\x00"
    "b\x00\x00\x00"
    "c\x00\x00\x00");
// np.array([(1.0,)], dtype=[('a', '<f4')])
const std::string kStructured = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"
    "                                                   \x0a\x00\x00\x80\x3f");
// np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3))
const std::string kF4Fortran = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }        "
    "                                                   \x0a\x00\x00\x00\x00\x00\x00@@\x00"
    "\x00\x80\x3f\x00\x00\x80@\x00\x00\x00@\x00\x00\xa0@");
// np.zeros((1,) * 10, dtype='u1')
const std::string kU1Rank10 = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, "
    "1, 1, 1, 1, 1), }                                  \x0a\x00");
// np.zeros((0,) + (1,) * 9 + (100000000000,), dtype='<f4'): the header before
// padding is already 64-aligned, so numpy pads a full 64 bytes (data at 192).
const std::string kF4AlignedHeader = Bytes(
    "\x93NUMPY\x01\x00\xb6\x00{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1, 1, 1, "
    "1, 1, 1, 1, 1, 1, 100000000000), }                                                      "
    "                              \x0a");
// write_array(np.array([1.0, 2.0], dtype='<f4'), version=(2, 0)) and (3, 0).
const std::string kF4Version2 = Bytes(
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } "
    "                                                         \x0a\x00\x00\x80\x3f\x00\x00"
    "\x00@");
const std::string kF4Version3 = Bytes(
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } "
    "                                                         \x0a\x00\x00\x80\x3f\x00\x00"
    "\x00@");
// Header (first 128 bytes) of np.zeros((1000, 28, 28), dtype='u1').
const std::string kU1ImagesHeader = Bytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (1000, 28, 28), "
    "}                                                  \x0a");

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
std::vector<int64_t> Int64s(const NdArray& array) {
  std::vector<int64_t> out(array.bytes.size() / 8);
  std::memcpy(out.data(), array.bytes.data(), out.size() * 8);
  return out;
}

// A version 1.0 file around `dict` (padded like numpy) followed by `data`.
std::string NpyWithHeader(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + data;
}

absl::StatusCode ParseCode(const std::string& bytes) { return ParseNpy(bytes).status().code(); }

TEST(NumpyBytesTest, LiteralsHaveNumpysFileSizes) {
  EXPECT_EQ(kF4_2x3.size(), 152u);
  EXPECT_EQ(kU1_4.size(), 132u);
  EXPECT_EQ(kI8_3.size(), 152u);
  EXPECT_EQ(kF8Scalar.size(), 136u);
  EXPECT_EQ(kF4_0x3.size(), 128u);
  EXPECT_EQ(kF4Big.size(), 136u);
  EXPECT_EQ(kI8Big.size(), 144u);
  EXPECT_EQ(kI4.size(), 136u);
  EXPECT_EQ(kU2Big.size(), 132u);
  EXPECT_EQ(kC8.size(), 136u);
  EXPECT_EQ(kU3.size(), 140u);
  EXPECT_EQ(kStructured.size(), 132u);
  EXPECT_EQ(kF4Fortran.size(), 152u);
  EXPECT_EQ(kU1Rank10.size(), 129u);
  EXPECT_EQ(kF4AlignedHeader.size(), 192u);
  EXPECT_EQ(kF4Version2.size(), 136u);
  EXPECT_EQ(kF4Version3.size(), 136u);
  EXPECT_EQ(kU1ImagesHeader.size(), 128u);
}

TEST(ParseNpyTest, Float32Matrix) {
  absl::StatusOr<NdArray> array = ParseNpy(kF4_2x3);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kFloat32);
  EXPECT_THAT(array->shape, ElementsAre(2, 3));
  EXPECT_THAT(Floats(*array), ElementsAre(0, 1, 2, 3, 4, 5));
}

TEST(ParseNpyTest, Uint8Vector) {
  absl::StatusOr<NdArray> array = ParseNpy(kU1_4);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kUint8);
  EXPECT_THAT(array->shape, ElementsAre(4));
  EXPECT_EQ(array->bytes, std::string("\x00\x01\xfe\xff", 4));
}

TEST(ParseNpyTest, Int64Vector) {
  absl::StatusOr<NdArray> array = ParseNpy(kI8_3);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kInt64);
  EXPECT_THAT(array->shape, ElementsAre(3));
  EXPECT_THAT(Int64s(*array), ElementsAre(-1, 0, 7));
}

TEST(ParseNpyTest, Float64Scalar) {
  absl::StatusOr<NdArray> array = ParseNpy(kF8Scalar);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kFloat64);
  EXPECT_TRUE(array->shape.empty());
  EXPECT_THAT(Doubles(*array), ElementsAre(2.5));
}

TEST(ParseNpyTest, EmptyArray) {
  absl::StatusOr<NdArray> array = ParseNpy(kF4_0x3);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_THAT(array->shape, ElementsAre(0, 3));
  EXPECT_TRUE(array->bytes.empty());
}

TEST(ParseNpyTest, Rank10) {
  absl::StatusOr<NdArray> array = ParseNpy(kU1Rank10);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->shape, Shape(10, 1));
  EXPECT_EQ(array->bytes, std::string(1, '\0'));
}

TEST(ParseNpyTest, BigEndianIsByteswapped) {
  absl::StatusOr<NdArray> f4 = ParseNpy(kF4Big);
  ASSERT_TRUE(f4.ok()) << f4.status();
  EXPECT_EQ(f4->dtype, DType::kFloat32);
  EXPECT_THAT(Floats(*f4), ElementsAre(1.5f, -2.0f));
  absl::StatusOr<NdArray> i8 = ParseNpy(kI8Big);
  ASSERT_TRUE(i8.ok()) << i8.status();
  EXPECT_EQ(i8->dtype, DType::kInt64);
  EXPECT_THAT(Int64s(*i8), ElementsAre(1, -2));
}

TEST(ParseNpyTest, NarrowIntegersAreWidenedToInt64) {
  absl::StatusOr<NdArray> i4 = ParseNpy(kI4);
  ASSERT_TRUE(i4.ok()) << i4.status();
  EXPECT_EQ(i4->dtype, DType::kInt64);
  EXPECT_THAT(Int64s(*i4), ElementsAre(-3, 5));
  absl::StatusOr<NdArray> u2 = ParseNpy(kU2Big);
  ASSERT_TRUE(u2.ok()) << u2.status();
  EXPECT_EQ(u2->dtype, DType::kInt64);
  EXPECT_THAT(Int64s(*u2), ElementsAre(1, 65535));
}

TEST(ParseNpyTest, LittleEndianMarkOnUint8IsAccepted) {
  std::string bytes = kU1_4;
  bytes.replace(bytes.find("|u1"), 3, "<u1");
  absl::StatusOr<NdArray> array = ParseNpy(bytes);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kUint8);
  EXPECT_EQ(array->bytes, std::string("\x00\x01\xfe\xff", 4));
}

TEST(ParseNpyTest, Versions2And3) {
  for (const std::string* bytes : {&kF4Version2, &kF4Version3}) {
    absl::StatusOr<NdArray> array = ParseNpy(*bytes);
    ASSERT_TRUE(array.ok()) << array.status();
    EXPECT_THAT(array->shape, ElementsAre(2));
    EXPECT_THAT(Floats(*array), ElementsAre(1.0f, 2.0f));
  }
}

TEST(ParseNpyTest, ToleratesOtherKeyOrderQuotesAndPython2Longs) {
  absl::StatusOr<NdArray> array = ParseNpy(NpyWithHeader(
      "{\"shape\": (2L, 1L), 'fortran_order':False,'descr':\"<f8\"}", std::string(16, '\0')));
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kFloat64);
  EXPECT_THAT(array->shape, ElementsAre(2, 1));
}

TEST(ParseNpyTest, TrailingBytesAfterDataAreIgnoredLikeNumpy) {
  absl::StatusOr<NdArray> array = ParseNpy(kU1_4 + "extra");
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->bytes, std::string("\x00\x01\xfe\xff", 4));
}

TEST(ParseNpyTest, BadMagic) {
  std::string bytes = kF4_2x3;
  bytes[1] = 'M';
  const absl::Status status = ParseNpy(bytes).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("magic"));
  EXPECT_EQ(ParseCode(""), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCode("PK\x03\x04 not npy"), absl::StatusCode::kInvalidArgument);
}

TEST(ParseNpyTest, UnsupportedVersion) {
  std::string bytes = kF4_2x3;
  bytes[6] = 4;
  const absl::Status status = ParseNpy(bytes).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("version 4.0"));
}

TEST(ParseNpyTest, TruncatedHeader) {
  const absl::Status status = ParseNpy(kF4_2x3.substr(0, 60)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("NPY header truncated"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("118"));  // The header length numpy wrote.
}

TEST(ParseNpyTest, HeaderLengthBeyondBufferInVersion2) {
  std::string bytes = kF4Version2;
  bytes[8] = '\xff';
  bytes[9] = '\xff';
  bytes[10] = '\xff';
  bytes[11] = '\xff';
  const absl::Status status = ParseNpy(bytes).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("4294967295"));
}

TEST(ParseNpyTest, TruncatedData) {
  const absl::Status status = ParseNpy(kF4_2x3.substr(0, 138)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "NPY data truncated: expected 24 bytes, found 10");
}

TEST(ParseNpyTest, EveryProperPrefixIsAnError) {
  for (const std::string* file : {&kF4_2x3, &kI8_3, &kF8Scalar, &kF4Version3}) {
    for (size_t n = 0; n < file->size(); ++n) {
      EXPECT_EQ(ParseCode(file->substr(0, n)), absl::StatusCode::kInvalidArgument) << n;
    }
  }
}

TEST(ParseNpyTest, FortranOrderIsRejected) {
  const absl::Status status = ParseNpy(kF4Fortran).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("Fortran order not supported"));
}

TEST(ParseNpyTest, UnsupportedDtypesNameTheDescr) {
  const absl::Status complex = ParseNpy(kC8).status();
  EXPECT_EQ(complex.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(complex.message(), "NPY header: unsupported descr '<c8'");
  const absl::Status unicode = ParseNpy(kU3).status();
  EXPECT_EQ(unicode.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unicode.message()), HasSubstr("'<U3'"));
  const absl::Status structured = ParseNpy(kStructured).status();
  EXPECT_EQ(structured.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(structured.message()), HasSubstr("descr"));
  for (const char* descr : {"|O", "<f2", "<u8", "|b1", "<M8[ns]", "=f4", "|f4", "<f16", "f4"}) {
    const absl::Status status =
        ParseNpy(NpyWithHeader(absl::StrCat("{'descr': '", descr,
                                            "', 'fortran_order': False, 'shape': (1,), }"),
                               std::string(16, '\0')))
            .status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << descr;
    EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("'", descr, "'"))) << descr;
  }
}

TEST(ParseNpyTest, HugeShapeOverflowIsRejected) {
  const absl::Status status =
      ParseNpy(NpyWithHeader("{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (4294967296, 4294967296), }",
                             ""))
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("too large"));
  // Fits in int64 as an element count but not as a byte count.
  EXPECT_EQ(ParseCode(NpyWithHeader(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }", "")),
            absl::StatusCode::kInvalidArgument);
  // A zero dimension does not hide an overflowing product of the others.
  EXPECT_EQ(ParseCode(NpyWithHeader("{'descr': '|u1', 'fortran_order': False, "
                                    "'shape': (0, 9223372036854775807, 4), }",
                                    "")),
            absl::StatusCode::kInvalidArgument);
  // More digits than int64 holds.
  EXPECT_EQ(ParseCode(NpyWithHeader("{'descr': '|u1', 'fortran_order': False, "
                                    "'shape': (99999999999999999999999,), }",
                                    "")),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseNpyTest, LargeButValidClaimIsTruncationNotAllocation) {
  const absl::Status status =
      ParseNpy(NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }",
                             std::string(100, '\0')))
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "NPY data truncated: expected 188160000 bytes, found 100");
}

TEST(ParseNpyTest, MalformedHeadersAreRejected) {
  const std::string base = "'descr': '<f4', 'fortran_order': False";
  const std::vector<std::string> dicts = {
      "",
      "not a dict",
      "{" + base + "}",                                         // no shape
      "{'descr': '<f4', 'shape': (1,)}",                        // no fortran_order
      "{'fortran_order': False, 'shape': (1,)}",                // no descr
      "{" + base + ", 'shape': (1,), 'extra': 1}",              // unknown key
      "{" + base + ", 'shape': (1,), 'shape': (1,)}",           // duplicate key
      "{" + base + ", 'shape': (-1,)}",                         // negative dim
      "{" + base + ", 'shape': (1.5,)}",                        // non-integer dim
      "{" + base + ", 'shape': [1]}",                           // list, not tuple
      "{" + base + ", 'shape': (1,}",                           // unterminated tuple
      "{" + base + ", 'shape': (1,)} junk",                     // text after the dict
      "{" + base + ", 'shape': (1,)",                           // unterminated dict
      "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}",  // bad quoting
      "{'descr': '<f4', 'fortran_order': maybe, 'shape': (1,)}",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
  };
  for (const std::string& dict : dicts) {
    const absl::Status status = ParseNpy(NpyWithHeader(dict, std::string(16, '\0'))).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << dict;
    EXPECT_THAT(std::string(status.message()), StartsWith("NPY header")) << dict;
  }
}

TEST(ParseNpyTest, RankAbove32IsRejected) {
  std::string shape = "(";
  for (int i = 0; i < 33; ++i) shape += "1, ";
  shape += ")";
  const absl::Status status =
      ParseNpy(NpyWithHeader("{'descr': '|u1', 'fortran_order': False, 'shape': " + shape + ", }",
                             "x"))
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("32"));
}

TEST(ParseNpyTest, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(1234);
  const std::vector<const std::string*> files = {&kF4_2x3, &kI8_3, &kF8Scalar, &kF4Version2,
                                                 &kU1Rank10, &kF4Big};
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string bytes = *files[rng() % files.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    }
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
    absl::StatusOr<NdArray> array = ParseNpy(bytes);
    if (array.ok()) {
      // Whatever is accepted is self-consistent.
      int64_t n = 1;
      for (int64_t d : array->shape) n *= d;
      EXPECT_EQ(static_cast<int64_t>(array->bytes.size()), n * DTypeSize(array->dtype));
    }
  }
}

// SerializeNpy writes what numpy writes, byte for byte.
TEST(SerializeNpyTest, MatchesNumpyBytes) {
  NdArray f4;
  f4.dtype = DType::kFloat32;
  f4.shape = {2, 3};
  f4.bytes = kF4_2x3.substr(128);
  EXPECT_EQ(SerializeNpy(f4), kF4_2x3);

  NdArray u1;
  u1.dtype = DType::kUint8;
  u1.shape = {4};
  u1.bytes = std::string("\x00\x01\xfe\xff", 4);
  EXPECT_EQ(SerializeNpy(u1), kU1_4);

  NdArray i8;
  i8.dtype = DType::kInt64;
  i8.shape = {3};
  i8.bytes = kI8_3.substr(128);
  EXPECT_EQ(SerializeNpy(i8), kI8_3);

  NdArray scalar;
  scalar.dtype = DType::kFloat64;
  scalar.shape = {};
  scalar.bytes = kF8Scalar.substr(128);
  EXPECT_EQ(SerializeNpy(scalar), kF8Scalar);

  NdArray empty;
  empty.dtype = DType::kFloat32;
  empty.shape = {0, 3};
  EXPECT_EQ(SerializeNpy(empty), kF4_0x3);

  NdArray rank10;
  rank10.dtype = DType::kUint8;
  rank10.shape = Shape(10, 1);
  rank10.bytes = std::string(1, '\0');
  EXPECT_EQ(SerializeNpy(rank10), kU1Rank10);
}

TEST(SerializeNpyTest, FullPaddingWhenHeaderIsAlreadyAligned) {
  NdArray array;
  array.dtype = DType::kFloat32;
  array.shape = Shape(11, 1);
  array.shape[0] = 0;
  array.shape[10] = 100000000000;
  EXPECT_EQ(SerializeNpy(array), kF4AlignedHeader);
  absl::StatusOr<NdArray> back = ParseNpy(kF4AlignedHeader);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->shape, array.shape);
}

TEST(SerializeNpyTest, ImageBatchHeaderMatchesNumpy) {
  NdArray images;
  images.dtype = DType::kUint8;
  images.shape = {1000, 28, 28};
  images.bytes = std::string(1000 * 28 * 28, '\x07');
  const std::string bytes = SerializeNpy(images);
  ASSERT_EQ(bytes.size(), 128u + 784000u);
  EXPECT_EQ(bytes.substr(0, 128), kU1ImagesHeader);
  EXPECT_EQ(bytes.substr(128), images.bytes);
}

TEST(SerializeNpyTest, DataAlwaysStartsOn64ByteBoundary) {
  for (int rank = 0; rank <= 32; ++rank) {
    NdArray array;
    array.dtype = DType::kUint8;
    array.shape = Shape(rank, 1);
    if (rank > 0) array.shape[0] = 123456789;
    const std::string bytes = SerializeNpy(array);
    ASSERT_GE(bytes.size(), 10u);
    const size_t header_length = static_cast<unsigned char>(bytes[8]) +
                                 256 * static_cast<unsigned char>(bytes[9]);
    EXPECT_EQ((10 + header_length) % 64, 0u) << rank;
    EXPECT_EQ(bytes.size(), 10 + header_length) << rank;
    EXPECT_EQ(bytes[10 + header_length - 1], '\n') << rank;
  }
}

TEST(SerializeNpyTest, RoundTripsEveryDtype) {
  std::mt19937 rng(7);
  for (DType dtype : {DType::kFloat32, DType::kFloat64, DType::kUint8, DType::kInt64}) {
    for (const Shape& shape : {Shape{}, Shape{0}, Shape{5}, Shape{2, 3, 4}, Shape{1, 1, 28, 28}}) {
      NdArray array;
      array.dtype = dtype;
      array.shape = shape;
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      array.bytes.resize(static_cast<size_t>(n * DTypeSize(dtype)));
      for (char& c : array.bytes) c = static_cast<char>(rng() & 0xff);
      absl::StatusOr<NdArray> back = ParseNpy(SerializeNpy(array));
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(back->dtype, dtype);
      EXPECT_EQ(back->shape, shape);
      EXPECT_EQ(back->bytes, array.bytes);
    }
  }
}

class NpyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("npy_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(NpyFileTest, WriteThenReadBack) {
  NdArray array;
  array.dtype = DType::kFloat32;
  array.shape = {2, 3};
  array.bytes = kF4_2x3.substr(128);
  const std::string path = (dir_ / "x.npy").string();
  ASSERT_TRUE(WriteNpyFile(path, array).ok());
  std::ifstream in(path, std::ios::binary);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, kF4_2x3);
  absl::StatusOr<NdArray> back = ReadNpyFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_THAT(back->shape, ElementsAre(2, 3));
  EXPECT_THAT(Floats(*back), ElementsAre(0, 1, 2, 3, 4, 5));
}

TEST_F(NpyFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = (dir_ / "missing.npy").string();
  const absl::Status status = ReadNpyFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
}

TEST_F(NpyFileTest, ParseErrorsNameThePath) {
  const std::string path = (dir_ / "bad.npy").string();
  std::ofstream(path, std::ios::binary) << kF4Fortran;
  const absl::Status status = ReadNpyFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
  EXPECT_THAT(std::string(status.message()), HasSubstr("Fortran order not supported"));
}

TEST_F(NpyFileTest, DirectoryIsRejected) {
  EXPECT_FALSE(ReadNpyFile(dir_.string()).ok());
}

TEST_F(NpyFileTest, WriteIntoMissingDirectoryFails) {
  const std::string path = (dir_ / "no" / "such" / "dir.npy").string();
  const absl::Status status = WriteNpyFile(path, NdArray());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
}

// Fixtures written by numpy from tools/make_fixtures.py (if present): the first
// 1000 Fashion-MNIST test labels (int64) and images.
TEST(NpyFixtureTest, FashionMnistLabelsIfPresent) {
  const std::string path = std::string(CRUCIBLE_FIXTURES_DIR) + "/data/fmnist_test_1000_labels.npy";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  absl::StatusOr<NdArray> array = ReadNpyFile(path);
  ASSERT_TRUE(array.ok()) << array.status();
  absl::StatusOr<std::vector<int64_t>> labels = ToLabels(*array);
  ASSERT_TRUE(labels.ok()) << labels.status();
  ASSERT_EQ(labels->size(), 1000u);
  EXPECT_EQ(std::vector<int64_t>(labels->begin(), labels->begin() + 10),
            std::vector<int64_t>({9, 2, 1, 1, 6, 1, 4, 6, 5, 7}));
  for (int64_t label : *labels) {
    EXPECT_GE(label, 0);
    EXPECT_LE(label, 9);
  }
}

// The matching images (uint8, NCHW); the first image's pixel sum was computed
// with Python from the Fashion-MNIST t10k IDX file.
TEST(NpyFixtureTest, FashionMnistImagesIfPresent) {
  const std::string path = std::string(CRUCIBLE_FIXTURES_DIR) + "/data/fmnist_test_1000_images.npy";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  absl::StatusOr<NdArray> array = ReadNpyFile(path);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dtype, DType::kUint8);
  EXPECT_THAT(array->shape, ElementsAre(1000, 1, 28, 28));
  ASSERT_EQ(array->bytes.size(), 784000u);
  int64_t first_image_sum = 0;
  for (int i = 0; i < 784; ++i) first_image_sum += static_cast<unsigned char>(array->bytes[i]);
  EXPECT_EQ(first_image_sum, 33456);
}

}  // namespace
}  // namespace crucible
