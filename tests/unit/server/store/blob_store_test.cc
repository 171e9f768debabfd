#include "server/store/blob_store.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/sha256.h"

namespace crucible {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/blob_store_test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    root_ = dir_ + "/blobs";
    auto blobs = BlobStore::Open(root_);
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = std::move(*blobs);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Every regular file under the store root, temporary files included.
  std::vector<std::string> Files() const {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(root_)) {
      if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), root_).string());
    }
    return files;
  }

  std::string dir_;
  std::string root_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(BlobStoreTest, PutThenRead) {
  auto blob = blobs_->Put("hello blob");
  ASSERT_TRUE(blob.ok()) << blob.status();
  EXPECT_EQ(blob->sha256, Sha256Hex("hello blob"));
  EXPECT_EQ(blob->size_bytes, 10);
  EXPECT_TRUE(blobs_->Contains(blob->sha256));
  auto bytes = blobs_->Read(blob->sha256);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, "hello blob");
  EXPECT_EQ(blobs_->PathOf(blob->sha256), root_ + "/" + blob->sha256.substr(0, 2) + "/" + blob->sha256);
  EXPECT_TRUE(fs::is_regular_file(blobs_->PathOf(blob->sha256)));
}

TEST_F(BlobStoreTest, BinaryAndEmptyBlobs) {
  const std::string binary("\0\x01\xff\0tail", 8);
  auto blob = blobs_->Put(binary);
  ASSERT_TRUE(blob.ok()) << blob.status();
  EXPECT_EQ(*blobs_->Read(blob->sha256), binary);
  auto empty = blobs_->Put("");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->size_bytes, 0);
  EXPECT_EQ(*blobs_->Read(empty->sha256), "");
}

TEST_F(BlobStoreTest, SameBytesAreStoredOnce) {
  auto first = blobs_->Put("same bytes");
  auto second = blobs_->Put("same bytes");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->sha256, second->sha256);

  auto writer = blobs_->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append("same bytes").ok());
  auto third = (*writer)->Commit();
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->sha256, first->sha256);
  writer->reset();
  EXPECT_EQ(Files().size(), 1u);
}

TEST_F(BlobStoreTest, WriterStreamsChunks) {
  auto writer = blobs_->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::string all;
  for (int i = 0; i < 100; ++i) {
    const std::string chunk(1000 + i, static_cast<char>('a' + i % 26));
    ASSERT_TRUE((*writer)->Append(chunk).ok());
    all += chunk;
  }
  EXPECT_EQ((*writer)->bytes_written(), static_cast<int64_t>(all.size()));
  auto blob = (*writer)->Commit();
  ASSERT_TRUE(blob.ok()) << blob.status();
  EXPECT_EQ(blob->sha256, Sha256Hex(all));
  EXPECT_EQ(blob->size_bytes, static_cast<int64_t>(all.size()));
  EXPECT_EQ(*blobs_->Read(blob->sha256), all);
}

TEST_F(BlobStoreTest, NothingAppearsUnderTheContentNameBeforeCommit) {
  const std::string content = "committed atomically";
  const std::string sha = Sha256Hex(content);
  auto writer = blobs_->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append(content).ok());
  EXPECT_FALSE(blobs_->Contains(sha));
  EXPECT_FALSE(fs::exists(blobs_->PathOf(sha)));
  EXPECT_EQ(blobs_->Read(sha).status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_TRUE(blobs_->Contains(sha));
  EXPECT_EQ(*blobs_->Read(sha), content);
  // The temporary file became the blob: nothing else is left.
  EXPECT_EQ(Files(), std::vector<std::string>{sha.substr(0, 2) + "/" + sha});
}

TEST_F(BlobStoreTest, UncommittedWriterLeavesNothing) {
  {
    auto writer = blobs_->NewWriter();
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->Append("abandoned upload").ok());
    EXPECT_EQ(Files().size(), 1u);  // The temporary file.
  }
  EXPECT_THAT(Files(), IsEmpty());
  EXPECT_FALSE(blobs_->Contains(Sha256Hex("abandoned upload")));
}

TEST_F(BlobStoreTest, WriterIsSingleUse) {
  auto writer = blobs_->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append("x").ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ((*writer)->Append("y").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->Commit().status().code(), absl::StatusCode::kFailedPrecondition);
  writer->reset();
  EXPECT_EQ(*blobs_->Read(Sha256Hex("x")), "x");  // Destroying a committed writer keeps the blob.
}

TEST_F(BlobStoreTest, UnknownShaIsNotFound) {
  const std::string sha = Sha256Hex("never stored");
  EXPECT_FALSE(blobs_->Contains(sha));
  auto read = blobs_->Read(sha);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr(sha));
}

TEST_F(BlobStoreTest, MalformedShaIsRejected) {
  ASSERT_TRUE(fs::create_directories(dir_ + "/outside"));
  const std::string good = Sha256Hex("x");
  std::string upper = good;
  upper[0] = 'A';
  for (const std::string& bad :
       {std::string(""), std::string("../outside"), std::string("../../etc/passwd"), good.substr(0, 63), good + "0",
        upper, "../" + good.substr(3), good.substr(0, 2) + "/" + good.substr(3), std::string(64, 'g')}) {
    auto read = blobs_->Read(bad);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(blobs_->Contains(bad)) << bad;
    EXPECT_EQ(blobs_->PathOf(bad), "") << bad;
  }
}

TEST_F(BlobStoreTest, ConcurrentWritersOfTheSameBytes) {
  const std::string content(100000, 'z');
  std::vector<std::thread> threads;
  std::vector<absl::StatusCode> codes(8, absl::StatusCode::kUnknown);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto writer = blobs_->NewWriter();
      if (!writer.ok()) return;
      for (int i = 0; i < 10; ++i) {
        if (!(*writer)->Append(std::string_view(content).substr(i * 10000, 10000)).ok()) return;
      }
      codes[t] = (*writer)->Commit().status().code();
    });
  }
  for (auto& thread : threads) thread.join();
  for (absl::StatusCode code : codes) EXPECT_EQ(code, absl::StatusCode::kOk);
  EXPECT_EQ(*blobs_->Read(Sha256Hex(content)), content);
  EXPECT_EQ(Files().size(), 1u);
}

TEST_F(BlobStoreTest, ReopenSeesStoredBlobs) {
  auto blob = blobs_->Put("durable");
  ASSERT_TRUE(blob.ok()) << blob.status();
  auto reopened = BlobStore::Open(root_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(*(*reopened)->Read(blob->sha256), "durable");
}

}  // namespace
}  // namespace crucible
