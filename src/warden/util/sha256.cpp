#include "warden/util/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace warden::util {

namespace {

// OpenSSL 3's one-shot SHA256() fetches the algorithm on every call; the audit log hashes every
// record, so fetch once and reuse a context per thread.
struct Sha256Context {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Sha256Context() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
};

}  // namespace

std::array<unsigned char, 32> sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  thread_local Sha256Context c;
  unsigned int len = 0;
  if (!c.md || !c.ctx || EVP_DigestInit_ex(c.ctx, c.md, nullptr) != 1 ||
      EVP_DigestUpdate(c.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(c.ctx, out.data(), &len) != 1) {
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  }
  return out;
}

std::string to_hex(const unsigned char* data, size_t n) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = k_digits[data[i] >> 4];
    s[2 * i + 1] = k_digits[data[i] & 15];
  }
  return s;
}

std::string sha256_hex(std::string_view data) {
  auto d = sha256(data);
  return to_hex(d.data(), d.size());
}

}  // namespace warden::util
