#include "server/store/sha256.h"

#include <openssl/evp.h>

#include <cassert>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

namespace crucible {

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
  bool finalised = false;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  // Both fail only when OpenSSL cannot allocate or lacks SHA-256 entirely;
  // there is no meaningful way to continue hashing content addresses then.
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->ctx); }

void Sha256::Update(std::string_view bytes) {
  assert(!state_->finalised && "Sha256::Update after HexDigest");
  if (bytes.empty()) return;
  if (EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size()) != 1) std::abort();
}

std::string Sha256::HexDigest() {
  assert(!state_->finalised && "Sha256::HexDigest called twice");
  state_->finalised = true;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(state_->ctx, digest, &length) != 1) std::abort();
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 hash;
  hash.Update(bytes);
  return hash.HexDigest();
}

}  // namespace crucible
