#include "warden/util/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace warden::util {

std::array<unsigned char, 32> sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
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
