// SHA-256 (OpenSSL's EVP), for content addressing and upload verification.
//
//   Sha256 hash;
//   hash.Update(chunk);            // any number of times
//   std::string hex = hash.HexDigest();
//
// Not thread-safe: one Sha256 per stream of bytes.
#ifndef CRUCIBLE_SERVER_STORE_SHA256_H_
#define CRUCIBLE_SERVER_STORE_SHA256_H_

#include <memory>
#include <string>
#include <string_view>

namespace crucible {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  // Lowercase hex digest. Finalises: call once, and Update no more after it.
  std::string HexDigest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// sha256 of `bytes`, lowercase hex.
std::string Sha256Hex(std::string_view bytes);

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_STORE_SHA256_H_
