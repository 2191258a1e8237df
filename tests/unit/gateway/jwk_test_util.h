// Test keys for the JWT tests: real RSA-2048 and P-256 keys, their public JWKs, and a
// SHA-256 digest signer (DER ECDSA for EC keys).
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/core_names.h>

#include "warden/gateway/auth/base64url.h"
#include "warden/gateway/auth/ossl.h"

namespace warden::gateway::auth {

inline PkeyPtr rsa_key() { return PkeyPtr(EVP_RSA_gen(2048)); }
inline PkeyPtr ec_key() { return PkeyPtr(EVP_EC_gen("P-256")); }

inline std::string bn_param(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* raw = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &raw), 1) << name;
  BnPtr bn(raw);
  std::string out(pad > 0 ? static_cast<size_t>(pad) : static_cast<size_t>(BN_num_bytes(bn.get())),
                  '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (pad > 0) BN_bn2binpad(bn.get(), p, pad);
  else BN_bn2bin(bn.get(), p);
  return out;
}

inline std::string rsa_jwk(EVP_PKEY* key, const std::string& kid, const std::string& extra = "",
                    const std::string& alg = "RS256", const std::string& use = "sig") {
  return fmt::format(R"({{"kty":"RSA","kid":"{}","use":"{}","alg":"{}","n":"{}","e":"{}"{}}})",
                     kid, use, alg, base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_N)),
                     base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_E)), extra);
}

inline std::string ec_jwk(EVP_PKEY* key, const std::string& kid, const std::string& extra = "") {
  return fmt::format(R"({{"kty":"EC","crv":"P-256","kid":"{}","alg":"ES256","x":"{}","y":"{}"{}}})",
                     kid, base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)),
                     base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)), extra);
}

inline std::string digest_sign(EVP_PKEY* key, std::string_view input) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr), 1);
  size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()), 1);
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                           input.size()),
            1);
  sig.resize(len);
  return sig;
}

}  // namespace warden::gateway::auth
