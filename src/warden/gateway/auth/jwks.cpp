#include "warden/gateway/auth/jwks.h"

#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <simdjson.h>

#include "warden/codec/duplicate_keys.h"
#include "warden/gateway/auth/base64url.h"

namespace warden::gateway::auth {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

const char* alg_of(KeyType type) { return type == KeyType::rsa ? "RS256" : "ES256"; }

namespace {

constexpr size_t k_max_depth = 16;
constexpr size_t k_min_rsa_bits = 2048;
constexpr size_t k_max_rsa_bits = 8192;

// What happened to one key: loaded, skipped (with why), or refused (with what is wrong).
struct KeyOutcome {
  enum class Kind { loaded, skipped, refused } kind = Kind::refused;
  std::string why;
  Jwk jwk;
};

KeyOutcome refused(std::string why) { return {KeyOutcome::Kind::refused, std::move(why), {}}; }
KeyOutcome skipped(std::string why) { return {KeyOutcome::Kind::skipped, std::move(why), {}}; }

// A member that must be a string when present. Sets `bad` if it is present but not a string.
std::optional<std::string_view> string_member(object obj, std::string_view name, bool& bad) {
  element v;
  if (obj[name].get(v) != simdjson::SUCCESS) return std::nullopt;
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) {
    bad = true;
    return std::nullopt;
  }
  return s;
}

// A required base64url member, decoded.
Result<std::string> b64_member(object obj, std::string_view name) {
  bool bad = false;
  auto s = string_member(obj, name, bad);
  if (bad) return Error{0, fmt::format("'{}' must be a string", name)};
  if (!s) return Error{0, fmt::format("'{}' is missing", name)};
  auto bytes = base64url_decode(*s);
  if (!bytes) return Error{0, fmt::format("'{}' is not base64url (RFC 7515, no padding)", name)};
  if (bytes->empty()) return Error{0, fmt::format("'{}' is empty", name)};
  return std::move(*bytes);
}

bool public_check(EVP_PKEY* key) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

PkeyPtr from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
  return PkeyPtr(raw);
}

Result<PkeyPtr> rsa_key(object obj) {
  auto n = b64_member(obj, "n");
  if (!n) return n.error();
  auto e = b64_member(obj, "e");
  if (!e) return e.error();
  // RFC 7518 6.3.1.1 forbids leading zero octets; some producers add one anyway. Ignore them.
  size_t nz = n->find_first_not_of('\0');
  if (nz == std::string::npos) return Error{0, "'n' is zero"};
  std::string_view n_bytes = std::string_view(*n).substr(nz);
  size_t bits = n_bytes.size() * 8;
  for (unsigned char top = static_cast<unsigned char>(n_bytes[0]); top < 0x80; top <<= 1) --bits;
  if (bits < k_min_rsa_bits)
    return Error{0, fmt::format("RSA modulus is {} bits; at least {} are required", bits,
                                k_min_rsa_bits)};
  if (bits > k_max_rsa_bits)
    return Error{0, fmt::format("RSA modulus is {} bits; at most {} are accepted", bits,
                                k_max_rsa_bits)};
  if (e->size() > 8) return Error{0, "RSA exponent 'e' is longer than 8 bytes"};
  auto last = static_cast<unsigned char>(e->back());
  if ((last & 1) == 0) return Error{0, "RSA exponent 'e' is even"};

  auto to_bn = [](std::string_view b) {
    return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(b.data()),
                           static_cast<int>(b.size()), nullptr));
  };
  BnPtr bn_n = to_bn(n_bytes), bn_e = to_bn(*e);
  if (!bn_n || !bn_e) return Error{0, "out of memory building the RSA key"};
  if (BN_is_one(bn_e.get())) return Error{0, "RSA exponent 'e' is 1"};
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return Error{0, "out of memory building the RSA key"};
  PkeyPtr key = from_params("RSA", bld.get());
  if (!key || !public_check(key.get())) return Error{0, "OpenSSL refused the RSA public key"};
  return key;
}

Result<PkeyPtr> ec_p256_key(object obj) {
  auto x = b64_member(obj, "x");
  if (!x) return x.error();
  auto y = b64_member(obj, "y");
  if (!y) return y.error();
  if (x->size() != 32 || y->size() != 32)
    return Error{0, fmt::format("P-256 coordinates must be 32 bytes each ('x' is {}, 'y' is {})",
                                x->size(), y->size())};
  std::string point = "\x04" + *x + *y;  // uncompressed SEC1 point
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1)
    return Error{0, "out of memory building the EC key"};
  PkeyPtr key = from_params("EC", bld.get());
  if (!key || !public_check(key.get()))
    return Error{0, "'x'/'y' is not a point on the P-256 curve"};
  return key;
}

KeyOutcome read_key(element el) {
  object obj;
  if (el.get_object().get(obj) != simdjson::SUCCESS) return refused("is not a JSON object");
  bool bad = false;
  auto kty = string_member(obj, "kty", bad);
  if (bad) return refused("'kty' must be a string");
  if (!kty) return refused("'kty' is missing");
  auto kid = string_member(obj, "kid", bad);
  if (bad) return refused("'kid' must be a string");
  auto use = string_member(obj, "use", bad);
  if (bad) return refused("'use' must be a string");
  auto alg = string_member(obj, "alg", bad);
  if (bad) return refused("'alg' must be a string");

  std::optional<KeyType> type;
  if (*kty == "RSA") {
    type = KeyType::rsa;
  } else if (*kty == "EC") {
    auto crv = string_member(obj, "crv", bad);
    if (bad) return refused("'crv' must be a string");
    if (!crv) return refused("'crv' is missing (EC keys need one, e.g. \"P-256\")");
    if (*crv != "P-256") return skipped(fmt::format("EC curve \"{}\" is not supported", *crv));
    type = KeyType::ec_p256;
  } else {
    return skipped(fmt::format("key type \"{}\" is not used (RSA and EC P-256 only)", *kty));
  }

  if (alg) {
    bool rsa_alg = alg->size() == 5 && (alg->substr(0, 2) == "RS" || alg->substr(0, 2) == "PS");
    bool ec_alg = alg->size() == 5 && alg->substr(0, 2) == "ES";
    if (*alg == "none" || alg->substr(0, 2) == "HS")
      return refused(fmt::format("'alg' \"{}\" is not a public-key signature algorithm", *alg));
    if ((*type == KeyType::rsa && ec_alg) || (*type == KeyType::ec_p256 && rsa_alg))
      return refused(fmt::format("'alg' \"{}\" does not match 'kty' \"{}\"", *alg, *kty));
    if (*alg != alg_of(*type))
      return skipped(fmt::format("alg \"{}\" is not accepted (RS256 and ES256 only)", *alg));
  }
  if (use && *use != "sig") return skipped(fmt::format("'use' is \"{}\", not \"sig\"", *use));
  element ops;
  if (obj["key_ops"].get(ops) == simdjson::SUCCESS) {
    simdjson::dom::array arr;
    if (ops.get_array().get(arr) != simdjson::SUCCESS) return refused("'key_ops' must be an array");
    bool verify = false;
    for (element op : arr) {
      std::string_view s;
      if (op.get_string().get(s) != simdjson::SUCCESS)
        return refused("'key_ops' must hold strings");
      verify = verify || s == "verify";
    }
    if (!verify) return skipped("'key_ops' does not include \"verify\"");
  }
  for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "k"}) {
    element v;
    if (obj[priv].get(v) == simdjson::SUCCESS)
      return refused(fmt::format("holds private key material ('{}'): publish only the public key",
                                 priv));
  }

  auto key = *type == KeyType::rsa ? rsa_key(obj) : ec_p256_key(obj);
  if (!key) return refused(key.error().message);
  KeyOutcome out{KeyOutcome::Kind::loaded, {}, {}};
  out.jwk.kid = kid ? std::string(*kid) : std::string();
  out.jwk.type = *type;
  out.jwk.key = std::move(*key);
  return out;
}

}  // namespace

Result<Jwks> Jwks::parse(std::string_view json, std::string_view source) {
  if (json.size() > k_max_jwks_bytes)
    return Error{0, fmt::format("{}: {} bytes, more than the limit of {}", source, json.size(),
                                k_max_jwks_bytes)};
  simdjson::dom::parser parser;
  if (parser.allocate(json.size() + 64, k_max_depth) != simdjson::SUCCESS)
    return Error{0, fmt::format("{}: out of memory", source)};
  element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err != simdjson::SUCCESS)
    return Error{0, fmt::format("{}: not valid JSON ({})", source, simdjson::error_message(err))};
  std::string dup;
  if (codec::find_duplicate_key(root, dup))
    return Error{0, fmt::format("{}: duplicate key \"{}\" (refused: readers could disagree)",
                                source, dup)};
  object top;
  if (root.get_object().get(top) != simdjson::SUCCESS)
    return Error{0, fmt::format("{}: must be a JSON object with a \"keys\" array", source)};
  simdjson::dom::array arr;
  if (top["keys"].get_array().get(arr) != simdjson::SUCCESS)
    return Error{0, fmt::format("{}: must be a JSON object with a \"keys\" array", source)};
  if (arr.size() > k_max_jwks_keys)
    return Error{0, fmt::format("{}: {} keys, more than the limit of {}", source, arr.size(),
                                k_max_jwks_keys)};

  Jwks out;
  size_t index = 0;
  for (element el : arr) {
    KeyOutcome k = read_key(el);
    std::string where = fmt::format("{}: key {}", source, index);
    object obj;
    std::string_view kid;
    if (el.get_object().get(obj) == simdjson::SUCCESS && obj["kid"].get_string().get(kid) == simdjson::SUCCESS)
      where += fmt::format(" (kid \"{}\")", kid);
    ++index;
    switch (k.kind) {
    case KeyOutcome::Kind::refused: return Error{0, fmt::format("{}: {}", where, k.why)};
    case KeyOutcome::Kind::skipped: out.m_skipped.push_back(fmt::format("{}: {}", where, k.why)); break;
    case KeyOutcome::Kind::loaded:
      if (!k.jwk.kid.empty() && out.find(k.jwk.kid) != nullptr)
        return Error{0, fmt::format("{}: the kid is used by an earlier key too", where)};
      out.m_keys.push_back(std::move(k.jwk));
      break;
    }
  }
  if (out.m_keys.empty()) {
    std::string why = out.m_skipped.empty() ? std::string("the set is empty")
                                            : fmt::format("{} key(s) skipped", out.m_skipped.size());
    return Error{0, fmt::format("{}: no RS256 or ES256 signing key ({})", source, why)};
  }
  return out;
}

Result<Jwks> Jwks::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{0, fmt::format("{}: cannot open the JWKS file", path)};
  std::string text;
  text.resize(k_max_jwks_bytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Error{0, fmt::format("{}: cannot read the JWKS file", path)};
  text.resize(static_cast<size_t>(in.gcount()));
  return parse(text, path);
}

const Jwk* Jwks::find(std::string_view kid) const {
  for (const auto& k : m_keys)
    if (k.kid == kid) return &k;
  return nullptr;
}

}  // namespace warden::gateway::auth
