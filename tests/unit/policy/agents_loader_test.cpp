// gateway.tls, gateway.auth.jwt and the agents' identities (api_key_sha256 | jwt | mtls): what the
// loader accepts, the defaults it fills in, and the errors a user sees.
#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace warden::policy {
namespace {

using testing::load_error;

const std::string k_head = "version: 1\nservers: {x: {}}\n";

std::shared_ptr<const Policy> load(const std::string& yaml) { return load_policy_string(yaml, "p.yaml"); }

TEST(PolicyAgents, TlsKeysAndTheSafeDefault) {
  auto p = load(k_head + "gateway:\n  tls: {cert: gw.pem, key: gw.key, client_ca: ca.pem}\n");
  ASSERT_TRUE(p->gateway() && p->gateway()->tls);
  const TlsConfig& t = *p->gateway()->tls;
  EXPECT_EQ(t.cert, "gw.pem");
  EXPECT_EQ(t.key, "gw.key");
  EXPECT_EQ(t.client_ca, "ca.pem");
  EXPECT_EQ(t.client_cert, ClientCertMode::required);  // a client CA without a word: certificates required
  p = load(k_head + "gateway:\n  tls: {cert: gw.pem, key: gw.key, client_ca: ca.pem, client_cert: optional}\n");
  EXPECT_EQ(p->gateway()->tls->client_cert, ClientCertMode::optional);
  EXPECT_FALSE(load(k_head + "gateway: {listen: 127.0.0.1:1}\n")->gateway()->tls);
}

TEST(PolicyAgents, TlsErrors) {
  EXPECT_EQ(load_error(k_head + "gateway:\n  tls: {cert: gw.pem}\n"),
            "p.yaml:4:8: error: gateway.tls needs both cert and key. Write it as tls: {cert: gateway.pem, "
            "key: gateway.key} (PEM files)");
  EXPECT_EQ(load_error(k_head + "gateway:\n  tls: {cert: a, key: b, client_cert: optional}\n"),
            "p.yaml:4:8: error: gateway.tls.client_cert is set but there is no client_ca. Add client_ca: "
            "the PEM CA bundle that signs the agents' certificates");
  EXPECT_EQ(load_error(k_head + "gateway:\n  tls: {cert: a, key: b, client_ca: c, client_cert: maybe}\n"),
            "p.yaml:4:53: error: bad value 'maybe' for gateway.tls.client_cert. Use one of: required, optional");
  EXPECT_EQ(load_error(k_head + "gateway:\n  tls: {cert: a, key: b, ca: c}\n"),
            "p.yaml:4:26: error: unknown key 'ca' in gateway.tls. Allowed keys: cert, key, client_ca, client_cert");
}

const std::string k_auth =
    "gateway:\n  auth:\n    jwt: {issuer: 'https://idp.example/', audience: gw, jwks: jwks.json, clock_skew: 2m}\n";

TEST(PolicyAgents, JwtAgentsInheritTheGatewaysVerifier) {
  auto p = load(k_head + k_auth +
                "agents:\n"
                "  ci: {jwt: {subject: ci-app, scopes: [mcp:tools, mcp:read]}, servers: [x]}\n"
                "  partner: {jwt: {issuer: 'https://p.example/', audience: p-gw, jwks: p.json, client_id: svc}, servers: [x]}\n");
  ASSERT_EQ(p->agents().size(), 2u);
  const AgentConfig& ci = p->agents()[0];
  ASSERT_TRUE(ci.jwt);
  EXPECT_TRUE(ci.api_key_sha256.empty());
  EXPECT_EQ(ci.jwt->verifier.issuer, "https://idp.example/");
  EXPECT_EQ(ci.jwt->verifier.audience, "gw");
  EXPECT_EQ(ci.jwt->verifier.jwks, "jwks.json");
  EXPECT_EQ(ci.jwt->verifier.clock_skew_s, 120);
  EXPECT_EQ(ci.jwt->verifier.max_token_bytes, 8192u);
  EXPECT_EQ(ci.jwt->subject, "ci-app");
  EXPECT_EQ(ci.jwt->scopes, (std::vector<std::string>{"mcp:tools", "mcp:read"}));
  const AgentConfig& partner = p->agents()[1];
  EXPECT_EQ(partner.jwt->verifier.issuer, "https://p.example/");
  EXPECT_EQ(partner.jwt->verifier.audience, "p-gw");
  EXPECT_EQ(partner.jwt->verifier.jwks, "p.json");
  EXPECT_EQ(partner.jwt->client_id, "svc");
  // No gateway.auth.jwt: the agent's own settings, with the default skew.
  p = load(k_head + "agents:\n  a: {jwt: {issuer: i, audience: a, jwks: j.json, subject: s}}\n");
  EXPECT_EQ(p->agents()[0].jwt->verifier.clock_skew_s, 60);
  for (const auto& line : p->not_enforced()) EXPECT_EQ(line.find("not yet enforced"), std::string::npos) << line;
}

TEST(PolicyAgents, JwtErrors) {
  EXPECT_EQ(load_error(k_head + k_auth + "agents:\n  ci: {jwt: {scopes: [mcp:tools]}}\n"),
            "p.yaml:7:3: error: agents.ci.jwt selects neither a subject nor a client_id. Add subject: (the "
            "token's sub) or client_id:; an issuer alone would let every token of that identity provider in");
  EXPECT_EQ(load_error(k_head + "agents:\n  ci: {jwt: {subject: s}}\n"),
            "p.yaml:4:3: error: agents.ci.jwt has no issuer (and gateway.auth.jwt gives none). Set "
            "gateway.auth.jwt: {issuer: URL, audience: URL, jwks: FILE}, or the agent's own\n"
            "p.yaml:4:3: error: agents.ci.jwt has no audience (and gateway.auth.jwt gives none). Set "
            "gateway.auth.jwt: {issuer: URL, audience: URL, jwks: FILE}, or the agent's own\n"
            "p.yaml:4:3: error: agents.ci.jwt has no jwks (and gateway.auth.jwt gives none). Set "
            "gateway.auth.jwt: {issuer: URL, audience: URL, jwks: FILE}, or the agent's own");
  EXPECT_EQ(load_error(k_head + k_auth + "agents:\n  ci: {jwt: {sub: s}}\n"),
            "p.yaml:7:14: error: unknown key 'sub' in agents.ci.jwt. Allowed keys: issuer, audience, jwks, "
            "jwks_refresh, jwks_ca, subject, client_id, scopes");
  EXPECT_EQ(load_error(k_head + "gateway: {auth: {jwt: {issuer: i, audience: a, jwks: 'http://idp/jwks'}}}\n"),
            "p.yaml:3:54: error: gateway.auth.jwt.jwks: a JWKS URL must use https:// (plain http:// is allowed "
            "only to 127.0.0.1, ::1 or localhost): a key set fetched in clear text could be replaced on the way. "
            "Write it as https://idp.example.com/.well-known/jwks.json (add jwks_ca: FILE for a private CA)");
  EXPECT_EQ(load_error(k_head + "gateway: {auth: {jwt: {issuer: i, audience: a}}}\n"),
            "p.yaml:3:18: error: gateway.auth.jwt needs issuer, audience and jwks. Write it as jwt: {issuer: "
            "https://idp.example.com/, audience: https://gw.example.com/mcp, jwks: jwks.json}");
  EXPECT_EQ(load_error(k_head + "gateway: {auth: {jwt: {issuer: i, audience: a, jwks: j, clock_skew: 2h}}}\n"),
            "p.yaml:3:69: error: gateway.auth.jwt.clock_skew must be a duration from 0 to 3600s, got '2h'. "
            "Write it as 60s, 5m or 1h");
  EXPECT_EQ(load_error(k_head + "gateway: {auth: {oauth: {}}}\n"),
            "p.yaml:3:18: error: unknown key 'oauth' in gateway.auth. Allowed keys: jwt");
}

TEST(PolicyAgents, MtlsAgents) {
  const std::string tls = "gateway:\n  tls: {cert: a, key: b, client_ca: c}\n";
  auto p = load(k_head + tls +
                "agents:\n  deploy: {mtls: {cn: deploy-bot, uri: 'spiffe://example.org/deploy', "
                "fingerprint_sha256: 'AB:" + std::string(62, 'C') + "'}, servers: [x]}\n");
  ASSERT_TRUE(p->agents()[0].mtls);
  const AgentMtls& m = *p->agents()[0].mtls;
  EXPECT_EQ(m.cn, "deploy-bot");
  EXPECT_EQ(m.uri, "spiffe://example.org/deploy");
  EXPECT_EQ(m.fingerprint_sha256, "ab" + std::string(62, 'c'));
  EXPECT_EQ(load_error(k_head + "agents:\n  d: {mtls: {cn: d}}\n"),
            "p.yaml:4:3: error: agents.d.mtls needs client certificates, but gateway.tls.client_ca is not set. "
            "Add gateway.tls: {cert: ..., key: ..., client_ca: agents-ca.pem}");
  EXPECT_EQ(load_error(k_head + tls + "agents:\n  d: {mtls: {}}\n"),
            "p.yaml:6:13: error: agents.d.mtls selects no certificate. Give at least one of subject, cn, uri, "
            "dns, email, fingerprint_sha256");
  EXPECT_EQ(load_error(k_head + tls + "agents:\n  d: {mtls: {fingerprint_sha256: abc}}\n"),
            "p.yaml:6:34: error: agents.d.mtls.fingerprint_sha256 must be a SHA-256 fingerprint (64 hex "
            "digits, colons allowed). Write the output of: openssl x509 -in agent.pem -noout -fingerprint -sha256");
  EXPECT_EQ(load_error(k_head + tls + "agents:\n  d: {mtls: {common_name: d}}\n"),
            "p.yaml:6:14: error: unknown key 'common_name' in agents.d.mtls. Allowed keys: subject, cn, uri, "
            "dns, email, fingerprint_sha256");
}

TEST(PolicyAgents, ExactlyOneIdentityPerAgentAndNoTwoAgentsAlike) {
  const std::string key = "api_key_sha256: '" + std::string(64, 'a') + "'";
  EXPECT_EQ(load_error(k_head + "agents:\n  a: {servers: [x]}\n"),
            "p.yaml:4:3: error: agents.a has no identity. Add one of api_key_sha256 (the hex SHA-256 of the "
            "agent's API key), jwt: {subject: ...} or mtls: {cn: ...}");
  EXPECT_EQ(load_error(k_head + k_auth + "agents:\n  a: {" + key + ", jwt: {subject: s}}\n"),
            "p.yaml:7:3: error: agents.a has more than one of api_key_sha256, jwt and mtls. Give each agent "
            "exactly one identity; define another agent for another credential");
  EXPECT_EQ(load_error(k_head + "agents:\n  a: {" + key + "}\n  b: {" + key + "}\n"),
            "p.yaml:5:3: error: agents.b has the same identity as agents.a. Each credential must name one "
            "agent; merge them or tell them apart");
  EXPECT_EQ(load_error(k_head + k_auth + "agents:\n  a: {jwt: {subject: s}}\n  b: {jwt: {subject: s}}\n"),
            "p.yaml:8:3: error: agents.b has the same identity as agents.a. Each credential must name one "
            "agent; merge them or tell them apart");
  // Same subject, different scopes: different selectors (a token may match both; refused at request time).
  EXPECT_EQ(load_error(k_head + k_auth + "agents:\n  a: {jwt: {subject: s}}\n  b: {jwt: {subject: s, scopes: [w]}}\n"), "");
}

}  // namespace
}  // namespace warden::policy
