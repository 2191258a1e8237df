// JWKS fetched from an https:// URL (src/warden/gateway/auth/jwks_fetch.h): a real HTTPS server
// on 127.0.0.1 with a certificate from a CA made here serves the key set; tokens are signed with
// the keys it serves. Waits poll with generous deadlines: nothing depends on how fast the
// machine is.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "jwk_test_util.h"
#include "warden/gateway/agent_identity.h"
#include "warden/gateway/auth/jwks_fetch.h"
#include "warden/gateway/auth/jwt.h"
#include "warden/policy/policy.h"
#include "warden/util/clock.h"

namespace warden::gateway::auth {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

using X509Ptr = std::unique_ptr<X509, OsslFree<X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, OsslFree<X509_EXTENSION_free>>;

constexpr int64_t k_now = 1'767'225'600;  // ManualClock's default time
const std::string k_issuer = "https://idp.test/";

// ---- A test PKI: one CA, server certificates it issues -------------------------------------------

struct Pki {
  PkeyPtr key;
  X509Ptr cert;
};

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  ASSERT_TRUE(ext) << value;
  ASSERT_EQ(X509_add_ext(cert, ext.get(), -1), 1);
}

Pki make_cert(const std::string& cn, const Pki* ca, const std::string& san) {
  Pki out{PkeyPtr(EVP_EC_gen("P-256")), X509Ptr(X509_new())};
  X509* c = out.cert.get();
  X509_set_version(c, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(c), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(c), -60);
  X509_gmtime_adj(X509_getm_notAfter(c), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer = ca ? ca->cert.get() : c;
  X509_set_issuer_name(c, X509_get_subject_name(issuer));
  X509_set_pubkey(c, out.key.get());
  if (!ca) {
    add_ext(c, issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c, issuer, NID_ext_key_usage, "serverAuth");
    add_ext(c, issuer, NID_subject_alt_name, san.c_str());
  }
  EXPECT_GT(X509_sign(c, ca ? ca->key.get() : out.key.get(), EVP_sha256()), 0);
  return out;
}

std::string write_pem(X509* cert, const std::string& name) {
  std::string path = (std::filesystem::temp_directory_path() /
                      fmt::format("warden-jwks-{}-{}.pem", getpid(), name)).string();
  FILE* f = std::fopen(path.c_str(), "w");
  EXPECT_TRUE(f);
  PEM_write_X509(f, cert);
  std::fclose(f);
  return path;
}

// ---- An HTTPS server answering every request with the configured response -------------------------

class JwksServer {
public:
  // `cert` signed by the test CA; `tls` false serves plain HTTP.
  JwksServer(const Pki& cert, bool tls = true) : m_tls(tls) {
    SSL_CTX_use_certificate(m_ssl.native_handle(), cert.cert.get());
    SSL_CTX_use_PrivateKey(m_ssl.native_handle(), cert.key.get());
    m_port = m_acceptor.local_endpoint().port();
    asio::co_spawn(m_io, accept_loop(), asio::detached);
    m_thread = std::thread([this] { m_io.run(); });
  }
  ~JwksServer() { stop(); }

  uint16_t port() const { return m_port; }
  std::string url(const std::string& path = "/jwks") const {
    return fmt::format("{}://127.0.0.1:{}{}", m_tls ? "https" : "http", m_port, path);
  }
  void respond(std::string body, unsigned status = 200, std::string location = "") {
    std::lock_guard lock(m_mu);
    m_body = std::move(body);
    m_status = status;
    m_location = std::move(location);
  }
  int requests() const {
    std::lock_guard lock(m_mu);
    return m_requests;
  }
  // Closes the listening socket: further connections are refused.
  void stop() {
    m_io.stop();
    if (m_thread.joinable()) m_thread.join();
    boost::system::error_code ec;
    m_acceptor.close(ec);
  }

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock = co_await m_acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(m_io, serve(std::move(sock)), asio::detached);
    }
  }
  template <class Stream> asio::awaitable<void> answer(Stream& stream) {
    boost::system::error_code ec;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    http::response<http::string_body> res;
    {
      std::lock_guard lock(m_mu);
      ++m_requests;
      res.result(m_status);
      res.body() = m_body;
      if (!m_location.empty()) res.set(http::field::location, m_location);
    }
    res.set(http::field::content_type, "application/json");
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> serve(tcp::socket sock) {
    if (!m_tls) {
      co_await answer(sock);
      co_return;
    }
    beast::ssl_stream<tcp::socket> stream(std::move(sock), m_ssl);
    boost::system::error_code ec;
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_await answer(stream);
  }

  bool m_tls;
  asio::ssl::context m_ssl{asio::ssl::context::tls_server};
  asio::io_context m_io;
  tcp::acceptor m_acceptor{m_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  uint16_t m_port = 0;
  std::thread m_thread;
  mutable std::mutex m_mu;
  std::string m_body = "{}";
  unsigned m_status = 200;
  std::string m_location;
  int m_requests = 0;
};

// ---- Keys and tokens ---------------------------------------------------------------------------

std::string set_of(std::initializer_list<std::pair<EVP_PKEY*, std::string>> keys) {
  std::string members;
  for (const auto& [key, kid] : keys) members += (members.empty() ? "" : ",") + rsa_jwk(key, kid);
  return R"({"keys":[)" + members + "]}";
}

std::string token(EVP_PKEY* key, const std::string& kid, const std::string& sub = "ci-bot") {
  std::string header = fmt::format(R"({{"alg":"RS256","typ":"JWT","kid":"{}"}})", kid);
  std::string payload = fmt::format(R"({{"iss":"{}","aud":"gw","sub":"{}","exp":{},"iat":{}}})", k_issuer, sub,
                                    k_now + 300, k_now - 10);
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(digest_sign(key, input));
}

// Polls `done` every 20 ms for up to 30 s.
template <class F> bool eventually(F&& done) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

bool has_kid(const RemoteJwks& r, const std::string& kid) { return r.current()->find(kid) != nullptr; }

class JwksFetchTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    s_ca = new Pki(make_cert("warden test CA", nullptr, ""));
    s_other_ca = new Pki(make_cert("some other CA", nullptr, ""));
    s_server = new Pki(make_cert("jwks-test", s_ca, "IP:127.0.0.1,DNS:localhost"));
    s_wrong_host = new Pki(make_cert("jwks-test", s_ca, "DNS:idp.example.com"));
    s_ca_file = new std::string(write_pem(s_ca->cert.get(), "ca"));
    s_other_ca_file = new std::string(write_pem(s_other_ca->cert.get(), "other-ca"));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove(*s_ca_file);
    std::filesystem::remove(*s_other_ca_file);
  }

  JwksFetchOptions options(const JwksServer& server) {
    JwksFetchOptions o;
    o.url = server.url();
    o.ca_file = *s_ca_file;
    o.log = [this](const std::string& line) {
      std::lock_guard lock(m_log_mu);
      m_log.push_back(line);
    };
    return o;
  }
  // Serving k1, refreshed every 100 ms and retried after 20 ms: for the tests of failed refreshes.
  std::shared_ptr<RemoteJwks> start_refreshing(JwksServer& server) {
    server.respond(set_of({{m_k1.get(), "k1"}}));
    auto o = options(server);
    o.refresh = 100ms;
    o.retry_initial = 20ms;
    auto remote = RemoteJwks::start(o);
    EXPECT_TRUE(remote.ok()) << remote.error().message;
    return remote.ok() ? *remote : nullptr;
  }
  std::vector<std::string> log_lines() {
    std::lock_guard lock(m_log_mu);
    return m_log;
  }
  size_t log_count(const std::string& part) {
    size_t n = 0;
    for (const auto& l : log_lines()) n += l.find(part) != std::string::npos;
    return n;
  }

  static inline Pki* s_ca = nullptr;
  static inline Pki* s_other_ca = nullptr;
  static inline Pki* s_server = nullptr;
  static inline Pki* s_wrong_host = nullptr;
  static inline std::string* s_ca_file = nullptr;
  static inline std::string* s_other_ca_file = nullptr;

  PkeyPtr m_k1 = rsa_key(), m_k2 = rsa_key();
  util::ManualClock m_clock;
  std::mutex m_log_mu;
  std::vector<std::string> m_log;
};

TEST_F(JwksFetchTest, FirstFetchGivesTheKeysATokenIsVerifiedWith) {
  JwksServer server(*s_server);
  server.respond(set_of({{m_k1.get(), "k1"}}));
  auto remote = RemoteJwks::start(options(server));
  ASSERT_TRUE(remote.ok()) << remote.error().message;
  ASSERT_EQ((*remote)->current()->keys().size(), 1u);
  JwtConfig config{.issuer = k_issuer, .audience = "gw"};
  auto claims = validate_jwt(token(m_k1.get(), "k1"), config, *(*remote)->current(), m_clock);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->subject, "ci-bot");
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(log_lines(), std::vector<std::string>{fmt::format("JWKS {} fetched: 1 key, refreshed every 10m", server.url())});
}

TEST_F(JwksFetchTest, AnUnknownKidRefetchesEarlyAtMostOncePerInterval) {
  JwksServer server(*s_server);
  server.respond(set_of({{m_k1.get(), "k1"}}));
  auto o = options(server);
  o.min_refetch = 1h;  // one early refetch in this test, however long it runs
  auto remote = RemoteJwks::start(o);
  ASSERT_TRUE(remote.ok()) << remote.error().message;
  RemoteJwks& r = **remote;
  server.respond(set_of({{m_k2.get(), "k2"}}));  // the IdP rotates
  r.request_refetch();
  r.request_refetch();  // within min_refetch: ignored
  ASSERT_TRUE(eventually([&] { return has_kid(r, "k2"); }));
  EXPECT_FALSE(has_kid(r, "k1"));
  EXPECT_EQ(r.stats().early, 1u);
  r.request_refetch();
  std::this_thread::sleep_for(200ms);  // (a refetch here would be a failure whenever it came)
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(log_count("refreshed: 1 key"), 1u);
}

TEST_F(JwksFetchTest, ServerDownAtRefreshKeepsTheLastGoodSetAndLogsOncePerStreak) {
  JwksServer server(*s_server);
  auto remote = start_refreshing(server);
  ASSERT_TRUE(remote);
  RemoteJwks& r = *remote;
  auto before = r.current();
  ASSERT_TRUE(eventually([&] { return r.stats().fetched >= 2; }));  // refreshing
  server.stop();
  ASSERT_TRUE(eventually([&] { return r.stats().failed >= 3; }));
  EXPECT_EQ(r.current(), before);  // the same set, untouched (an unchanged body is not re-parsed)
  EXPECT_NE(r.stats().last_error.find("cannot connect to 127.0.0.1:"), std::string::npos) << r.stats().last_error;
  EXPECT_EQ(log_count("keeping the last good set (1 key)"), 1u);
}

TEST_F(JwksFetchTest, ABadSetDoesNotReplaceTheGoodOne) {
  JwksServer server(*s_server);
  auto remote = start_refreshing(server);
  ASSERT_TRUE(remote);
  RemoteJwks& r = *remote;
  for (const char* bad : {"{not json", R"({"keys":[]})", R"({"keys":[{"kty":"RSA","kid":"x","n":"AQ","e":"AQAB"}]})"}) {
    server.respond(bad);
    uint64_t failed = r.stats().failed;
    ASSERT_TRUE(eventually([&] { return r.stats().failed >= failed + 2; })) << bad;
    EXPECT_TRUE(has_kid(r, "k1")) << bad;
    EXPECT_EQ(r.current()->keys().size(), 1u);
  }
  server.respond("<html>moved</html>", 302, "https://elsewhere.example/jwks");
  uint64_t failed = r.stats().failed;
  ASSERT_TRUE(eventually([&] { return r.stats().failed > failed; }));
  EXPECT_NE(r.stats().last_error.find("answered HTTP 302 (a redirect to https://elsewhere.example/jwks); redirects "
                                      "are not followed"),
            std::string::npos)
      << r.stats().last_error;
  server.respond(std::string(k_max_jwks_bytes + 1, ' '));
  failed = r.stats().failed;
  ASSERT_TRUE(eventually([&] { return r.stats().failed > failed; }));
  EXPECT_NE(r.stats().last_error.find("larger than 512 KiB"), std::string::npos) << r.stats().last_error;
  EXPECT_TRUE(has_kid(r, "k1"));
  // One line for the whole streak of failures, then recovery.
  EXPECT_EQ(log_count("keeping the last good set"), 1u);
  server.respond(set_of({{m_k2.get(), "k2"}}));
  ASSERT_TRUE(eventually([&] { return has_kid(r, "k2"); }));
  ASSERT_TRUE(eventually([&] { return log_count("refreshed: 1 key (after ") == 1; }));
}

TEST_F(JwksFetchTest, StartFailsClosedWhenTheFirstFetchFails) {
  std::string url;
  {
    JwksServer gone(*s_server);
    url = gone.url();
  }  // closed: connections to its port are refused
  JwksFetchOptions o;
  o.url = url;
  o.ca_file = *s_ca_file;
  auto remote = RemoteJwks::start(o);
  ASSERT_FALSE(remote.ok());
  EXPECT_NE(remote.error().message.find("JWKS " + url + ": cannot connect to 127.0.0.1:"), std::string::npos)
      << remote.error().message;
  EXPECT_NE(remote.error().message.find("the first fetch must succeed"), std::string::npos);

  JwksServer server(*s_server);
  server.respond("{not json");
  o.url = server.url();
  remote = RemoteJwks::start(o);
  ASSERT_FALSE(remote.ok());
  EXPECT_NE(remote.error().message.find(server.url()), std::string::npos) << remote.error().message;
}

TEST_F(JwksFetchTest, TheCertificateAndHostNameAreVerified) {
  JwksServer wrong_host(*s_wrong_host);
  wrong_host.respond(set_of({{m_k1.get(), "k1"}}));
  auto r = RemoteJwks::start(options(wrong_host));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("TLS with 127.0.0.1 failed: the certificate was refused: IP address mismatch"),
            std::string::npos)
      << r.error().message;

  JwksServer server(*s_server);
  server.respond(set_of({{m_k1.get(), "k1"}}));
  auto o = options(server);
  o.ca_file = *s_other_ca_file;
  r = RemoteJwks::start(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("the certificate was refused: unable to get local issuer certificate"),
            std::string::npos)
      << r.error().message;
  o.ca_file.clear();  // the system trust store does not know the test CA either
  r = RemoteJwks::start(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("the certificate was refused"), std::string::npos) << r.error().message;
  EXPECT_EQ(server.requests(), 0);
  o.ca_file = "/nonexistent/ca.pem";
  r = RemoteJwks::start(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot load jwks_ca /nonexistent/ca.pem"), std::string::npos) << r.error().message;
}

TEST_F(JwksFetchTest, PlainHttpOnlyToLoopback) {
  JwksServer server(*s_server, false);
  server.respond(set_of({{m_k1.get(), "k1"}}));
  JwksFetchOptions o;
  o.url = server.url();
  auto body = fetch_url(o);
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_NE(body->find("\"k1\""), std::string::npos);
  o.url = "http://idp.example.com/jwks";
  body = fetch_url(o);
  ASSERT_FALSE(body.ok());
  EXPECT_NE(body.error().message.find("must use https://"), std::string::npos) << body.error().message;
}

TEST(JwksUrl, Parsing) {
  auto u = parse_jwks_url("HTTPS://IdP.Example.com/.well-known/jwks.json?v=1");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "idp.example.com");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/.well-known/jwks.json?v=1");
  u = parse_jwks_url("https://[::1]:8443");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/");
  EXPECT_TRUE(parse_jwks_url("http://localhost:1/jwks").ok());
  EXPECT_TRUE(parse_jwks_url("http://127.0.0.1/jwks").ok());
  for (const char* bad : {"http://example.com/jwks", "http://127.0.0.1.example.com/", "https://user:pw@idp/jwks",
                          "https:///jwks", "https://idp:0/", "https://idp:99999/", "https://idp/#x", "ftp://idp/"})
    EXPECT_FALSE(parse_jwks_url(bad).ok()) << bad;
  EXPECT_TRUE(is_jwks_url("HTTPS://x"));
  EXPECT_FALSE(is_jwks_url("jwks.json"));
}

// ---- Through the policy and the agent directory -----------------------------------------------------

std::string policy_yaml(const std::string& jwks, const std::string& extra = "") {
  return fmt::format("version: 1\nservers: {{x: {{}}}}\ngateway:\n  auth:\n    jwt: {{issuer: '{}', audience: gw, "
                     "jwks: '{}'{}}}\nagents:\n  ci: {{jwt: {{subject: ci-bot}}, servers: [x]}}\n"
                     "  deploy: {{jwt: {{subject: deploy-bot}}, servers: [x]}}\n",
                     k_issuer, jwks, extra);
}

TEST_F(JwksFetchTest, AgentsShareOneFetcherAndARotatedKeyIsPickedUpWithoutWaiting) {
  JwksServer server(*s_server);
  server.respond(set_of({{m_k1.get(), "k1"}}));
  auto policy = policy::load_policy_string(policy_yaml(server.url(), ", jwks_ca: '" + *s_ca_file + "'"), "p.yaml");
  auto dir = AgentDirectory::build(policy);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  EXPECT_EQ(server.requests(), 1);  // two agents, one URL: one fetch
  auto id = (*dir)->identify(token(m_k1.get(), "k1", "deploy-bot"), nullptr, m_clock);
  ASSERT_TRUE(id.agent) << id.message;
  EXPECT_EQ(id.agent->name, "deploy");

  // A reload (a new directory for the same policy) reuses the live fetcher: no blocking fetch.
  auto reloaded = AgentDirectory::build(policy);
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_EQ(server.requests(), 1);
  dir->reset();

  // The IdP rotates to k2; the first token with kid k2 is refused and triggers the early refetch,
  // long before the 10-minute interval.
  server.respond(set_of({{m_k2.get(), "k2"}}));
  std::string rotated = token(m_k2.get(), "k2");
  auto first = (*reloaded)->identify(rotated, nullptr, m_clock);
  EXPECT_EQ(first.status, 401);
  EXPECT_NE(first.message.find("no key in the JWKS has the token's kid"), std::string::npos) << first.message;
  ASSERT_TRUE(eventually([&] { return (*reloaded)->identify(rotated, nullptr, m_clock).agent != nullptr; }));
  EXPECT_EQ((*reloaded)->identify(rotated, nullptr, m_clock).agent->name, "ci");
  EXPECT_EQ(server.requests(), 2);
}

TEST_F(JwksFetchTest, DirectoryBuildFailsWithTheAgentAndUrlWhenTheIdpIsUnreachable) {
  std::string url;
  {
    JwksServer gone(*s_server);
    url = gone.url();
  }
  auto dir = AgentDirectory::build(policy::load_policy_string(policy_yaml(url), "p.yaml"));
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message.find("agents.ci.jwt.jwks: JWKS " + url + ": cannot connect"), std::string::npos)
      << dir.error().message;
}

// One error for one mistake: without agents, nothing else depends on gateway.auth.jwt.
std::string load_error(const std::string& yaml_with_agents) {
  std::string yaml = yaml_with_agents.substr(0, yaml_with_agents.find("agents:"));
  try {
    policy::load_policy_string(yaml, "p.yaml");
  } catch (const policy::LoadError& e) {
    return e.what();
  }
  return {};
}

TEST(JwksPolicy, UrlRefreshAndCaKeys) {
  auto p = policy::load_policy_string(
      policy_yaml("https://idp.example.com/jwks", ", jwks_refresh: 5m, jwks_ca: idp-ca.pem"), "p.yaml");
  const auto& v = p->agents().at(0).jwt->verifier;
  EXPECT_EQ(v.jwks, "https://idp.example.com/jwks");
  EXPECT_EQ(v.jwks_refresh_s, 300);
  EXPECT_EQ(v.jwks_ca, "idp-ca.pem");
  p = policy::load_policy_string(policy_yaml("http://127.0.0.1:9/jwks"), "p.yaml");
  EXPECT_EQ(p->agents().at(0).jwt->verifier.jwks_refresh_s, 600);  // the default

  EXPECT_EQ(load_error(policy_yaml("http://example.com/jwks")),
            "p.yaml:5:60: error: gateway.auth.jwt.jwks: a JWKS URL must use https:// (plain http:// is allowed "
            "only to 127.0.0.1, ::1 or localhost): a key set fetched in clear text could be replaced on the way. "
            "Write it as https://idp.example.com/.well-known/jwks.json (add jwks_ca: FILE for a private CA)");
  EXPECT_EQ(load_error(policy_yaml("https://idp.example.com/jwks", ", jwks_refresh: 10s")),
            "p.yaml:5:106: error: gateway.auth.jwt.jwks_refresh must be at least 30s, got '10s'. Write 30s or "
            "more (the default is 10m); a rotated key is fetched early anyway, when a token names a kid the set "
            "lacks");
  EXPECT_EQ(load_error(policy_yaml("jwks.json", ", jwks_refresh: 1m")),
            "p.yaml:5:73: error: gateway.auth.jwt.jwks_refresh applies only to a JWKS URL, and gateway.auth.jwt.jwks "
            "names a file. Give jwks: https://... in the same block, or remove the key (a JWKS file is read at "
            "start and on reload)");
}

}  // namespace
}  // namespace warden::gateway::auth
