// JSON Web Key Sets (RFC 7517) holding the public keys that sign agents' JWT bearer tokens.
//
// Only what the JWT validator accepts is loaded: RSA keys (kty "RSA", n/e, 2048 to 8192 bits) for
// RS256 and EC P-256 keys (kty "EC", crv "P-256", x/y) for ES256. Keys meant for something else
// (`use` other than "sig", `key_ops` without "verify", another `alg` or curve, other key types)
// are skipped and listed in `skipped()`, so an identity provider that also publishes, say, an
// Ed25519 key does not break the set. A key of a supported type that is malformed (bad
// base64url, a point off the curve, a short modulus, private material such as `d`) fails the
// whole set: the operator sees the mistake at load time, not as 401s later.
//
// The parser takes a string, so a JWKS fetched from a URL by the gateway's HTTP client goes
// through the same checks as one read from a file. JSON is strict: duplicate keys are refused.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "warden/gateway/auth/ossl.h"
#include "warden/util/result.h"

namespace warden::gateway::auth {

inline constexpr size_t k_max_jwks_bytes = 512u << 10;  // 512 KiB
inline constexpr size_t k_max_jwks_keys = 128;

enum class KeyType { rsa, ec_p256 };
// "RS256" for RSA, "ES256" for EC P-256: the one JWS alg each key type may verify here.
const char* alg_of(KeyType type);

struct Jwk {
  std::string kid;  // may be empty
  KeyType type = KeyType::rsa;
  PkeyPtr key;      // public key only
};

class Jwks {
public:
  // `source` names where the text came from (a path or URL) in error messages.
  static Result<Jwks> parse(std::string_view json, std::string_view source = "JWKS");
  static Result<Jwks> load_file(const std::string& path);

  const std::vector<Jwk>& keys() const { return m_keys; }
  // The key with this kid, or nullptr.
  const Jwk* find(std::string_view kid) const;
  // One line per key that was present but not loaded, and why (for the gateway's log).
  const std::vector<std::string>& skipped() const { return m_skipped; }

private:
  std::vector<Jwk> m_keys;
  std::vector<std::string> m_skipped;
};

}  // namespace warden::gateway::auth
