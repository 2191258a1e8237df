// JWT bearer tokens for agents (RFC 7519 claims in an RFC 7515 compact JWS), verified against a
// JWKS: RS256 and ES256 only.
//
// Refused before any key is touched: a token larger than the limit, anything but three
// base64url segments, a header with duplicate keys, `crit`, an unexpected `typ`, or an `alg`
// other than RS256/ES256 (so `none` and the HS256-with-the-RSA-public-key confusion never get a
// chance). Header `jwk`, `jku`, `x5u` and `x5c` are ignored: keys come only from the configured
// JWKS. With a `kid` the one key of that kid must exist and be of the alg's type; without one,
// every key of the alg's type is tried. The signature is checked before the payload is parsed;
// then the payload must be strict JSON and carry the configured `iss` (exact) and `aud`
// (a string or an array containing it), an `exp` in the future, and `nbf`/`iat` not in the
// future, all with a clock skew allowance.
//
// Error messages are written for a WWW-Authenticate `error_description`: they never contain the
// token or any value taken from it, and hold no `"` or `\`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "warden/gateway/auth/jwks.h"
#include "warden/util/clock.h"
#include "warden/util/result.h"

namespace warden::gateway::auth {

// Error codes in Error::code of a failed validation.
inline constexpr int k_invalid_token = 401;   // RFC 6750 error="invalid_token"
// Also invalid_token, but the token names a kid the JWKS does not hold: a gateway that fetched
// the JWKS from a URL may refetch it once (rate limited) and retry, for key rotation.
inline constexpr int k_unknown_kid = 4011;

struct JwtConfig {
  std::string issuer;     // required; compared exactly with `iss`
  std::string audience;   // required; `aud` must be it or an array containing it
  std::string subject;    // optional; when set, `sub` must equal it
  bool require_sub = true;  // a token without a string `sub` is refused
  bool require_exp = true;  // a token without `exp` is refused
  int64_t clock_skew_s = 60;
  size_t max_token_bytes = 8192;
};

struct JwtClaims {
  std::string issuer;     // iss
  std::string subject;    // sub ("" if absent and not required)
  std::string client_id;  // client_id (RFC 9068), else azp (OpenID Connect), else ""
  std::string scope;      // scope as sent (space separated), or scp joined with spaces
  std::vector<std::string> scopes;  // scope split on spaces, or scp (string or array)
  std::vector<std::string> audience;
  std::string jti;        // "" if absent
  int64_t expires_at = 0;   // exp, unix seconds (0 if absent and not required)
  int64_t issued_at = 0;    // iat or 0
  std::string kid;        // the kid of the key that verified the signature ("" if none)
  std::string alg;        // "RS256" | "ES256"
};

// Checks `config` (issuer and audience set, sane skew and size). Call once at load time.
Status check_config(const JwtConfig& config);

// Validates a token (the part after "Bearer "). `clock.now_unix_us()` is the current time.
Result<JwtClaims> validate_jwt(std::string_view token, const JwtConfig& config, const Jwks& jwks,
                               const util::Clock& clock);

// Whether a bearer credential has the shape of a compact JWS (three base64url segments), so a
// gateway that accepts both API keys and JWTs knows which check to run. Shape only: no decoding.
bool looks_like_jwt(std::string_view credential);

// `error="invalid_token", error_description="..."` for a WWW-Authenticate Bearer challenge.
std::string bearer_error_params(const Error& error);

}  // namespace warden::gateway::auth
