#include "warden/gateway/auth/jwt.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <openssl/err.h>
#include <simdjson.h>

#include "warden/codec/duplicate_keys.h"
#include "warden/gateway/auth/base64url.h"

namespace warden::gateway::auth {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

namespace {

constexpr size_t k_max_depth = 32;
constexpr int64_t k_max_numeric_date = int64_t{1} << 53;  // exactly representable as a double
constexpr int64_t k_max_skew_s = 3600;
constexpr size_t k_max_token_limit = 1u << 20;

Error bad(std::string why) { return Error{k_invalid_token, std::move(why)}; }

bool is_b64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Parses `text` (already base64url-decoded) as one strict JSON object. `part` names it in errors.
Result<object> parse_object(simdjson::dom::parser& parser, std::string_view text, const char* part) {
  if (parser.allocate(text.size() + 64, k_max_depth) != simdjson::SUCCESS)
    return bad(fmt::format("token {} is too large", part));
  element root;
  if (auto err = parser.parse(text.data(), text.size()).get(root); err != simdjson::SUCCESS) {
    if (err == simdjson::DEPTH_ERROR) return bad(fmt::format("token {} is nested too deeply", part));
    return bad(fmt::format("token {} is not valid JSON (or not valid UTF-8)", part));
  }
  object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS)
    return bad(fmt::format("token {} is not a JSON object", part));
  std::string dup;
  if (codec::find_duplicate_key(root, dup))
    return bad(fmt::format("token {} has a duplicate key (refused: readers could disagree)", part));
  return obj;
}

// A member that must be a string when present.
enum class Member { absent, ok, wrong_type };
Member string_member(object obj, std::string_view name, std::string_view& out) {
  element v;
  if (obj[name].get(v) != simdjson::SUCCESS) return Member::absent;
  return v.get_string().get(out) == simdjson::SUCCESS ? Member::ok : Member::wrong_type;
}

// A NumericDate (RFC 7519 section 2): a JSON number of seconds; fractions are truncated.
Member date_member(object obj, std::string_view name, int64_t& out) {
  element v;
  if (obj[name].get(v) != simdjson::SUCCESS) return Member::absent;
  switch (v.type()) {
  case element_type::INT64: {
    int64_t i = v.get_int64().value_unsafe();
    if (i < -k_max_numeric_date || i > k_max_numeric_date) return Member::wrong_type;
    out = i;
    return Member::ok;
  }
  case element_type::UINT64: return Member::wrong_type;  // above INT64_MAX
  case element_type::DOUBLE: {
    double d = v.get_double().value_unsafe();
    if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(k_max_numeric_date))
      return Member::wrong_type;
    out = static_cast<int64_t>(std::floor(d));
    return Member::ok;
  }
  default: return Member::wrong_type;
  }
}

bool type_accepted(std::string_view typ) {
  std::string lower(typ);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "jwt" || lower == "at+jwt" || lower == "application/at+jwt" ||
         lower == "application/jwt";
}

bool digest_verify(EVP_PKEY* key, std::string_view input, const unsigned char* sig,
                   size_t sig_len) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx &&
            EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key,
                                    nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), sig, sig_len,
                             reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  // A failed check leaves entries on this thread's OpenSSL error queue; other users of the
  // queue (the gateway's TLS code) must not see them.
  if (!ok) ERR_clear_error();
  return ok;
}

bool verify_rs256(EVP_PKEY* key, std::string_view input, std::string_view sig) {
  if (sig.size() != static_cast<size_t>(EVP_PKEY_get_size(key))) return false;
  return digest_verify(key, input, reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

// JWS ES256 signatures are r || s, 32 bytes each (RFC 7518 section 3.4); EVP wants DER.
bool verify_es256(EVP_PKEY* key, std::string_view input, std::string_view sig) {
  if (sig.size() != 64) return false;
  const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
  EcdsaSigPtr ecdsa(ECDSA_SIG_new());
  BnPtr r(BN_bin2bn(raw, 32, nullptr)), s(BN_bin2bn(raw + 32, 32, nullptr));
  if (!ecdsa || !r || !s || ECDSA_SIG_set0(ecdsa.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  (void)r.release();  // owned by ecdsa now
  (void)s.release();
  int len = i2d_ECDSA_SIG(ecdsa.get(), nullptr);
  if (len <= 0) {
    ERR_clear_error();
    return false;
  }
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(ecdsa.get(), &p) != len) {
    ERR_clear_error();
    return false;
  }
  return digest_verify(key, input, reinterpret_cast<const unsigned char*>(der.data()), der.size());
}

bool verify_with(const Jwk& jwk, std::string_view input, std::string_view sig) {
  return jwk.type == KeyType::rsa ? verify_rs256(jwk.key.get(), input, sig)
                                  : verify_es256(jwk.key.get(), input, sig);
}

void split_scopes(std::string_view s, std::vector<std::string>& out) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
}

Status read_claims(object payload, const JwtConfig& config, const util::Clock& clock,
                   JwtClaims& c) {
  std::string_view s;
  // iss
  switch (string_member(payload, "iss", s)) {
  case Member::absent: return bad("token has no iss claim");
  case Member::wrong_type: return bad("token iss claim is not a string");
  case Member::ok: break;
  }
  if (s != config.issuer) return bad("token iss claim does not match the configured issuer");
  c.issuer = std::string(s);

  // aud: a string or an array of strings
  element aud;
  if (payload["aud"].get(aud) != simdjson::SUCCESS) return bad("token has no aud claim");
  if (aud.get_string().get(s) == simdjson::SUCCESS) {
    c.audience.emplace_back(s);
  } else {
    simdjson::dom::array arr;
    if (aud.get_array().get(arr) != simdjson::SUCCESS || arr.size() == 0)
      return bad("token aud claim is neither a string nor an array of strings");
    for (element a : arr) {
      if (a.get_string().get(s) != simdjson::SUCCESS)
        return bad("token aud claim is neither a string nor an array of strings");
      c.audience.emplace_back(s);
    }
  }
  if (std::find(c.audience.begin(), c.audience.end(), config.audience) == c.audience.end())
    return bad("token aud claim does not contain this gateway's audience");

  // exp, nbf, iat against the injected clock, with the skew allowance
  const int64_t now = clock.now_unix_us() / 1'000'000;
  const int64_t skew = config.clock_skew_s;
  int64_t t = 0;
  switch (date_member(payload, "exp", t)) {
  case Member::absent:
    if (config.require_exp) return bad("token has no exp claim");
    break;
  case Member::wrong_type: return bad("token exp claim is not a valid NumericDate");
  case Member::ok:
    if (now >= t + skew) return bad("token has expired");
    c.expires_at = t;
    break;
  }
  // nbf and iat, when present, must not be in the future.
  struct NotAfterNow {
    const char* name;
    const char* future;
    int64_t* into;
  };
  int64_t nbf = 0;
  for (const NotAfterNow& d : {NotAfterNow{"nbf", "token is not valid yet (nbf is in the future)", &nbf},
                               NotAfterNow{"iat", "token was issued in the future (iat)", &c.issued_at}}) {
    Member m = date_member(payload, d.name, t);
    if (m == Member::wrong_type)
      return bad(fmt::format("token {} claim is not a valid NumericDate", d.name));
    if (m == Member::ok) {
      if (now + skew < t) return bad(d.future);
      *d.into = t;
    }
  }

  // sub
  switch (string_member(payload, "sub", s)) {
  case Member::absent:
    if (config.require_sub || !config.subject.empty()) return bad("token has no sub claim");
    break;
  case Member::wrong_type: return bad("token sub claim is not a string");
  case Member::ok:
    if (!config.subject.empty() && s != config.subject)
      return bad("token sub claim does not match the configured subject");
    c.subject = std::string(s);
    break;
  }

  // client_id (RFC 9068), else azp (OpenID Connect)
  for (const char* name : {"client_id", "azp"}) {
    Member m = string_member(payload, name, s);
    if (m == Member::wrong_type) return bad(fmt::format("token {} claim is not a string", name));
    if (m == Member::ok && c.client_id.empty()) c.client_id = std::string(s);
  }

  // scope (space separated string), else scp (string or array of strings)
  switch (string_member(payload, "scope", s)) {
  case Member::wrong_type: return bad("token scope claim is not a string");
  case Member::ok:
    c.scope = std::string(s);
    split_scopes(s, c.scopes);
    break;
  case Member::absent: {
    element scp;
    if (payload["scp"].get(scp) != simdjson::SUCCESS) break;
    if (scp.get_string().get(s) == simdjson::SUCCESS) {
      split_scopes(s, c.scopes);
    } else {
      simdjson::dom::array arr;
      if (scp.get_array().get(arr) != simdjson::SUCCESS)
        return bad("token scp claim is neither a string nor an array of strings");
      for (element e : arr) {
        if (e.get_string().get(s) != simdjson::SUCCESS)
          return bad("token scp claim is neither a string nor an array of strings");
        c.scopes.emplace_back(s);
      }
    }
    for (const auto& sc : c.scopes) c.scope += (c.scope.empty() ? "" : " ") + sc;
    break;
  }
  }

  switch (string_member(payload, "jti", s)) {
  case Member::wrong_type: return bad("token jti claim is not a string");
  case Member::ok: c.jti = std::string(s); break;
  case Member::absent: break;
  }
  return Ok{};
}

}  // namespace

Status check_config(const JwtConfig& config) {
  if (config.issuer.empty()) return Error{0, "jwt: 'issuer' is required"};
  if (config.audience.empty()) return Error{0, "jwt: 'audience' is required"};
  if (config.clock_skew_s < 0 || config.clock_skew_s > k_max_skew_s)
    return Error{0, fmt::format("jwt: clock skew must be 0 to {} seconds", k_max_skew_s)};
  if (config.max_token_bytes < 64 || config.max_token_bytes > k_max_token_limit)
    return Error{0, fmt::format("jwt: the token size limit must be 64 to {} bytes",
                                k_max_token_limit)};
  return Ok{};
}

bool looks_like_jwt(std::string_view credential) {
  size_t dots = 0, run = 0;
  for (char c : credential) {
    if (c == '.') {
      if (run == 0) return false;
      ++dots;
      run = 0;
    } else if (is_b64url_char(c)) {
      ++run;
    } else {
      return false;
    }
  }
  return dots == 2 && run > 0;
}

Result<JwtClaims> validate_jwt(std::string_view token, const JwtConfig& config, const Jwks& jwks,
                               const util::Clock& clock) {
  if (auto st = check_config(config); !st) return bad("the gateway's JWT settings are invalid");
  if (token.empty()) return bad("empty bearer token");
  if (token.size() > config.max_token_bytes)
    return bad(fmt::format("token is larger than {} bytes", config.max_token_bytes));

  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return bad("token is not a compact JWS (header.payload.signature)");
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view sig_b64 = token.substr(dot2 + 1);
  const std::string_view signing_input = token.substr(0, dot2);

  // Header: strict JSON, then alg before anything else.
  auto header_json = base64url_decode(header_b64);
  if (!header_json || header_json->empty()) return bad("token header is not base64url");
  simdjson::dom::parser parser;
  auto header = parse_object(parser, *header_json, "header");
  if (!header) return header.error();
  std::string_view alg;
  switch (string_member(*header, "alg", alg)) {
  case Member::absent: return bad("token header has no alg");
  case Member::wrong_type: return bad("token header alg is not a string");
  case Member::ok: break;
  }
  KeyType want;
  if (alg == "RS256") {
    want = KeyType::rsa;
  } else if (alg == "ES256") {
    want = KeyType::ec_p256;
  } else if (alg == "none" || alg == "None" || alg == "NONE") {
    return bad("unsigned tokens (alg none) are refused: RS256 or ES256 required");
  } else if (alg.substr(0, 2) == "HS") {
    return bad("HMAC tokens (HS256, HS384, HS512) are refused: RS256 or ES256 required");
  } else {
    return bad("token alg is not accepted: RS256 or ES256 required");
  }
  element ignored;
  if ((*header)["crit"].get(ignored) == simdjson::SUCCESS)
    return bad("token header has crit extensions, which this gateway does not support");
  std::string_view typ;
  if (string_member(*header, "typ", typ) == Member::wrong_type || (!typ.empty() && !type_accepted(typ)))
    return bad("token typ is not accepted (JWT or at+jwt expected)");
  std::string_view kid;
  Member kid_state = string_member(*header, "kid", kid);
  if (kid_state == Member::wrong_type) return bad("token header kid is not a string");

  // Payload bytes (parsed only once the signature is known to be good), then the signature,
  // with keys from the JWKS only.
  if (payload_b64.empty()) return bad("token payload is empty");
  auto payload_json = base64url_decode(payload_b64);
  if (!payload_json) return bad("token payload is not base64url");
  if (sig_b64.empty()) return bad("token has no signature");
  auto sig = base64url_decode(sig_b64);
  if (!sig) return bad("token signature is not base64url");
  const Jwk* used = nullptr;
  if (kid_state == Member::ok) {
    const Jwk* jwk = jwks.find(kid);
    if (jwk == nullptr)
      return Error{k_unknown_kid, "no key in the JWKS has the token's kid"};
    if (jwk->type != want) return bad("token alg does not match the type of the key its kid names");
    if (verify_with(*jwk, signing_input, *sig)) used = jwk;
  } else {
    bool any = false;
    for (const auto& jwk : jwks.keys()) {
      if (jwk.type != want) continue;
      any = true;
      if (verify_with(jwk, signing_input, *sig)) {
        used = &jwk;
        break;
      }
    }
    if (!any) return Error{k_unknown_kid, "the JWKS has no key for the token's alg"};
  }
  if (used == nullptr) return bad("token signature is invalid");

  // Payload: only now that it is known to come from the issuer's key.
  auto payload = parse_object(parser, *payload_json, "payload");
  if (!payload) return payload.error();
  JwtClaims claims;
  WARDEN_TRY(read_claims(*payload, config, clock, claims));
  claims.kid = used->kid;
  claims.alg = alg_of(want);  // not `alg`: it points into the parser, reused for the payload
  return claims;
}

std::string bearer_error_params(const Error& error) {
  std::string desc;
  desc.reserve(error.message.size());
  for (char c : error.message) {
    auto u = static_cast<unsigned char>(c);
    desc.push_back(u < 0x20 || u >= 0x7f || c == '"' || c == '\\' ? ' ' : c);
  }
  return fmt::format(R"(error="invalid_token", error_description="{}")", desc);
}

}  // namespace warden::gateway::auth
