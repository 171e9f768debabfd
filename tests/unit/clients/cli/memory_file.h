// MemoryFile: a std::FILE* whose contents the test can read back, for code
// that prints to stdout/stderr.
//
//   MemoryFile out;
//   std::fprintf(out.file(), "x");
//   EXPECT_EQ(out.text(), "x");
#ifndef CRUCIBLE_TESTS_UNIT_CLIENTS_CLI_MEMORY_FILE_H_
#define CRUCIBLE_TESTS_UNIT_CLIENTS_CLI_MEMORY_FILE_H_

#include <cstdio>
#include <cstdlib>
#include <string>

namespace crucible {

class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&data_, &size_)) {}
  ~MemoryFile() {
    std::fclose(file_);
    std::free(data_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  std::FILE* file() { return file_; }
  // Everything written so far.
  std::string text() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

}  // namespace crucible

#endif  // CRUCIBLE_TESTS_UNIT_CLIENTS_CLI_MEMORY_FILE_H_
