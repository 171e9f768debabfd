#include "engines/core/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engines/core/file_io.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr int64_t kMaxRank = 32;
constexpr size_t kAlign = 64;

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The element type stored in the file and how it maps onto an NdArray dtype.
struct FileType {
  DType dtype;         // In-memory type.
  int64_t item_size;   // Bytes per element in the file.
  bool big_endian;     // File bytes are big-endian.
  bool is_signed;      // For integers widened to int64.
};

// Maps a numpy descr ("<f4", "|u1", ">i8", ...) to a FileType. Integers other
// than uint8 and int64 (int8/16/32, uint16/32) are widened to int64, as the IDX
// reader does; uint64, float16, complex, bool, strings and objects are refused.
std::optional<FileType> ParseDescr(std::string_view descr) {
  if (descr.size() < 3) return std::nullopt;
  // '=' (native order) is never written by numpy and would depend on the
  // writer's machine, so only explicit orders are accepted.
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|') return std::nullopt;
  const char kind = descr[1];
  const std::string_view size_text = descr.substr(2);
  int64_t size = 0;
  if (size_text == "1") {
    size = 1;
  } else if (size_text == "2") {
    size = 2;
  } else if (size_text == "4") {
    size = 4;
  } else if (size_text == "8") {
    size = 8;
  } else {
    return std::nullopt;
  }
  // '|' (byte order not applicable) is only meaningful for one-byte types.
  if (order == '|' && size != 1) return std::nullopt;
  const bool big = order == '>' && size > 1;
  switch (kind) {
    case 'f':
      if (size == 4) return FileType{DType::kFloat32, 4, big, true};
      if (size == 8) return FileType{DType::kFloat64, 8, big, true};
      return std::nullopt;
    case 'u':
      if (size == 1) return FileType{DType::kUint8, 1, false, false};
      if (size == 2 || size == 4) return FileType{DType::kInt64, size, big, false};
      return std::nullopt;
    case 'i':
      return FileType{DType::kInt64, size, big, true};
    default:
      return std::nullopt;
  }
}

// A minimal parser for the Python dict literal in an NPY header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  absl::Status Parse() {
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      std::string key;
      RETURN_IF_ERROR(ParseString("key", &key));
      SkipSpace();
      if (!Consume(':')) return Error(absl::StrCat("expected ':' after '", key, "'"));
      SkipSpace();
      if (key == "descr") {
        if (descr_.has_value()) return Error("duplicate key 'descr'");
        if (Peek() != '\'' && Peek() != '"') {
          return Error("unsupported descr (structured or non-string dtypes are not supported)");
        }
        std::string descr;
        RETURN_IF_ERROR(ParseString("descr", &descr));
        descr_ = std::move(descr);
      } else if (key == "fortran_order") {
        if (fortran_order_.has_value()) return Error("duplicate key 'fortran_order'");
        if (ConsumeWord("True")) {
          fortran_order_ = true;
        } else if (ConsumeWord("False")) {
          fortran_order_ = false;
        } else {
          return Error("fortran_order is not True or False");
        }
      } else if (key == "shape") {
        if (shape_.has_value()) return Error("duplicate key 'shape'");
        Shape shape;
        RETURN_IF_ERROR(ParseShape(&shape));
        shape_ = std::move(shape);
      } else {
        return Error(absl::StrCat("unexpected key '", key, "'"));
      }
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return Error(absl::StrCat("expected ',' or '}' after '", key, "'"));
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the dictionary");
    if (!descr_.has_value()) return Error("missing key 'descr'");
    if (!fortran_order_.has_value()) return Error("missing key 'fortran_order'");
    if (!shape_.has_value()) return Error("missing key 'shape'");
    return absl::OkStatus();
  }

  const std::string& descr() const { return *descr_; }
  bool fortran_order() const { return *fortran_order_; }
  const Shape& shape() const { return *shape_; }

 private:
  static absl::Status Error(std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("NPY header: ", AbslView(what)));
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }

  bool ConsumeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // A quoted string without escapes (numpy never writes any in these fields).
  absl::Status ParseString(std::string_view what, std::string* out) {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') {
      return Error(absl::StrCat("expected a quoted ", AbslView(what)));
    }
    ++pos_;
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) {
      return Error(absl::StrCat("unterminated ", AbslView(what), " string"));
    }
    const std::string_view s = text_.substr(pos_, end - pos_);
    if (s.find('\\') != std::string_view::npos) {
      return Error(absl::StrCat("escape sequences in ", AbslView(what), " are not supported"));
    }
    *out = std::string(s);
    pos_ = end + 1;
    return absl::OkStatus();
  }

  // "()", "(3,)", "(2, 3)", "(2L, 3L)" (Python 2 writers); "(3)" is accepted too.
  absl::Status ParseShape(Shape* shape) {
    if (!Consume('(')) return Error("shape is not a tuple");
    SkipSpace();
    if (Consume(')')) return absl::OkStatus();
    while (true) {
      SkipSpace();
      if (Peek() == '-') return Error("shape has a negative dimension");
      if (Peek() < '0' || Peek() > '9') return Error("shape has a non-integer dimension");
      int64_t value = 0;
      while (Peek() >= '0' && Peek() <= '9') {
        const int digit = Peek() - '0';
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_add_overflow(value, digit, &value)) {
          return Error("shape dimension does not fit in int64");
        }
        ++pos_;
      }
      if (Peek() == 'L' || Peek() == 'l') ++pos_;
      if (static_cast<int64_t>(shape->size()) == kMaxRank) {
        return Error(absl::StrCat("shape has more than ", kMaxRank, " dimensions"));
      }
      shape->push_back(value);
      SkipSpace();
      if (Consume(')')) return absl::OkStatus();
      if (!Consume(',')) return Error("expected ',' or ')' in shape");
      SkipSpace();
      if (Consume(')')) return absl::OkStatus();
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::optional<std::string> descr_;
  std::optional<bool> fortran_order_;
  std::optional<Shape> shape_;
};

// Reads an unsigned little-endian integer of `n` bytes.
uint64_t ReadLittleUnsigned(const char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Converts `count` elements of `type` at `src` to little-endian `type.dtype` at `dst`.
void ConvertElements(const FileType& type, const char* src, int64_t count, char* dst) {
  const bool same_size = type.item_size == DTypeSize(type.dtype);
  if (same_size && !type.big_endian) {
    std::memcpy(dst, src, static_cast<size_t>(count * type.item_size));
    return;
  }
  const int64_t out_size = DTypeSize(type.dtype);
  for (int64_t i = 0; i < count; ++i) {
    const unsigned char* in = reinterpret_cast<const unsigned char*>(src + i * type.item_size);
    char* out = dst + i * out_size;
    // Gather the element's bytes in little-endian order.
    unsigned char le[8];
    for (int64_t b = 0; b < type.item_size; ++b) {
      le[b] = type.big_endian ? in[type.item_size - 1 - b] : in[b];
    }
    if (same_size) {
      std::memcpy(out, le, static_cast<size_t>(out_size));
      continue;
    }
    // Integer widening to little-endian int64 with sign or zero extension.
    const bool negative = type.is_signed && (le[type.item_size - 1] & 0x80) != 0;
    for (int64_t b = 0; b < 8; ++b) {
      out[b] = static_cast<char>(b < type.item_size ? le[b] : (negative ? 0xff : 0x00));
    }
  }
}

const char* Descr(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "<f4";
    case DType::kFloat64:
      return "<f8";
    case DType::kUint8:
      return "|u1";
    case DType::kInt64:
      return "<i8";
  }
  return "<f4";
}

}  // namespace

absl::StatusOr<NdArray> ParseNpy(std::string_view bytes) {
  if (bytes.size() < kMagicSize || bytes.substr(0, kMagicSize) != std::string_view(kMagic, kMagicSize)) {
    return absl::InvalidArgumentError("not an NPY file: bad magic (expected \\x93NUMPY)");
  }
  if (bytes.size() < kMagicSize + 2) {
    return absl::InvalidArgumentError("NPY header truncated: no version bytes");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("NPY header: unsupported version ", major, ".", minor));
  }
  const size_t length_size = major == 1 ? 2 : 4;
  const size_t preamble = kMagicSize + 2 + length_size;
  if (bytes.size() < preamble) {
    return absl::InvalidArgumentError("NPY header truncated: no header length");
  }
  const uint64_t header_length =
      ReadLittleUnsigned(bytes.data() + kMagicSize + 2, static_cast<int>(length_size));
  if (header_length > bytes.size() - preamble) {
    return absl::InvalidArgumentError(
        absl::StrCat("NPY header truncated: header length ", header_length, ", but only ",
                     bytes.size() - preamble, " bytes follow"));
  }
  HeaderParser header(bytes.substr(preamble, header_length));
  RETURN_IF_ERROR(header.Parse());
  if (header.fortran_order()) {
    return absl::InvalidArgumentError("NPY header: Fortran order not supported");
  }
  const std::optional<FileType> type = ParseDescr(header.descr());
  if (!type.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("NPY header: unsupported descr '", header.descr(), "'"));
  }
  // Byte counts must fit even ignoring zero dimensions, so no later consumer
  // computing a row size from the shape can overflow.
  int64_t nonzero_count = 1;
  bool has_zero = false;
  bool too_large = false;
  for (int64_t d : header.shape()) {
    if (d == 0) {
      has_zero = true;
    } else if (__builtin_mul_overflow(nonzero_count, d, &nonzero_count)) {
      too_large = true;
    }
  }
  int64_t max_bytes = 0;  // Every item size involved is at most 8.
  if (too_large || __builtin_mul_overflow(nonzero_count, int64_t{8}, &max_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NPY header: shape ", ShapeToString(header.shape()), " is too large"));
  }
  const int64_t count = has_zero ? 0 : nonzero_count;
  const int64_t file_bytes = count * type->item_size;
  const int64_t memory_bytes = count * DTypeSize(type->dtype);

  const std::string_view data = bytes.substr(preamble + header_length);
  if (static_cast<uint64_t>(file_bytes) > data.size()) {
    return absl::InvalidArgumentError(absl::StrCat("NPY data truncated: expected ", file_bytes,
                                                   " bytes, found ", data.size()));
  }
  // Trailing bytes after the data are ignored, as numpy.load does.
  NdArray array;
  array.dtype = type->dtype;
  array.shape = header.shape();
  array.bytes.resize(static_cast<size_t>(memory_bytes));
  ConvertElements(*type, data.data(), count, array.bytes.data());
  return array;
}

std::string SerializeNpy(const NdArray& array) {
  std::string dict = absl::StrCat("{'descr': '", Descr(array.dtype),
                                  "', 'fortran_order': False, 'shape': (");
  for (size_t i = 0; i < array.shape.size(); ++i) {
    if (i > 0) dict += ", ";
    absl::StrAppend(&dict, array.shape[i]);
  }
  if (array.shape.size() == 1) dict += ",";
  dict += "), }";
  // Like numpy >= 1.23: spare room so the first dimension can grow in place.
  if (!array.shape.empty()) {
    const size_t digits = absl::StrCat(array.shape[0]).size();
    constexpr size_t kGrowthAxisMaxDigits = 21;
    if (digits < kGrowthAxisMaxDigits) dict.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  // Pad with spaces and a final '\n' so the data starts on a 64-byte boundary;
  // numpy pads a full 64 bytes when already aligned. Version 2.0 (4-byte
  // length) only when the header does not fit a 2-byte length.
  int major = 1;
  size_t length_size = 2;
  size_t header_length = 0;
  for (;;) {
    const size_t unpadded = kMagicSize + 2 + length_size + dict.size() + 1;
    const size_t pad = kAlign - unpadded % kAlign;
    header_length = dict.size() + pad + 1;
    if (length_size == 4 || header_length <= 0xffff) break;
    major = 2;
    length_size = 4;
  }
  std::string out(kMagic, kMagicSize);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  for (size_t i = 0; i < length_size; ++i) {
    out.push_back(static_cast<char>((header_length >> (8 * i)) & 0xff));
  }
  out += dict;
  out.append(header_length - dict.size() - 1, ' ');
  out.push_back('\n');
  out += array.bytes;
  return out;
}

absl::StatusOr<NdArray> ReadNpyFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  absl::StatusOr<NdArray> array = ParseNpy(bytes);
  if (!array.ok()) {
    return absl::Status(array.status().code(),
                        absl::StrCat(path, ": ", array.status().message()));
  }
  return array;
}

absl::Status WriteNpyFile(const std::string& path, const NdArray& array) {
  const std::string bytes = SerializeNpy(array);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return FileErrorStatus(errno, "create", path);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return FileErrorStatus(error, "write", path);
    }
    written += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return FileErrorStatus(errno, "close", path);
  return absl::OkStatus();
}

}  // namespace crucible
