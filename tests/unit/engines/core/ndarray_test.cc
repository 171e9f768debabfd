#include "engines/core/ndarray.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Little-endian bytes of `values`, written out byte by byte (independent of
// the implementation's own conversion code).
std::string LittleEndianInt64(const std::vector<int64_t>& values) {
  std::string bytes;
  for (int64_t v : values) {
    const uint64_t u = static_cast<uint64_t>(v);
    for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<char>((u >> (8 * b)) & 0xff));
  }
  return bytes;
}

template <typename T>
std::string RawBytes(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

NdArray Make(DType dtype, Shape shape, std::string bytes) {
  NdArray array;
  array.dtype = dtype;
  array.shape = std::move(shape);
  array.bytes = std::move(bytes);
  return array;
}

TEST(DTypeTest, NamesAndSizes) {
  EXPECT_STREQ(DTypeName(DType::kFloat32), "float32");
  EXPECT_STREQ(DTypeName(DType::kFloat64), "float64");
  EXPECT_STREQ(DTypeName(DType::kUint8), "uint8");
  EXPECT_STREQ(DTypeName(DType::kInt64), "int64");
  EXPECT_EQ(DTypeSize(DType::kFloat32), 4);
  EXPECT_EQ(DTypeSize(DType::kFloat64), 8);
  EXPECT_EQ(DTypeSize(DType::kUint8), 1);
  EXPECT_EQ(DTypeSize(DType::kInt64), 8);
}

TEST(ToFloatTensorTest, Uint8IsNotRescaled) {
  const Tensor t = ToFloatTensor(Make(DType::kUint8, {2, 2}, std::string("\x00\x01\x80\xff", 4)));
  EXPECT_THAT(t.shape(), ElementsAre(2, 2));
  EXPECT_THAT(t.values(), ElementsAre(0.0f, 1.0f, 128.0f, 255.0f));
}

TEST(ToFloatTensorTest, Float32KeepsValuesAndShape) {
  const std::vector<float> values = {0.5f, -1.25f, 3e38f, std::numeric_limits<float>::denorm_min(),
                                     -0.0f, 7.0f};
  const Tensor t = ToFloatTensor(Make(DType::kFloat32, {1, 2, 3}, RawBytes(values)));
  EXPECT_THAT(t.shape(), ElementsAre(1, 2, 3));
  ASSERT_EQ(t.num_elements(), 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.at(i), values[i]) << i;
  EXPECT_TRUE(std::signbit(t.at(4)));
}

TEST(ToFloatTensorTest, Float64IsNarrowed) {
  const Tensor t = ToFloatTensor(Make(DType::kFloat64, {3}, RawBytes<double>({0.1, -2.5, 1e300})));
  EXPECT_THAT(t.values(), ElementsAre(0.1f, -2.5f, std::numeric_limits<float>::infinity()));
}

TEST(ToFloatTensorTest, Int64Converts) {
  const Tensor t =
      ToFloatTensor(Make(DType::kInt64, {3}, LittleEndianInt64({-3, 0, 16777216})));
  EXPECT_THAT(t.values(), ElementsAre(-3.0f, 0.0f, 16777216.0f));
}

TEST(ToFloatTensorTest, ScalarAndEmpty) {
  const Tensor scalar = ToFloatTensor(Make(DType::kFloat64, {}, RawBytes<double>({2.5})));
  EXPECT_EQ(scalar.rank(), 0);
  EXPECT_THAT(scalar.values(), ElementsAre(2.5f));
  const Tensor empty = ToFloatTensor(Make(DType::kFloat32, {0, 3}, ""));
  EXPECT_THAT(empty.shape(), ElementsAre(0, 3));
  EXPECT_EQ(empty.num_elements(), 0);
}

TEST(ToFloatTensorTest, MalformedArrayGivesEmptyTensorInsteadOfReadingPastTheEnd) {
  // Byte count does not match the shape: no crash, no out-of-bounds read.
  const Tensor t = ToFloatTensor(Make(DType::kFloat32, {1000000}, std::string(8, '\0')));
  EXPECT_EQ(t.num_elements(), 0);
  const Tensor negative = ToFloatTensor(Make(DType::kUint8, {-1}, ""));
  EXPECT_EQ(negative.num_elements(), 0);
  const Tensor overflow =
      ToFloatTensor(Make(DType::kUint8, {int64_t{1} << 40, int64_t{1} << 40}, ""));
  EXPECT_EQ(overflow.num_elements(), 0);
}

TEST(ToLabelsTest, Uint8Vector) {
  absl::StatusOr<std::vector<int64_t>> labels =
      ToLabels(Make(DType::kUint8, {4}, std::string("\x09\x02\x00\xff", 4)));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(9, 2, 0, 255));
}

TEST(ToLabelsTest, Int64Column) {
  absl::StatusOr<std::vector<int64_t>> labels =
      ToLabels(Make(DType::kInt64, {3, 1}, LittleEndianInt64({7, 0, int64_t{1} << 40})));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(7, 0, int64_t{1} << 40));
}

TEST(ToLabelsTest, EmptyVector) {
  absl::StatusOr<std::vector<int64_t>> labels = ToLabels(Make(DType::kInt64, {0}, ""));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_TRUE(labels->empty());
}

TEST(ToLabelsTest, IntegralFloatsAreAccepted) {
  absl::StatusOr<std::vector<int64_t>> f32 =
      ToLabels(Make(DType::kFloat32, {3}, RawBytes<float>({0.0f, 3.0f, 9.0f})));
  ASSERT_TRUE(f32.ok()) << f32.status();
  EXPECT_THAT(*f32, ElementsAre(0, 3, 9));
  absl::StatusOr<std::vector<int64_t>> f64 =
      ToLabels(Make(DType::kFloat64, {2, 1}, RawBytes<double>({1.0, 4e9})));
  ASSERT_TRUE(f64.ok()) << f64.status();
  EXPECT_THAT(*f64, ElementsAre(1, 4000000000));
}

TEST(ToLabelsTest, NonIntegralFloatIsRejected) {
  absl::StatusOr<std::vector<int64_t>> labels =
      ToLabels(Make(DType::kFloat32, {3}, RawBytes<float>({1.0f, 2.5f, 3.0f})));
  ASSERT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(labels.status().message()), HasSubstr("2.5"));
  EXPECT_THAT(std::string(labels.status().message()), HasSubstr("index 1"));
}

TEST(ToLabelsTest, NonFiniteAndOutOfRangeFloatsAreRejected) {
  for (double v : {std::nan(""), std::numeric_limits<double>::infinity(), 1e30}) {
    absl::StatusOr<std::vector<int64_t>> labels =
        ToLabels(Make(DType::kFloat64, {1}, RawBytes<double>({v})));
    EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument) << v;
  }
  absl::StatusOr<std::vector<int64_t>> f32 = ToLabels(
      Make(DType::kFloat32, {1}, RawBytes<float>({std::numeric_limits<float>::quiet_NaN()})));
  EXPECT_EQ(f32.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ToLabelsTest, NegativeLabelsAreRejected) {
  absl::StatusOr<std::vector<int64_t>> ints =
      ToLabels(Make(DType::kInt64, {3}, LittleEndianInt64({1, 2, -1})));
  ASSERT_EQ(ints.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ints.status().message()), HasSubstr("negative"));
  EXPECT_THAT(std::string(ints.status().message()), HasSubstr("index 2"));
  absl::StatusOr<std::vector<int64_t>> floats =
      ToLabels(Make(DType::kFloat32, {1}, RawBytes<float>({-4.0f})));
  EXPECT_EQ(floats.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ToLabelsTest, WrongRankIsRejected) {
  const absl::StatusOr<std::vector<int64_t>> matrix =
      ToLabels(Make(DType::kUint8, {2, 2}, std::string(4, '\1')));
  ASSERT_EQ(matrix.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(matrix.status().message()), HasSubstr("[2,2]"));
  EXPECT_EQ(ToLabels(Make(DType::kUint8, {}, std::string(1, '\1'))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ToLabels(Make(DType::kUint8, {2, 1, 1}, std::string(2, '\1'))).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ToLabelsTest, ByteCountMismatchIsRejected) {
  EXPECT_EQ(ToLabels(Make(DType::kInt64, {3}, std::string(16, '\0'))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ToLabels(Make(DType::kInt64, {int64_t{1} << 62}, "")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ToLabels(Make(DType::kUint8, {-2}, "")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FromLabelsTest, LittleEndianInt64Vector) {
  const NdArray array = FromLabels({1, -2, int64_t{1} << 33});
  EXPECT_EQ(array.dtype, DType::kInt64);
  EXPECT_THAT(array.shape, ElementsAre(3));
  EXPECT_EQ(array.bytes, LittleEndianInt64({1, -2, int64_t{1} << 33}));
}

TEST(FromLabelsTest, RoundTripsThroughToLabels) {
  const std::vector<int64_t> labels = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  absl::StatusOr<std::vector<int64_t>> back = ToLabels(FromLabels(labels));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, labels);
  EXPECT_THAT(FromLabels({}).shape, ElementsAre(0));
}

TEST(FromTensorTest, Float32BytesAndRoundTrip) {
  const Tensor t({2, 3}, {1.0f, -2.0f, 0.25f, 4.0f, 5.5f, -0.0f});
  const NdArray array = FromTensor(t);
  EXPECT_EQ(array.dtype, DType::kFloat32);
  EXPECT_THAT(array.shape, ElementsAre(2, 3));
  ASSERT_EQ(array.bytes.size(), 24u);
  // 1.0f is 0x3F800000, -2.0f is 0xC0000000, little-endian.
  EXPECT_EQ(array.bytes.substr(0, 8), std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8));
  const Tensor back = ToFloatTensor(array);
  EXPECT_EQ(back.shape(), t.shape());
  EXPECT_THAT(back.values(), ElementsAre(1.0f, -2.0f, 0.25f, 4.0f, 5.5f, -0.0f));
}

TEST(FromTensorTest, EmptyTensor) {
  const NdArray array = FromTensor(Tensor(Shape{0, 5}));
  EXPECT_THAT(array.shape, ElementsAre(0, 5));
  EXPECT_TRUE(array.bytes.empty());
}

}  // namespace
}  // namespace crucible
