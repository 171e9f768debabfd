#include "server/store/sha256.h"

#include <string>

#include "gtest/gtest.h"

namespace crucible {
namespace {

// Test vectors from NIST's SHA-256 examples (FIPS 180-2 appendix B and the
// "one million a" long message).
TEST(Sha256Test, EmptyString) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, Abc) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, TwoBlockMessage448Bits) {
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, Message896Bits) {
  EXPECT_EQ(Sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                      "mnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256Test, MillionAsIncrementally) {
  Sha256 hash;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) hash.Update(chunk);
  EXPECT_EQ(hash.HexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, ChunkingDoesNotChangeTheDigest) {
  std::string bytes;
  for (int i = 0; i < 5000; ++i) bytes.push_back(static_cast<char>(i * 131 % 256));
  const std::string one_shot = Sha256Hex(bytes);
  for (size_t chunk : {1u, 7u, 63u, 64u, 65u, 4999u}) {
    Sha256 hash;
    hash.Update("");  // Empty updates are harmless.
    for (size_t at = 0; at < bytes.size(); at += chunk) hash.Update(std::string_view(bytes).substr(at, chunk));
    EXPECT_EQ(hash.HexDigest(), one_shot) << "chunk " << chunk;
  }
}

}  // namespace
}  // namespace crucible
