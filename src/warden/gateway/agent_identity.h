// Which agent sent a request: the policy's `agents:` matched against the credentials the request
// presents (an API key or a JWT in `Authorization: Bearer`, a verified TLS client certificate).
//
// Every agent has exactly one identity kind (the loader checks it): api_key_sha256, jwt or mtls.
// All agents are tried against what the request carries; exactly one must match. None is a 401;
// two or more (say, a client certificate of one agent and the API key of another) is refused with
// 403, fail closed. Bearer credentials are only hashed or verified here: they are never stored,
// logged or passed on.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "warden/gateway/auth/jwks_fetch.h"
#include "warden/gateway/auth/jwt.h"
#include "warden/gateway/auth/mtls.h"
#include "warden/policy/policy.h"
#include "warden/util/clock.h"
#include "warden/util/result.h"

namespace warden::gateway {

// What a request showed, after the cryptography: the basis for choosing the agent.
struct Evidence {
  std::string api_key_sha256;  // hex SHA-256 of the bearer credential ("" without one)
  // The claims of the bearer JWT under each verifier (issuer, audience, JWKS) it passed.
  std::vector<std::pair<policy::JwtVerifierConfig, auth::JwtClaims>> tokens;
  const auth::PeerIdentity* peer = nullptr;  // the verified client certificate, if any
};

// The outcome: an agent, or the HTTP status (401 or 403) and why, with the RFC 6750 error
// parameters for WWW-Authenticate when a bearer token was refused.
struct Identified {
  const policy::AgentConfig* agent = nullptr;
  int status = 200;
  std::string message;
  std::string bearer_params;  // `error="invalid_token", error_description="..."` or ""
};

// Whether a selector matches (every field it sets).
bool jwt_selects(const policy::AgentJwt& selector, const policy::JwtVerifierConfig& verified_by,
                 const auth::JwtClaims& claims);
bool mtls_selects(const policy::AgentMtls& selector, const auth::PeerIdentity& peer);

// The one agent the evidence selects (no cryptography here; see AgentDirectory::identify).
Identified choose_agent(const std::vector<policy::AgentConfig>& agents, const Evidence& evidence);

// The agents of one policy with their JWT verifiers (each JWKS file loaded once; each JWKS URL
// fetched by one auth::RemoteJwks, shared with the directory a reload replaces). Immutable but
// for the key sets those fetchers swap in from their own threads; shared by the I/O thread's
// requests, rebuilt on reload.
class AgentDirectory {
public:
  // Loads the JWKS files and makes the first fetch of each JWKS URL the agents' jwt: entries name
  // (blocking for at most the fetch timeout; errors name the file or URL and the agent). A URL a
  // live directory already fetches reuses its fetcher and current set, without a fetch.
  static Result<std::shared_ptr<const AgentDirectory>> build(std::shared_ptr<const policy::Policy> policy);

  // `bearer`: the credential after "Bearer " ("" without one); `peer`: the verified client
  // certificate or nullptr. Never blocks: a JWT that no verifier accepts because its kid is not
  // in a fetched set signals that set's fetcher to refetch early (the request itself gets 401).
  Identified identify(std::string_view bearer, const auth::PeerIdentity* peer, const util::Clock& clock) const;

  bool empty() const { return m_policy->agents().empty(); }
  // The issuers of every verifier, for RFC 9728 `authorization_servers`.
  std::vector<std::string> issuers() const;

private:
  struct Verifier {
    policy::JwtVerifierConfig config;
    auth::JwtConfig jwt;
    std::shared_ptr<const auth::Jwks> jwks;     // a JWKS file's, or
    std::shared_ptr<auth::RemoteJwks> remote;   // a JWKS URL's fetcher
  };
  std::shared_ptr<const policy::Policy> m_policy;
  std::vector<Verifier> m_verifiers;
};

}  // namespace warden::gateway
