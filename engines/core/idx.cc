#include "engines/core/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/core/file_io.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr int64_t kMaxRank = 32;
// Largest decompressed IDX file accepted from gzip input (the full
// Fashion-MNIST training images are 47 MB).
constexpr uint64_t kMaxDecompressedBytes = uint64_t{4} << 30;

struct IdxHeader {
  int type = 0;            // 0x08 ... 0x0E.
  Shape shape;
  int64_t item_size = 0;   // Bytes per element in the file.
  DType dtype = DType::kUint8;
  uint64_t data_offset = 0;
  uint64_t data_bytes = 0;
};

uint32_t LoadBigEndian32(const char* p) {
  const unsigned char* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

// Bytes needed to know the header's full size: the 4-byte magic, then the dims.
uint64_t HeaderSize(std::string_view bytes) {
  if (bytes.size() < 4) return 4;
  return 4 + 4 * uint64_t{static_cast<unsigned char>(bytes[3])};
}

absl::StatusOr<IdxHeader> ParseHeader(std::string_view bytes) {
  if (bytes.size() < 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("IDX header truncated: ", bytes.size(), " bytes, need 4"));
  }
  const unsigned char* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (u[0] != 0 || u[1] != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "not an IDX file: bad magic 0x%02X 0x%02X (expected 0x00 0x00)", u[0], u[1]));
  }
  IdxHeader header;
  header.type = u[2];
  switch (header.type) {
    case 0x08:
      header.item_size = 1;
      header.dtype = DType::kUint8;
      break;
    case 0x09:
      header.item_size = 1;
      header.dtype = DType::kInt64;
      break;
    case 0x0B:
      header.item_size = 2;
      header.dtype = DType::kInt64;
      break;
    case 0x0C:
      header.item_size = 4;
      header.dtype = DType::kInt64;
      break;
    case 0x0D:
      header.item_size = 4;
      header.dtype = DType::kFloat32;
      break;
    case 0x0E:
      header.item_size = 8;
      header.dtype = DType::kFloat64;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("IDX header: unsupported element type 0x%02X", header.type));
  }
  const int rank = u[3];
  if (rank > kMaxRank) {
    return absl::InvalidArgumentError(absl::StrCat("IDX header: ", rank,
                                                   " dimensions (at most ", kMaxRank, ")"));
  }
  header.data_offset = 4 + 4 * static_cast<uint64_t>(rank);
  if (bytes.size() < header.data_offset) {
    return absl::InvalidArgumentError(
        absl::StrCat("IDX header truncated: ", rank, " dimensions need ", header.data_offset,
                     " header bytes, found ", bytes.size()));
  }
  // Sizes must fit even ignoring zero dimensions, so no later consumer
  // computing a row size from the shape can overflow.
  int64_t nonzero_count = 1;
  bool has_zero = false;
  bool too_large = false;
  for (int i = 0; i < rank; ++i) {
    const int64_t d = LoadBigEndian32(bytes.data() + 4 + 4 * i);
    header.shape.push_back(d);
    if (d == 0) {
      has_zero = true;
    } else if (__builtin_mul_overflow(nonzero_count, d, &nonzero_count)) {
      too_large = true;
    }
  }
  int64_t max_bytes = 0;  // Converted elements are at most 8 bytes.
  if (too_large || __builtin_mul_overflow(nonzero_count, int64_t{8}, &max_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("IDX header: shape ", ShapeToString(header.shape), " is too large"));
  }
  const int64_t count = has_zero ? 0 : nonzero_count;
  header.data_bytes = static_cast<uint64_t>(count * header.item_size);
  return header;
}

// Converts the big-endian file elements to the little-endian NdArray dtype.
NdArray Convert(const IdxHeader& header, std::string_view data) {
  NdArray array;
  array.dtype = header.dtype;
  array.shape = header.shape;
  const int64_t count = static_cast<int64_t>(header.data_bytes) / header.item_size;
  if (header.type == 0x08) {
    array.bytes.assign(data.data(), static_cast<size_t>(count));
    return array;
  }
  const int64_t out_size = DTypeSize(header.dtype);
  array.bytes.resize(static_cast<size_t>(count * out_size));
  const unsigned char* in = reinterpret_cast<const unsigned char*>(data.data());
  char* out = array.bytes.data();
  const int64_t n = header.item_size;
  for (int64_t i = 0; i < count; ++i, in += n, out += out_size) {
    // Reverse into little-endian order, then sign-extend signed integers.
    unsigned char le[8];
    for (int64_t b = 0; b < n; ++b) le[b] = in[n - 1 - b];
    if (n == out_size) {
      std::memcpy(out, le, static_cast<size_t>(n));
      continue;
    }
    const unsigned char fill = (le[n - 1] & 0x80) != 0 ? 0xff : 0x00;
    for (int64_t b = 0; b < out_size; ++b) out[b] = static_cast<char>(b < n ? le[b] : fill);
  }
  return array;
}

absl::StatusOr<NdArray> ParseRaw(std::string_view bytes) {
  ASSIGN_OR_RETURN(IdxHeader header, ParseHeader(bytes));
  const uint64_t found = bytes.size() - header.data_offset;
  if (found < header.data_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "IDX data truncated: expected ", header.data_bytes, " bytes, found ", found));
  }
  if (found > header.data_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("IDX data has ", found - header.data_bytes,
                     " unexpected trailing bytes after the expected ", header.data_bytes));
  }
  return Convert(header, bytes.substr(header.data_offset));
}

bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// Incremental gzip decompression (concatenated members allowed), so a file can
// be rejected from its header before a huge claimed size is inflated.
class GzipReader {
 public:
  explicit GzipReader(std::string_view input) : input_(input) {}
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;
  ~GzipReader() {
    if (initialized_) inflateEnd(&stream_);
  }

  absl::Status Init() {
    std::memset(&stream_, 0, sizeof(stream_));
    // 15 + 32: maximum window, automatic gzip/zlib header detection.
    if (inflateInit2(&stream_, 15 + 32) != Z_OK) {
      return absl::InternalError("IDX gzip: cannot initialize zlib");
    }
    initialized_ = true;
    return absl::OkStatus();
  }

  // Decompresses until `out` holds at least `target` bytes or the gzip data
  // ends. Input that ends inside a gzip member is an error.
  absl::Status ReadTo(uint64_t target, std::string* out) {
    while (out->size() < target && !finished_) {
      const size_t produced = out->size();
      const uint64_t want = std::min<uint64_t>(
          {target - produced, std::max<size_t>(produced, size_t{1} << 16), UINT_MAX});
      out->resize(produced + static_cast<size_t>(want));
      stream_.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
      stream_.avail_out = static_cast<uInt>(want);
      const uint64_t remaining = input_.size() - consumed_;
      stream_.next_in =
          reinterpret_cast<Bytef*>(const_cast<char*>(input_.data() + consumed_));
      stream_.avail_in = static_cast<uInt>(std::min<uint64_t>(remaining, UINT_MAX));
      const uInt avail_in_before = stream_.avail_in;
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      consumed_ += avail_in_before - stream_.avail_in;
      out->resize(produced + static_cast<size_t>(want - stream_.avail_out));
      if (rc == Z_STREAM_END) {
        RETURN_IF_ERROR(NextMember());
      } else if (rc == Z_BUF_ERROR || (rc == Z_OK && out->size() == produced)) {
        if (consumed_ == input_.size()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "IDX gzip stream truncated after ", out->size(), " decompressed bytes"));
        }
        if (rc == Z_BUF_ERROR) {
          return absl::InternalError("IDX gzip: zlib made no progress");
        }
      } else if (rc != Z_OK) {
        return absl::InvalidArgumentError(absl::StrCat(
            "IDX gzip: corrupt data (zlib: ", stream_.msg != nullptr ? stream_.msg : "error",
            ")"));
      }
    }
    return absl::OkStatus();
  }

 private:
  // After a member ends: skip zero padding, then either finish or start the
  // next gzip member.
  absl::Status NextMember() {
    while (consumed_ < input_.size() && input_[consumed_] == '\0') ++consumed_;
    if (consumed_ == input_.size()) {
      finished_ = true;
      return absl::OkStatus();
    }
    if (!IsGzip(input_.substr(consumed_))) {
      return absl::InvalidArgumentError(absl::StrCat("IDX gzip: ", input_.size() - consumed_,
                                                     " bytes of garbage after the gzip data"));
    }
    if (inflateReset(&stream_) != Z_OK) {
      return absl::InternalError("IDX gzip: cannot reset zlib");
    }
    return absl::OkStatus();
  }

  std::string_view input_;
  uint64_t consumed_ = 0;
  z_stream stream_;
  bool initialized_ = false;
  bool finished_ = false;
};

absl::StatusOr<std::string> Gunzip(std::string_view bytes) {
  GzipReader reader(bytes);
  RETURN_IF_ERROR(reader.Init());
  std::string out;
  // Magic first, then the dimensions, then exactly the data the header
  // announces plus one byte to notice trailing data.
  RETURN_IF_ERROR(reader.ReadTo(4, &out));
  RETURN_IF_ERROR(reader.ReadTo(HeaderSize(out), &out));
  ASSIGN_OR_RETURN(IdxHeader header, ParseHeader(out));
  const uint64_t total = header.data_offset + header.data_bytes;
  if (total > kMaxDecompressedBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "IDX gzip: shape ", ShapeToString(header.shape), " needs ", total,
        " decompressed bytes, over the limit of ", kMaxDecompressedBytes));
  }
  RETURN_IF_ERROR(reader.ReadTo(total + 1, &out));
  if (out.size() > total) {
    return absl::InvalidArgumentError(
        absl::StrCat("IDX data has unexpected trailing bytes: the decompressed file is longer "
                     "than the ", total, " bytes its header announces"));
  }
  return out;
}

}  // namespace

absl::StatusOr<NdArray> ParseIdx(std::string_view bytes) {
  if (!IsGzip(bytes)) return ParseRaw(bytes);
  ASSIGN_OR_RETURN(std::string raw, Gunzip(bytes));
  return ParseRaw(raw);
}

absl::StatusOr<NdArray> ReadIdxFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  absl::StatusOr<NdArray> array = ParseIdx(bytes);
  if (!array.ok()) {
    return absl::Status(array.status().code(),
                        absl::StrCat(path, ": ", array.status().message()));
  }
  return array;
}

}  // namespace crucible
