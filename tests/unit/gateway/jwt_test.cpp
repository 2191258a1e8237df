// JWT bearer validation and JWKS loading (src/warden/gateway/auth): real RSA-2048 and P-256 keys
// made here, a JWKS built from them, and tokens signed by a test-only signer.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "warden/gateway/auth/base64url.h"
#include "warden/gateway/auth/jwks.h"
#include "warden/gateway/auth/jwt.h"
#include "jwk_test_util.h"

namespace warden::gateway::auth {
namespace {

// 2026-01-01T00:00:00Z, ManualClock's default.
constexpr int64_t k_now = 1'767'225'600;
const std::string k_issuer = "https://idp.example.com/";
const std::string k_audience = "https://gateway.example.com/mcp";

// The test-only signer. `alg` picks the JWS encoding of the signature; the header is given as
// JSON text so tests can put anything in it.
enum class Sign { rs256, es256, es256_der, hs256, none };

std::string sign_input(std::string_view input, Sign how, EVP_PKEY* key, std::string_view secret = {}) {
  switch (how) {
  case Sign::rs256:
  case Sign::es256_der: return digest_sign(key, input);
  case Sign::es256: {
    std::string der = digest_sign(key, input);
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::string raw(64, '\0');
    BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    return raw;
  }
  case Sign::hs256: {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), md, &n);
    return std::string(reinterpret_cast<char*>(md), n);
  }
  case Sign::none: return {};
  }
  return {};
}

std::string make_token(const std::string& header, const std::string& payload, Sign how,
                       EVP_PKEY* key, std::string_view secret = {}) {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(sign_input(input, how, key, secret));
}

std::string claims(const std::string& extra = "", int64_t exp = k_now + 300) {
  return fmt::format(R"({{"iss":"{}","aud":"{}","sub":"ci-bot","exp":{},"iat":{}{}}})", k_issuer,
                     k_audience, exp, k_now - 10, extra);
}

struct Keys {
  PkeyPtr rsa1 = rsa_key(), rsa2 = rsa_key(), ec1 = ec_key(), other_rsa = rsa_key(),
          other_ec = ec_key();
  std::string jwks_json;
  Keys() {
    jwks_json = fmt::format(R"({{"keys":[{},{},{}]}})", rsa_jwk(rsa1.get(), "rsa-1"),
                            rsa_jwk(rsa2.get(), "rsa-2"), ec_jwk(ec1.get(), "ec-1"));
  }
};

const Keys& keys() {
  static const Keys k_keys;
  return k_keys;
}

class JwtTest : public ::testing::Test {
protected:
  JwtTest() {
    auto set = Jwks::parse(keys().jwks_json);
    EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
    if (set.ok()) jwks = std::move(*set);
    config.issuer = k_issuer;
    config.audience = k_audience;
  }
  Result<JwtClaims> check(const std::string& token) {
    return validate_jwt(token, config, jwks, clock);
  }
  // Asserts a refusal whose description contains `what` and is fit for WWW-Authenticate.
  void expect_refused(const std::string& token, const std::string& what,
                      int code = k_invalid_token) {
    auto r = check(token);
    ASSERT_FALSE(r.ok()) << "accepted, expected: " << what;
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find('"'), std::string::npos) << r.error().message;
    // The token (or any of its segments) is never echoed.
    for (size_t start = 0; start < token.size();) {
      size_t dot = token.find('.', start);
      std::string seg = token.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (seg.size() >= 8) {
        EXPECT_EQ(r.error().message.find(seg), std::string::npos);
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }

  Jwks jwks;
  JwtConfig config;
  util::ManualClock clock;
};

TEST_F(JwtTest, ValidRs256ReturnsTheAgentClaims) {
  auto token = make_token(R"({"alg":"RS256","typ":"JWT","kid":"rsa-1"})",
                          claims(R"(,"client_id":"ci-app","azp":"other","scope":"mcp:tools  mcp:read","jti":"j1")"),
                          Sign::rs256, keys().rsa1.get());
  auto r = check(token);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->subject, "ci-bot");
  EXPECT_EQ(r->issuer, k_issuer);
  EXPECT_EQ(r->client_id, "ci-app");  // client_id wins over azp
  EXPECT_EQ(r->scope, "mcp:tools  mcp:read");
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"mcp:tools", "mcp:read"}));
  EXPECT_EQ(r->audience, std::vector<std::string>{k_audience});
  EXPECT_EQ(r->jti, "j1");
  EXPECT_EQ(r->expires_at, k_now + 300);
  EXPECT_EQ(r->issued_at, k_now - 10);
  EXPECT_EQ(r->kid, "rsa-1");
  EXPECT_EQ(r->alg, "RS256");
}

TEST_F(JwtTest, ValidEs256WithAzpAndScpArray) {
  auto token = make_token(R"({"alg":"ES256","kid":"ec-1","typ":"at+jwt"})",
                          claims(R"(,"azp":"cursor","scp":["tools.call","tools.list"])"),
                          Sign::es256, keys().ec1.get());
  auto r = check(token);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->client_id, "cursor");
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"tools.call", "tools.list"}));
  EXPECT_EQ(r->scope, "tools.call tools.list");
  EXPECT_EQ(r->alg, "ES256");
  EXPECT_EQ(r->kid, "ec-1");
}

TEST_F(JwtTest, WithoutKidEveryKeyOfTheAlgsTypeIsTried) {
  auto rs = make_token(R"({"alg":"RS256"})", claims(), Sign::rs256, keys().rsa2.get());
  auto r = check(rs);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kid, "rsa-2");
  auto es = make_token(R"({"alg":"ES256"})", claims(), Sign::es256, keys().ec1.get());
  auto e = check(es);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->kid, "ec-1");
  // No key of the set made it.
  expect_refused(make_token(R"({"alg":"RS256"})", claims(), Sign::rs256, keys().other_rsa.get()),
                 "signature is invalid");
  // A set without any EC key has nothing to try for ES256.
  auto rsa_only = Jwks::parse(fmt::format(R"({{"keys":[{}]}})", rsa_jwk(keys().rsa1.get(), "")));
  ASSERT_TRUE(rsa_only.ok()) << rsa_only.error().message;
  auto none = validate_jwt(es, config, *rsa_only, clock);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, k_unknown_kid);
}

TEST_F(JwtTest, WrongSignatureIsRefused) {
  struct Case {
    const char* why;
    const char* header;
    Sign how;
    EVP_PKEY* key;
  };
  const Case cases[] = {
      {"a key not in the set, under the kid of one that is", R"({"alg":"RS256","kid":"rsa-1"})",
       Sign::rs256, keys().other_rsa.get()},
      {"the same for EC", R"({"alg":"ES256","kid":"ec-1"})", Sign::es256, keys().other_ec.get()},
      {"right key, other kid", R"({"alg":"RS256","kid":"rsa-2"})", Sign::rs256, keys().rsa1.get()},
      {"ES256 as DER (what EVP produces) instead of JWS's raw r||s",
       R"({"alg":"ES256","kid":"ec-1"})", Sign::es256_der, keys().ec1.get()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    expect_refused(make_token(c.header, claims(), c.how, c.key), "signature is invalid");
  }
  // A flipped bit in the signature.
  auto token = make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(), Sign::rs256,
                          keys().rsa1.get());
  size_t dot = token.rfind('.');
  auto sig = *base64url_decode(token.substr(dot + 1));
  sig[10] = static_cast<char>(sig[10] ^ 1);
  expect_refused(token.substr(0, dot + 1) + base64url_encode(sig), "signature is invalid");
}

TEST_F(JwtTest, TamperedPayloadIsRefused) {
  auto token = make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(), Sign::rs256,
                          keys().rsa1.get());
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string forged = claims(R"(,"scope":"admin")");
  expect_refused(token.substr(0, d1 + 1) + base64url_encode(forged) + token.substr(d2),
                 "signature is invalid");
  // Same for ES256, and for a swapped header.
  auto es = make_token(R"({"alg":"ES256","kid":"ec-1"})", claims(), Sign::es256, keys().ec1.get());
  d1 = es.find('.');
  d2 = es.rfind('.');
  std::string forged_sub = claims().replace(claims().find("ci-bot"), 6, "root01");
  expect_refused(es.substr(0, d1 + 1) + base64url_encode(forged_sub) + es.substr(d2),
                 "signature is invalid");
  expect_refused(base64url_encode(R"({"alg":"ES256","kid":"ec-1","typ":"JWT"})") + es.substr(d1),
                 "signature is invalid");
}

TEST_F(JwtTest, AlgNoneIsRefused) {
  for (const char* alg : {"none", "None", "NONE"}) {
    std::string header = fmt::format(R"({{"alg":"{}"}})", alg);
    expect_refused(make_token(header, claims(), Sign::none, nullptr), "alg none");
    // With some bytes where the signature goes, too.
    expect_refused(base64url_encode(header) + "." + base64url_encode(claims()) + ".AAAA", "alg none");
  }
  expect_refused(make_token(R"({"typ":"JWT"})", claims(), Sign::none, nullptr), "no alg");
  expect_refused(make_token(R"({"alg":256})", claims(), Sign::none, nullptr), "alg is not a string");
}

TEST_F(JwtTest, Hs256WithTheRsaPublicKeyAsSecretIsRefused) {
  // The classic confusion: a verifier that feeds the RSA key's PEM to HMAC would accept this.
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, keys().rsa1.get()), 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  for (const char* header : {R"({"alg":"HS256","kid":"rsa-1"})", R"({"alg":"HS256"})",
                             R"({"alg":"HS512","kid":"rsa-1"})"}) {
    expect_refused(make_token(header, claims(), Sign::hs256, nullptr, pem), "HMAC tokens");
  }
  // Also with the raw modulus as the secret.
  expect_refused(make_token(R"({"alg":"HS256","kid":"rsa-1"})", claims(), Sign::hs256, nullptr,
                            bn_param(keys().rsa1.get(), OSSL_PKEY_PARAM_RSA_N)),
                 "HMAC tokens");
  // Other algorithms are refused by name too.
  for (const char* alg : {"RS384", "PS256", "ES384", "EdDSA", "rs256"})
    expect_refused(make_token(fmt::format(R"({{"alg":"{}","kid":"rsa-1"}})", alg), claims(),
                              Sign::rs256, keys().rsa1.get()),
                   "alg is not accepted");
}

TEST_F(JwtTest, AlgKeyTypeMismatchIsRefused) {
  expect_refused(make_token(R"({"alg":"ES256","kid":"rsa-1"})", claims(), Sign::es256,
                            keys().ec1.get()),
                 "does not match the type of the key");
  expect_refused(make_token(R"({"alg":"RS256","kid":"ec-1"})", claims(), Sign::rs256,
                            keys().rsa1.get()),
                 "does not match the type of the key");
}

TEST_F(JwtTest, UnknownKidIsRefusedWithItsOwnCode) {
  expect_refused(make_token(R"({"alg":"RS256","kid":"rotated-7"})", claims(), Sign::rs256,
                            keys().rsa1.get()),
                 "no key in the JWKS has the token", k_unknown_kid);
  expect_refused(make_token(R"({"alg":"RS256","kid":7})", claims(), Sign::rs256,
                            keys().rsa1.get()),
                 "kid is not a string");
}

TEST_F(JwtTest, HeaderKeysAndExtensionsAreNotTrusted) {
  // An embedded jwk is ignored: the token is checked against the set, and fails.
  std::string header = fmt::format(R"({{"alg":"RS256","jwk":{}}})", rsa_jwk(keys().other_rsa.get(), "x"));
  expect_refused(make_token(header, claims(), Sign::rs256, keys().other_rsa.get()),
                 "signature is invalid");
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1","crit":["exp"],"exp":1})", claims(),
                            Sign::rs256, keys().rsa1.get()),
                 "crit");
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1","typ":"dpop+jwt"})", claims(),
                            Sign::rs256, keys().rsa1.get()),
                 "typ is not accepted");
}

TEST_F(JwtTest, ExpiredWithSkew) {
  auto token = [&](int64_t exp) {
    return make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims("", exp), Sign::rs256,
                      keys().rsa1.get());
  };
  expect_refused(token(k_now - 61), "expired");
  EXPECT_TRUE(check(token(k_now - 59)).ok()) << "within the default 60 s skew";
  config.clock_skew_s = 0;
  expect_refused(token(k_now), "expired");
  EXPECT_TRUE(check(token(k_now + 1)).ok());
  // The clock is the injected one: the same token expires as time passes.
  auto later = token(k_now + 10);
  EXPECT_TRUE(check(later).ok());
  clock.advance_us(11'000'000);
  expect_refused(later, "expired");
  // exp is required and must be a number.
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})",
                            fmt::format(R"({{"iss":"{}","aud":"{}","sub":"a"}})", k_issuer, k_audience),
                            Sign::rs256, keys().rsa1.get()),
                 "no exp");
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})",
                            fmt::format(R"({{"iss":"{}","aud":"{}","sub":"a","exp":"{}"}})", k_issuer,
                                        k_audience, k_now + 100),
                            Sign::rs256, keys().rsa1.get()),
                 "exp claim is not a valid NumericDate");
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})",
                            fmt::format(R"({{"iss":"{}","aud":"{}","sub":"a","exp":1e300}})",
                                        k_issuer, k_audience),
                            Sign::rs256, keys().rsa1.get()),
                 "exp claim is not a valid NumericDate");
  // A fractional NumericDate is fine.
  EXPECT_TRUE(check(make_token(R"({"alg":"RS256","kid":"rsa-1"})",
                               fmt::format(R"({{"iss":"{}","aud":"{}","sub":"a","exp":{}.5}})",
                                           k_issuer, k_audience, k_now + 100),
                               Sign::rs256, keys().rsa1.get()))
                  .ok());
}

TEST_F(JwtTest, NotYetValidWithSkew) {
  auto with = [&](const std::string& extra) {
    return make_token(R"({"alg":"ES256","kid":"ec-1"})",
                      fmt::format(R"({{"iss":"{}","aud":"{}","sub":"a","exp":{}{}}})", k_issuer,
                                  k_audience, k_now + 3600, extra),
                      Sign::es256, keys().ec1.get());
  };
  expect_refused(with(fmt::format(R"(,"nbf":{})", k_now + 120)), "not valid yet");
  EXPECT_TRUE(check(with(fmt::format(R"(,"nbf":{})", k_now + 30))).ok()) << "within the skew";
  expect_refused(with(fmt::format(R"(,"iat":{})", k_now + 120)), "issued in the future");
  EXPECT_TRUE(check(with(fmt::format(R"(,"iat":{})", k_now + 30))).ok());
  config.clock_skew_s = 10;
  expect_refused(with(fmt::format(R"(,"nbf":{})", k_now + 30)), "not valid yet");
  clock.advance_us(25'000'000);
  EXPECT_TRUE(check(with(fmt::format(R"(,"nbf":{})", k_now + 30))).ok());
}

TEST_F(JwtTest, IssuerMustMatchExactly) {
  for (const char* iss : {"https://idp.example.com", "https://evil.example/", "HTTPS://idp.example.com/",
                          "https://idp.example.com/ "}) {
    expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})",
                              fmt::format(R"({{"iss":"{}","aud":"{}","sub":"a","exp":{}}})", iss,
                                          k_audience, k_now + 100),
                              Sign::rs256, keys().rsa1.get()),
                   "iss claim does not match");
  }
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})",
                            fmt::format(R"({{"aud":"{}","sub":"a","exp":{}}})", k_audience, k_now + 100),
                            Sign::rs256, keys().rsa1.get()),
                 "no iss");
}

TEST_F(JwtTest, AudienceStringOrArray) {
  auto with_aud = [&](const std::string& aud_member) {
    return make_token(R"({"alg":"RS256","kid":"rsa-1"})",
                      fmt::format(R"({{"iss":"{}",{}"sub":"a","exp":{}}})", k_issuer, aud_member,
                                  k_now + 100),
                      Sign::rs256, keys().rsa1.get());
  };
  expect_refused(with_aud(""), "no aud");
  expect_refused(with_aud(R"("aud":"https://other.example/mcp",)"), "does not contain");
  auto ok = check(with_aud(fmt::format(R"("aud":["https://other.example","{}"],)", k_audience)));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->audience.size(), 2u);
  expect_refused(with_aud(R"("aud":["https://other.example"],)"), "does not contain");
  expect_refused(with_aud(R"("aud":[],)"), "neither a string nor an array");
  expect_refused(with_aud(fmt::format(R"("aud":["{}",7],)", k_audience)), "neither a string nor an array");
  expect_refused(with_aud(R"("aud":{"x":1},)"), "neither a string nor an array");
}

TEST_F(JwtTest, SubjectRequiredAndConfigurable) {
  auto no_sub = make_token(R"({"alg":"RS256","kid":"rsa-1"})",
                           fmt::format(R"({{"iss":"{}","aud":"{}","exp":{}}})", k_issuer, k_audience,
                                       k_now + 100),
                           Sign::rs256, keys().rsa1.get());
  expect_refused(no_sub, "no sub");
  config.require_sub = false;
  EXPECT_TRUE(check(no_sub).ok());
  config.subject = "ci-bot";
  expect_refused(no_sub, "no sub");
  auto good = make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(), Sign::rs256, keys().rsa1.get());
  EXPECT_TRUE(check(good).ok());
  config.subject = "deploy-bot";
  expect_refused(good, "sub claim does not match");
  config.subject.clear();
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(R"(,"client_id":5)"),
                            Sign::rs256, keys().rsa1.get()),
                 "client_id claim is not a string");
}

TEST_F(JwtTest, DuplicateKeysAreRefused) {
  // In the payload: a second sub, also when spelled with an escape.
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(R"(,"sub":"root")"),
                            Sign::rs256, keys().rsa1.get()),
                 "payload has a duplicate key");
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(R"(,"\u0073ub":"root")"),
                            Sign::rs256, keys().rsa1.get()),
                 "payload has a duplicate key");
  // Nested too.
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(R"(,"ext":{"a":1,"a":2})"),
                            Sign::rs256, keys().rsa1.get()),
                 "payload has a duplicate key");
  // In the header: a second alg.
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1","alg":"none"})", claims(), Sign::rs256,
                            keys().rsa1.get()),
                 "header has a duplicate key");
}

TEST_F(JwtTest, MalformedJsonIsRefused) {
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})", R"({"iss":)", Sign::rs256,
                            keys().rsa1.get()),
                 "payload is not valid JSON");
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})", "[1,2]", Sign::rs256,
                            keys().rsa1.get()),
                 "payload is not a JSON object");
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(",\"x\":\"\xff\""),
                            Sign::rs256, keys().rsa1.get()),
                 "payload is not valid JSON");
  std::string deep = claims(",\"x\":" + std::string(100, '[') + std::string(100, ']'));
  expect_refused(make_token(R"({"alg":"RS256","kid":"rsa-1"})", deep, Sign::rs256,
                            keys().rsa1.get()),
                 "nested too deeply");
  expect_refused(make_token("RS256", claims(), Sign::rs256, keys().rsa1.get()),
                 "header is not valid JSON");
}

TEST_F(JwtTest, OversizeTokensAreRefused) {
  auto big = make_token(R"({"alg":"RS256","kid":"rsa-1"})",
                        claims(",\"pad\":\"" + std::string(8000, 'x') + "\""), Sign::rs256,
                        keys().rsa1.get());
  ASSERT_GT(big.size(), 8192u);
  expect_refused(big, "larger than 8192 bytes");
  config.max_token_bytes = 16384;
  EXPECT_TRUE(check(big).ok());
  config.max_token_bytes = 1u << 30;
  expect_refused(big, "settings are invalid");
}

TEST_F(JwtTest, MalformedCompactSerializationIsRefused) {
  auto good = make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(), Sign::rs256, keys().rsa1.get());
  ASSERT_TRUE(check(good).ok());
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  std::string h = good.substr(0, d1), p = good.substr(d1 + 1, d2 - d1 - 1), s = good.substr(d2 + 1);
  expect_refused("", "empty");
  expect_refused(h + "." + p, "not a compact JWS");
  expect_refused(h + "." + p + "." + s + ".", "not a compact JWS");
  expect_refused(h + "." + p + "." + s + "." + s, "not a compact JWS");
  expect_refused("." + p + "." + s, "header is not base64url");
  expect_refused(h + "=." + p + "." + s, "header is not base64url");
  expect_refused(h + "." + p + "." + s + "==", "signature is not base64url");
  expect_refused(h + "." + p + "." + s.substr(0, 10) + "+" + s.substr(11), "signature is not base64url");
  expect_refused(h + "." + p + "." + s.substr(0, 10) + "/" + s.substr(11), "signature is not base64url");
  expect_refused(h + "." + p + " ." + s, "payload is not base64url");
  expect_refused(h + ".." + s, "payload is empty");
  expect_refused(h + "." + p + ".", "no signature");
  // A 4k+1 length and non-zero leftover bits (an alternative spelling of the same bytes).
  expect_refused(h + "." + p + "A." + s, "payload is not base64url");
  ASSERT_EQ(s.size() % 4, 2u);  // 256 bytes -> 342 characters, 4 leftover bits
  std::string alt = s;
  alt.back() = static_cast<char>(alt.back() + 1);
  expect_refused(h + "." + p + "." + alt, "signature is not base64url");
}

TEST_F(JwtTest, BearerErrorParamsAreQuotedSafely) {
  auto r = check("a.b.c");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(bearer_error_params(r.error()).rfind(R"(error="invalid_token", error_description=")", 0), 0u);
  EXPECT_EQ(bearer_error_params(Error{k_invalid_token, "bad \"x\"\r\n\\"}),
            R"(error="invalid_token", error_description="bad  x    ")");
}

TEST_F(JwtTest, ConfigIsChecked) {
  EXPECT_TRUE(check_config(config).ok());
  JwtConfig c = config;
  c.issuer.clear();
  EXPECT_FALSE(check_config(c).ok());
  c = config;
  c.audience.clear();
  EXPECT_FALSE(check_config(c).ok());
  c = config;
  c.clock_skew_s = -1;
  EXPECT_FALSE(check_config(c).ok());
  auto token = make_token(R"({"alg":"RS256","kid":"rsa-1"})", claims(), Sign::rs256, keys().rsa1.get());
  config.issuer.clear();
  expect_refused(token, "settings are invalid");
}

TEST(JwtShape, LooksLikeJwt) {
  EXPECT_TRUE(looks_like_jwt("eyJh.eyJi.c2ln"));
  EXPECT_TRUE(looks_like_jwt("a-_b.c.d"));
  EXPECT_FALSE(looks_like_jwt("eyJh.eyJi."));
  EXPECT_FALSE(looks_like_jwt("eyJh..c2ln"));
  EXPECT_FALSE(looks_like_jwt("wk_live_0123456789abcdef"));
  EXPECT_FALSE(looks_like_jwt("a.b.c.d"));
  EXPECT_FALSE(looks_like_jwt("a.b=.c"));
  EXPECT_FALSE(looks_like_jwt(""));
}

TEST(Base64url, RoundTripAndStrictness) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                        std::string("\xff\xfe\x00\x01", 4)}) {
    auto enc = base64url_encode(s);
    EXPECT_EQ(enc.find('='), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, s);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(*base64url_decode("Zm9vYmFy"), "foobar");
  EXPECT_FALSE(base64url_decode("Zm9vYg==").has_value());  // padding
  EXPECT_FALSE(base64url_decode("Zm9vY").has_value());     // 4k+1
  EXPECT_FALSE(base64url_decode("Zm9vYh").has_value());    // non-zero leftover bits
  EXPECT_FALSE(base64url_decode("+/8").has_value());       // base64, not base64url
  EXPECT_FALSE(base64url_decode("Zm9v YmFy").has_value());
}

// JWKS loading.

Result<Jwks> parse_keys(const std::string& members) {
  return Jwks::parse("{\"keys\":[" + members + "]}", "jwks.json");
}

void expect_bad_set(const std::string& json, const std::string& what) {
  auto r = Jwks::parse(json, "jwks.json");
  ASSERT_FALSE(r.ok()) << "accepted, expected: " << what;
  EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.rfind("jwks.json: ", 0), 0u) << r.error().message;
}

TEST(Jwks, LoadsRsaAndEcKeysAndSkipsOthers) {
  const auto& k = keys();
  std::vector<std::string> members = {
      rsa_jwk(k.rsa1.get(), "rsa-1"),
      ec_jwk(k.ec1.get(), "ec-1"),
      rsa_jwk(k.rsa2.get(), "enc-1", R"(,"x5t":"abc")", "RS256", "enc"),
      R"({"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
      R"({"kty":"oct","kid":"hmac","k":"c2VjcmV0"})",
      R"({"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"})",
      rsa_jwk(k.rsa2.get(), "rs384", "", "RS384"),
      ec_jwk(k.other_ec.get(), "ops", R"(,"key_ops":["encrypt"])"),
      // no kid, no alg, no use: accepted
      R"({"kty":"RSA","n":")" + base64url_encode(bn_param(k.rsa2.get(), OSSL_PKEY_PARAM_RSA_N)) +
          R"(","e":"AQAB"})",
  };
  std::string joined;
  for (const auto& m : members) joined += (joined.empty() ? "" : ",") + m;
  auto r = parse_keys(joined);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->keys().size(), 3u);
  EXPECT_EQ(r->keys()[0].type, KeyType::rsa);
  EXPECT_EQ(r->keys()[1].type, KeyType::ec_p256);
  EXPECT_EQ(r->keys()[2].kid, "");
  EXPECT_NE(r->find("ec-1"), nullptr);
  EXPECT_EQ(r->find("enc-1"), nullptr);
  EXPECT_EQ(r->find("nope"), nullptr);
  ASSERT_EQ(r->skipped().size(), 6u);
  EXPECT_NE(r->skipped()[0].find("'use' is \"enc\""), std::string::npos) << r->skipped()[0];
  EXPECT_NE(r->skipped()[1].find("key type \"OKP\""), std::string::npos) << r->skipped()[1];
  EXPECT_NE(r->skipped()[3].find("P-384"), std::string::npos) << r->skipped()[3];
  EXPECT_NE(r->skipped()[4].find("RS384"), std::string::npos) << r->skipped()[4];
  EXPECT_NE(r->skipped()[5].find("key_ops"), std::string::npos) << r->skipped()[5];
}

TEST(Jwks, MalformedSetsAreRefusedWithTheKeyNamed) {
  const auto& k = keys();
  std::string rsa = rsa_jwk(k.rsa1.get(), "rsa-1");
  std::string ec = ec_jwk(k.ec1.get(), "ec-1");
  expect_bad_set("", "not valid JSON");
  expect_bad_set("{\"keys\":[", "not valid JSON");
  expect_bad_set("[]", "\"keys\" array");
  expect_bad_set("{\"keys\":{}}", "\"keys\" array");
  expect_bad_set("{\"keys\":[]}", "no RS256 or ES256 signing key (the set is empty)");
  expect_bad_set(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})", "no RS256 or ES256 signing key (1 key(s) skipped)");
  expect_bad_set("{\"keys\":[" + rsa + "],\"keys\":[]}", "duplicate key \"keys\"");
  expect_bad_set("{\"keys\":[1]}", "key 0: is not a JSON object");
  expect_bad_set("{\"keys\":[" + ec + ",{\"n\":\"AQAB\"}]}", "key 1: 'kty' is missing");
  // The bad key is named by index and kid.
  std::string bad_n = rsa;
  bad_n.insert(bad_n.find("\"n\":\"") + 5, "!");
  expect_bad_set("{\"keys\":[" + ec + "," + bad_n + "]}", "key 1 (kid \"rsa-1\"): 'n' is not base64url");
  std::string no_e = rsa.substr(0, rsa.find(",\"e\":")) + "}";
  expect_bad_set("{\"keys\":[" + no_e + "]}", "'e' is missing");
  std::string y_off = ec;
  size_t ypos = y_off.find("\"y\":\"") + 5;
  y_off[ypos + 3] = y_off[ypos + 3] == 'A' ? 'B' : 'A';
  expect_bad_set("{\"keys\":[" + y_off + "]}", "not a point on the P-256 curve");
  std::string short_x = ec_jwk(k.ec1.get(), "ec-1");
  size_t xpos = short_x.find("\"x\":\"") + 5;
  short_x.erase(xpos, 4);
  expect_bad_set("{\"keys\":[" + short_x + "]}", "must be 32 bytes");
  expect_bad_set("{\"keys\":[" + ec_jwk(k.ec1.get(), "ec-1", R"(,"d":"AAAA")") + "]}",
                 "private key material ('d')");
  expect_bad_set("{\"keys\":[" + rsa + "," + rsa_jwk(k.rsa2.get(), "rsa-1") + "]}",
                 "key 1 (kid \"rsa-1\"): the kid is used by an earlier key too");
  std::string rsa_es = rsa;
  rsa_es.replace(rsa_es.find("RS256"), 5, "ES256");
  expect_bad_set("{\"keys\":[" + rsa_es + "]}", "does not match 'kty'");
  std::string rsa_hs = rsa;
  rsa_hs.replace(rsa_hs.find("RS256"), 5, "HS256");
  expect_bad_set("{\"keys\":[" + rsa_hs + "]}", "not a public-key signature algorithm");
  expect_bad_set(R"({"keys":[{"kty":"EC","x":"AA","y":"AA"}]})", "'crv' is missing");
  expect_bad_set(R"({"keys":[{"kty":"RSA","kid":5,"n":"AA","e":"AQAB"}]})", "'kid' must be a string");
  // A 1024-bit RSA key is too weak.
  PkeyPtr small(EVP_RSA_gen(1024));
  expect_bad_set("{\"keys\":[" + rsa_jwk(small.get(), "small") + "]}", "1024 bits; at least 2048");
  std::string even_e = rsa;
  even_e.replace(even_e.find("\"e\":\"AQAB\""), 10, "\"e\":\"AQAC\"");
  expect_bad_set("{\"keys\":[" + even_e + "]}", "'e' is even");
  expect_bad_set(std::string(k_max_jwks_bytes + 1, ' '), "more than the limit");
}

TEST(Jwks, LoadFile) {
  auto path = std::filesystem::temp_directory_path() / ("warden-jwks-" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream out(path);
    out << keys().jwks_json;
  }
  auto r = Jwks::load_file(path.string());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->keys().size(), 3u);
  {
    std::ofstream out(path);
    out << R"({"keys":[{"kty":"RSA","n":"AA"}]})";
  }
  auto bad = Jwks::load_file(path.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind(path.string() + ": key 0", 0), 0u) << bad.error().message;
  std::filesystem::remove(path);
  auto missing = Jwks::load_file(path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace warden::gateway::auth
