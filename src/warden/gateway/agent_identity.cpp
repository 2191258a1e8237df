#include "warden/gateway/agent_identity.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "warden/util/sha256.h"

namespace warden::gateway {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool jwt_selects(const policy::AgentJwt& selector, const policy::JwtVerifierConfig& verified_by,
                 const auth::JwtClaims& claims) {
  if (!(selector.verifier == verified_by)) return false;
  if (selector.subject.empty() && selector.client_id.empty()) return false;  // never "any token"
  if (!selector.subject.empty() && claims.subject != selector.subject) return false;
  if (!selector.client_id.empty() && claims.client_id != selector.client_id) return false;
  for (const auto& scope : selector.scopes)
    if (!contains(claims.scopes, scope)) return false;
  return true;
}

bool mtls_selects(const policy::AgentMtls& selector, const auth::PeerIdentity& peer) {
  bool any = false;
  auto check = [&](const std::string& want, auto&& matches) {
    if (want.empty()) return true;
    any = true;
    return matches();
  };
  return check(selector.subject, [&] { return peer.subject == selector.subject; }) &&
         check(selector.cn, [&] { return peer.common_name == selector.cn; }) &&
         check(selector.uri, [&] { return contains(peer.uris, selector.uri); }) &&
         check(selector.dns, [&] { return contains(peer.dns_names, selector.dns); }) &&
         check(selector.email, [&] { return contains(peer.emails, selector.email); }) &&
         check(selector.fingerprint_sha256, [&] { return auth::fingerprint_matches(peer, selector.fingerprint_sha256); }) &&
         any;
}

Identified choose_agent(const std::vector<policy::AgentConfig>& agents, const Evidence& evidence) {
  std::vector<const policy::AgentConfig*> matched;
  for (const auto& a : agents) {
    bool hit = false;
    if (!a.api_key_sha256.empty()) {
      // Constant time over the digest: the comparison leaks nothing about the stored hash.
      const std::string& d = evidence.api_key_sha256;
      hit = d.size() == a.api_key_sha256.size() && CRYPTO_memcmp(d.data(), a.api_key_sha256.data(), d.size()) == 0;
    } else if (a.jwt) {
      for (const auto& [verifier, claims] : evidence.tokens) hit = hit || jwt_selects(*a.jwt, verifier, claims);
    } else if (a.mtls && evidence.peer) {
      hit = mtls_selects(*a.mtls, *evidence.peer);
    }
    if (hit) matched.push_back(&a);
  }
  Identified out;
  if (matched.size() == 1) {
    out.agent = matched[0];
    return out;
  }
  if (matched.empty()) {
    out.status = 401;
    if (!evidence.tokens.empty())
      out.message = "the bearer token is valid but no agent of this gateway is configured for its subject";
    else if (evidence.peer && evidence.api_key_sha256.empty())
      out.message = "the client certificate is not mapped to an agent; present an agent's credential";
    else
      out.message = "this gateway needs an agent credential: Authorization: Bearer <API key or JWT>";
    return out;
  }
  std::string names;
  for (const auto* a : matched) names += (names.empty() ? "" : ", ") + a->name;
  out.status = 403;
  out.message = fmt::format("the credentials presented match several agents ({}); present only one agent's", names);
  return out;
}

Result<std::shared_ptr<const AgentDirectory>> AgentDirectory::build(std::shared_ptr<const policy::Policy> policy) {
  auto dir = std::make_shared<AgentDirectory>();
  std::map<std::string, std::shared_ptr<const auth::Jwks>> by_file;
  for (const auto& a : policy->agents()) {
    if (!a.jwt) continue;
    const policy::JwtVerifierConfig& c = a.jwt->verifier;
    if (std::any_of(dir->m_verifiers.begin(), dir->m_verifiers.end(), [&](const Verifier& v) { return v.config == c; }))
      continue;
    Verifier v;
    v.config = c;
    v.jwt.issuer = c.issuer;
    v.jwt.audience = c.audience;
    v.jwt.clock_skew_s = c.clock_skew_s;
    v.jwt.max_token_bytes = c.max_token_bytes;
    if (auto st = auth::check_config(v.jwt); !st.ok())
      return Error{2, fmt::format("agents.{}.jwt: {}", a.name, st.error().message)};
    if (auth::is_jwks_url(c.jwks)) {
      auth::JwksFetchOptions options;
      options.url = c.jwks;
      options.ca_file = c.jwks_ca;
      options.refresh = std::chrono::seconds(c.jwks_refresh_s);
      auto remote = auth::RemoteJwks::shared(std::move(options));
      if (!remote) return Error{2, fmt::format("agents.{}.jwt.jwks: {}", a.name, remote.error().message)};
      v.remote = std::move(*remote);
      dir->m_verifiers.push_back(std::move(v));
      continue;
    }
    auto& jwks = by_file[c.jwks];
    if (!jwks) {
      auto loaded = auth::Jwks::load_file(c.jwks);
      if (!loaded) return Error{2, fmt::format("agents.{}.jwt.jwks: {}", a.name, loaded.error().message)};
      if (loaded->keys().empty())
        return Error{2, fmt::format("agents.{}.jwt.jwks: {} holds no RS256 or ES256 signing key", a.name, c.jwks)};
      jwks = std::make_shared<const auth::Jwks>(std::move(*loaded));
    }
    v.jwks = jwks;
    dir->m_verifiers.push_back(std::move(v));
  }
  dir->m_policy = std::move(policy);
  return std::shared_ptr<const AgentDirectory>(std::move(dir));
}

Identified AgentDirectory::identify(std::string_view bearer, const auth::PeerIdentity* peer,
                                    const util::Clock& clock) const {
  Evidence ev;
  ev.peer = peer;
  std::optional<Error> refused;
  if (!bearer.empty()) {
    ev.api_key_sha256 = util::sha256_hex(bearer);
    if (!m_verifiers.empty() && auth::looks_like_jwt(bearer)) {
      std::vector<auth::RemoteJwks*> stale;  // fetched sets that lacked the token's kid
      for (const auto& v : m_verifiers) {
        std::shared_ptr<const auth::Jwks> keys = v.remote ? v.remote->current() : v.jwks;
        auto claims = auth::validate_jwt(bearer, v.jwt, *keys, clock);
        if (claims) ev.tokens.emplace_back(v.config, std::move(*claims));
        else if (!refused) refused = claims.error();
        if (!claims && claims.error().code == auth::k_unknown_kid && v.remote) stale.push_back(v.remote.get());
      }
      // Perhaps the identity provider rotated its keys: refetch (rate limited, in the background).
      // Not when another verifier took the token: its kid was never meant for these sets.
      if (ev.tokens.empty())
        for (auto* r : stale) r->request_refetch();
    }
  }
  Identified out = choose_agent(m_policy->agents(), ev);
  if (out.status == 401 && refused && ev.tokens.empty()) {
    out.message = "the bearer token was refused: " + refused->message;
    out.bearer_params = auth::bearer_error_params(*refused);
  } else if (out.status == 401 && !ev.tokens.empty()) {
    out.bearer_params = R"(error="invalid_token", error_description="the token names no agent of this gateway")";
  }
  return out;
}

std::vector<std::string> AgentDirectory::issuers() const {
  std::vector<std::string> out;
  for (const auto& v : m_verifiers)
    if (!contains(out, v.config.issuer)) out.push_back(v.config.issuer);
  return out;
}

}  // namespace warden::gateway
