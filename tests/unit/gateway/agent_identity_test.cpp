// Mapping the credentials a request presents to exactly one agent: unmatched and ambiguous
// requests are refused.
#include <gtest/gtest.h>

#include "warden/gateway/agent_identity.h"
#include "warden/util/clock.h"
#include "warden/util/sha256.h"

namespace warden::gateway {
namespace {

using policy::AgentConfig;

const policy::JwtVerifierConfig k_idp{"https://idp.example/", "gw", "jwks.json", 60, 8192};

AgentConfig key_agent(const std::string& name, const std::string& key) {
  AgentConfig a;
  a.name = name;
  a.api_key_sha256 = util::sha256_hex(key);
  return a;
}

AgentConfig jwt_agent(const std::string& name, const std::string& subject, std::vector<std::string> scopes = {},
                      const std::string& client_id = "") {
  AgentConfig a;
  a.name = name;
  a.jwt = policy::AgentJwt{k_idp, subject, client_id, std::move(scopes)};
  return a;
}

AgentConfig mtls_agent(const std::string& name, policy::AgentMtls m) {
  AgentConfig a;
  a.name = name;
  a.mtls = std::move(m);
  return a;
}

auth::JwtClaims claims(const std::string& sub, std::vector<std::string> scopes = {}, const std::string& client_id = "") {
  auth::JwtClaims c;
  c.issuer = k_idp.issuer;
  c.subject = sub;
  c.client_id = client_id;
  c.scopes = std::move(scopes);
  return c;
}

auth::PeerIdentity peer(const std::string& cn) {
  auth::PeerIdentity p;
  p.subject = "CN=" + cn + ",O=Example";
  p.common_name = cn;
  p.uris = {"spiffe://example.org/" + cn};
  p.dns_names = {cn + ".example.org"};
  p.fingerprint_sha256 = std::string(64, 'a');
  return p;
}

TEST(AgentIdentity, JwtSelectorsMatchEveryFieldGiven) {
  auto a = jwt_agent("ci", "ci-app", {"mcp:tools"}, "ci-client");
  EXPECT_TRUE(jwt_selects(*a.jwt, k_idp, claims("ci-app", {"mcp:read", "mcp:tools"}, "ci-client")));
  EXPECT_FALSE(jwt_selects(*a.jwt, k_idp, claims("ci-app", {"mcp:read"}, "ci-client")));      // scope missing
  EXPECT_FALSE(jwt_selects(*a.jwt, k_idp, claims("ci-app", {"mcp:tools"}, "other-client")));  // client_id
  EXPECT_FALSE(jwt_selects(*a.jwt, k_idp, claims("other", {"mcp:tools"}, "ci-client")));      // subject
  auto other_idp = k_idp;
  other_idp.issuer = "https://evil.example/";
  EXPECT_FALSE(jwt_selects(*a.jwt, other_idp, claims("ci-app", {"mcp:tools"}, "ci-client")));  // verified elsewhere
  policy::AgentJwt empty{k_idp, "", "", {}};
  EXPECT_FALSE(jwt_selects(empty, k_idp, claims("anyone")));  // never "every token of the IdP"
}

TEST(AgentIdentity, MtlsSelectorsMatchEveryFieldGiven) {
  auto p = peer("deploy");
  EXPECT_TRUE(mtls_selects({.cn = "deploy"}, p));
  EXPECT_TRUE(mtls_selects({.subject = "CN=deploy,O=Example", .uri = "spiffe://example.org/deploy"}, p));
  EXPECT_TRUE(mtls_selects({.dns = "deploy.example.org", .fingerprint_sha256 = std::string(64, 'a')}, p));
  EXPECT_FALSE(mtls_selects({.cn = "deploy", .uri = "spiffe://example.org/other"}, p));
  EXPECT_FALSE(mtls_selects({.fingerprint_sha256 = std::string(64, 'b')}, p));
  EXPECT_FALSE(mtls_selects({.email = "deploy@example.org"}, p));
  EXPECT_FALSE(mtls_selects({}, p));  // an empty selector matches nothing
}

TEST(AgentIdentity, ExactlyOneAgentIsChosen) {
  std::vector<AgentConfig> agents{key_agent("keyed", "k1"), jwt_agent("ci", "ci-app"),
                                  mtls_agent("deploy", {.cn = "deploy"})};
  Evidence ev;
  ev.api_key_sha256 = util::sha256_hex("k1");
  auto r = choose_agent(agents, ev);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.agent->name, "keyed");

  ev = {};
  ev.tokens.emplace_back(k_idp, claims("ci-app"));
  r = choose_agent(agents, ev);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.agent->name, "ci");

  auto p = peer("deploy");
  ev = {};
  ev.peer = &p;
  r = choose_agent(agents, ev);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.agent->name, "deploy");
}

TEST(AgentIdentity, UnmatchedIsRefusedWith401) {
  std::vector<AgentConfig> agents{key_agent("keyed", "k1"), jwt_agent("ci", "ci-app"),
                                  mtls_agent("deploy", {.cn = "deploy"})};
  Evidence ev;
  auto r = choose_agent(agents, ev);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.agent, nullptr);
  EXPECT_EQ(r.message, "this gateway needs an agent credential: Authorization: Bearer <API key or JWT>");
  ev.api_key_sha256 = util::sha256_hex("wrong");
  EXPECT_EQ(choose_agent(agents, ev).status, 401);
  ev = {};
  ev.tokens.emplace_back(k_idp, claims("stranger"));
  r = choose_agent(agents, ev);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.message, "the bearer token is valid but no agent of this gateway is configured for its subject");
  auto p = peer("intruder");
  ev = {};
  ev.peer = &p;
  r = choose_agent(agents, ev);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.message, "the client certificate is not mapped to an agent; present an agent's credential");
}

TEST(AgentIdentity, AmbiguousIsRefusedWith403) {
  // A certificate of one agent and the API key of another.
  std::vector<AgentConfig> agents{key_agent("keyed", "k1"), mtls_agent("deploy", {.cn = "deploy"})};
  auto p = peer("deploy");
  Evidence ev;
  ev.api_key_sha256 = util::sha256_hex("k1");
  ev.peer = &p;
  auto r = choose_agent(agents, ev);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.agent, nullptr);
  EXPECT_EQ(r.message, "the credentials presented match several agents (keyed, deploy); present only one agent's");
  // One token that two JWT selectors accept.
  agents = {jwt_agent("reader", "svc"), jwt_agent("writer", "svc", {"write"})};
  ev = {};
  ev.tokens.emplace_back(k_idp, claims("svc", {"write"}));
  r = choose_agent(agents, ev);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.message, "the credentials presented match several agents (reader, writer); present only one agent's");
  // Two certificate selectors that the same certificate satisfies.
  agents = {mtls_agent("by-cn", {.cn = "deploy"}), mtls_agent("by-uri", {.uri = "spiffe://example.org/deploy"})};
  ev = {};
  ev.peer = &p;
  EXPECT_EQ(choose_agent(agents, ev).status, 403);
}

TEST(AgentIdentity, DirectoryRefusesAMissingJwksAndABadToken) {
  auto pol = policy::load_policy_string(
      "version: 1\nservers: {x: {}}\nagents:\n  ci: {jwt: {issuer: i, audience: a, jwks: /nonexistent/jwks.json, subject: s}}\n",
      "p.yaml");
  auto dir = AgentDirectory::build(pol);
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message.find("agents.ci.jwt.jwks"), std::string::npos) << dir.error().message;
  EXPECT_NE(dir.error().message.find("/nonexistent/jwks.json"), std::string::npos) << dir.error().message;

  // API keys only: a JWT-shaped credential is just an unknown key.
  pol = policy::load_policy_string("version: 1\nservers: {x: {}}\nagents:\n  a: {api_key_sha256: '" +
                                       util::sha256_hex("k1") + "'}\n",
                                   "p.yaml");
  auto keys = AgentDirectory::build(pol);
  ASSERT_TRUE(keys);
  const util::Clock& clock = util::SystemClock::instance();
  EXPECT_EQ((*keys)->identify("k1", nullptr, clock).agent->name, "a");
  auto r = (*keys)->identify("eyJh.eyJi.c2ln", nullptr, clock);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.bearer_params, "");
}

}  // namespace
}  // namespace warden::gateway
