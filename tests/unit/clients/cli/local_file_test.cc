#include "clients/cli/local_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class LocalFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("crucible_local_file_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(LocalFileTest, DigestOfKnownContents) {
  absl::StatusOr<FileDigest> abc = DigestFile(Write("abc", "abc"));
  ASSERT_TRUE(abc.ok()) << abc.status();
  EXPECT_EQ(abc->size_bytes, 3);
  EXPECT_EQ(abc->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  absl::StatusOr<FileDigest> empty = DigestFile(Write("empty", ""));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->size_bytes, 0);
  EXPECT_EQ(empty->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(LocalFileTest, DigestSpansChunks) {
  // 2.5 MiB of 'a': larger than one read chunk.
  const std::string path = Write("big", std::string((5 << 20) / 2, 'a'));
  absl::StatusOr<FileDigest> digest = DigestFile(path);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->size_bytes, (5 << 20) / 2);
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), size_t{(5 << 20) / 2});
}

TEST_F(LocalFileTest, ChunksInOrder) {
  const std::string path = Write("ten", "0123456789");
  std::vector<std::string> chunks;
  ASSERT_TRUE(ReadFileChunks(path, 4, [&](std::string_view chunk) {
                chunks.emplace_back(chunk);
                return true;
              }).ok());
  EXPECT_THAT(chunks, ElementsAre("0123", "4567", "89"));

  chunks.clear();
  ASSERT_TRUE(ReadFileChunks(path, 4, [&](std::string_view chunk) {
                chunks.emplace_back(chunk);
                return false;
              }).ok());
  EXPECT_THAT(chunks, ElementsAre("0123"));

  chunks.clear();
  ASSERT_TRUE(ReadFileChunks(Write("none", ""), 4, [&](std::string_view chunk) {
                chunks.emplace_back(chunk);
                return true;
              }).ok());
  EXPECT_TRUE(chunks.empty());
}

TEST_F(LocalFileTest, ErrorsNameThePath) {
  const std::string missing = (dir_ / "missing.onnx").string();
  absl::StatusOr<FileDigest> digest = DigestFile(missing);
  EXPECT_EQ(digest.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(digest.status().message(), HasSubstr(missing));

  absl::StatusOr<std::string> directory = ReadWholeFile(dir_.string());
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(directory.status().message(), HasSubstr("is a directory"));
}

}  // namespace
}  // namespace crucible
