// Egress guard and sandbox benchmark (issue 3, item 9).
//
//   warden_egress_bench [--requests N] [--body-bytes B] [--sandbox-runs N]
//
// 1. Added latency of the egress guard: a 10 KB JSON POST over one kept-alive TLS connection,
//    (a) directly to a local HTTPS upstream, (b) through the guard's proxy (CONNECT, TLS terminated
//    with the warden's CA, the request parsed, identifiers correlated against a call in flight,
//    the credential broker's header injected, audit record written, TLS again to the upstream).
//    Prints p50/p90/p99 of both and the difference.
// 2. Sandbox start-up: sandbox::launch of `true` (user+mount+net namespaces, listeners handed
//    over, Landlock with the default read-everywhere-except-secrets rules) until the exec.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "warden/audit/audit_log.h"
#include "warden/egress/ca.h"
#include "warden/egress/guard.h"
#include "warden/egress/intent.h"
#include "warden/policy/matchers.h"
#include "warden/sandbox/sandbox.h"
#include "warden/util/clock.h"

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace warden;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Stats {
  double p50, p90, p99;
};
Stats percentiles(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return static_cast<double>(v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]) / 1000.0; };
  return {at(0.5), at(0.9), at(0.99)};
}

// A keep-alive HTTPS upstream that answers every request with a small JSON body.
void serve_upstream(tcp::acceptor& acc, ssl::context& ctx) {
  for (;;) {
    tcp::socket s(acc.get_executor());
    boost::system::error_code ec;
    acc.accept(s, ec);
    if (ec) return;
    std::thread([sock = std::move(s), &ctx]() mutable {
      ssl::stream<tcp::socket> tls(std::move(sock), ctx);
      boost::system::error_code ec;
      tls.handshake(ssl::stream_base::server, ec);
      if (ec) return;
      beast::flat_buffer buf;
      for (;;) {
        http::request<http::string_body> req;
        http::read(tls, buf, req, ec);
        if (ec) return;
        http::response<http::string_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "application/json");
        res.body() = R"({"ErrorCode":0,"Message":"OK"})";
        res.keep_alive(true);
        res.prepare_payload();
        http::write(tls, res, ec);
        if (ec) return;
      }
    }).detach();
  }
}

std::string body_of(size_t bytes) {
  std::string b = R"({"From":"ops@example.com","To":"alice@example.com","Subject":"bench","TextBody":")";
  while (b.size() + 3 < bytes) b += "lorem ipsum dolor sit amet ";
  b.resize(bytes - 2);
  return b + "\"}";
}

std::vector<int64_t> run_requests(ssl::stream<tcp::socket>& tls, const std::string& host, const std::string& body, int n) {
  std::vector<int64_t> lat;
  beast::flat_buffer buf;
  for (int i = 0; i < n; ++i) {
    http::request<http::string_body> req{http::verb::post, "/email", 11};
    req.set(http::field::host, host);
    req.set(http::field::content_type, "application/json");
    req.set("X-Postmark-Server-Token", "placeholder-token");
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    int64_t t0 = now_ns();
    http::write(tls, req);
    http::response<http::string_body> res;
    http::read(tls, buf, res);
    lat.push_back(now_ns() - t0);
    if (res.result() != http::status::ok) {
      std::fprintf(stderr, "unexpected status %d: %s\n", res.result_int(), res.body().c_str());
      std::exit(1);
    }
  }
  return lat;
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 5000, body_bytes = 10 * 1024, sandbox_runs = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--requests") requests = std::atoi(argv[i + 1]);
    else if (k == "--body-bytes") body_bytes = std::atoi(argv[i + 1]);
    else if (k == "--sandbox-runs") sandbox_runs = std::atoi(argv[i + 1]);
  }
  auto dir = std::filesystem::temp_directory_path() / fmt::format("warden-egress-bench-{}", ::getpid());
  std::filesystem::create_directories(dir);

  // The upstream's certificate comes from a test CA (as in the e2e tests' fake Postmark).
  auto up_ca = egress::CertificateAuthority::load_or_create((dir / "upstream-ca").string());
  auto up_leaf = (*up_ca)->leaf_for("api.postmarkapp.com", {"127.0.0.1"});
  std::string up_ca_file = (dir / "upstream-ca.pem").string();
  { FILE* f = std::fopen(up_ca_file.c_str(), "w"); std::fputs((*up_ca)->cert_pem().c_str(), f); std::fclose(f); }
  ssl::context up_ctx(ssl::context::tls_server);
  SSL_CTX_use_certificate(up_ctx.native_handle(), up_leaf->cert);
  SSL_CTX_use_PrivateKey(up_ctx.native_handle(), up_leaf->key);
  asio::io_context io;
  tcp::acceptor up_acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t up_port = up_acc.local_endpoint().port();
  std::thread([&] { serve_upstream(up_acc, up_ctx); }).detach();

  // The guard, with the proxy listener on the host's loopback (no sandbox needed for this part).
  auto ca = egress::CertificateAuthority::load_or_create((dir / "warden-ca").string());
  egress::IntentBoard board;
  board.allow_always("ops@example.com");
  board.begin_call("1", "sendEmail", R"({"to":"alice@example.com"})");
  const auto& clock = util::SystemClock::instance();
  auto log = audit::AuditLog::open((dir / "audit.jsonl").string(), audit::FsyncMode::batch, clock);
  egress::GuardConfig gc;
  gc.server = "bench";
  policy::EgressRule rule;
  std::string why;
  policy::parse_host_pattern("api.postmarkapp.com", rule.host, why);
  rule.port = 443;
  rule.inspect = true;
  rule.correlate = {"email"};
  rule.inject = policy::EgressInject{"X-Postmark-Server-Token", "TOKEN"};
  rule.resolve = fmt::format("127.0.0.1:{}", up_port);
  rule.upstream_ca = up_ca_file;
  gc.rules = {rule};
  gc.secrets["TOKEN"] = "real-token";
  gc.placeholders["TOKEN"] = "placeholder-token";
  egress::Guard guard(gc, ca->get(), board, log->get(), nullptr, clock);
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::listen(lfd, 64);
  socklen_t len = sizeof sa;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len);
  uint16_t proxy_port = ntohs(sa.sin_port);
  std::vector<sandbox::Listener> ls;
  ls.push_back({"proxy", util::UniqueFd(lfd)});
  guard.start(std::move(ls));

  const std::string body = body_of(static_cast<size_t>(body_bytes));
  // (a) direct
  ssl::context cctx(ssl::context::tls_client);
  cctx.load_verify_file(up_ca_file);
  cctx.set_verify_mode(ssl::verify_peer);
  std::vector<int64_t> direct, guarded;
  {
    ssl::stream<tcp::socket> tls(io, cctx);
    tls.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), up_port));
    tls.next_layer().set_option(tcp::no_delay(true));
    SSL_set_tlsext_host_name(tls.native_handle(), "api.postmarkapp.com");
    tls.handshake(ssl::stream_base::client);
    run_requests(tls, "api.postmarkapp.com", body, 200);  // warm-up
    direct = run_requests(tls, "api.postmarkapp.com", body, requests);
  }
  // (b) through the guard: CONNECT, then TLS with the warden's CA
  {
    ssl::context gctx(ssl::context::tls_client);
    gctx.add_certificate_authority(asio::buffer((*ca)->cert_pem()));
    gctx.set_verify_mode(ssl::verify_peer);
    ssl::stream<tcp::socket> tls(io, gctx);
    tls.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy_port));
    tls.next_layer().set_option(tcp::no_delay(true));
    std::string connect = "CONNECT api.postmarkapp.com:443 HTTP/1.1\r\nHost: api.postmarkapp.com:443\r\n\r\n";
    asio::write(tls.next_layer(), asio::buffer(connect));
    asio::streambuf sb;
    asio::read_until(tls.next_layer(), sb, "\r\n\r\n");
    SSL_set_tlsext_host_name(tls.native_handle(), "api.postmarkapp.com");
    SSL_set1_host(tls.native_handle(), "api.postmarkapp.com");
    tls.handshake(ssl::stream_base::client);
    run_requests(tls, "api.postmarkapp.com", body, 200);
    guarded = run_requests(tls, "api.postmarkapp.com", body, requests);
  }
  guard.stop();
  Stats d = percentiles(direct), g = percentiles(guarded);
  std::printf("egress guard, %d-byte JSON POST over kept-alive TLS, %d requests each:\n", body_bytes, requests);
  std::printf("  direct        p50 %8.1f us  p90 %8.1f us  p99 %8.1f us\n", d.p50, d.p90, d.p99);
  std::printf("  through guard p50 %8.1f us  p90 %8.1f us  p99 %8.1f us\n", g.p50, g.p90, g.p99);
  std::printf("  added         p50 %8.1f us  p90 %8.1f us  p99 %8.1f us\n", g.p50 - d.p50, g.p90 - d.p90, g.p99 - d.p99);
  std::printf("  audit records written: %llu\n", static_cast<unsigned long long>((*log)->last_seq()));

  // Sandbox start-up.
  std::vector<int64_t> startup;
  const char* home = std::getenv("HOME");
  for (int i = 0; i < sandbox_runs; ++i) {
    sandbox::Spec spec;
    spec.init_binary = fmt::format("{}/mcp-warden", std::filesystem::path(argv[0]).parent_path().string());
    spec.deny = sandbox::default_denied_paths(home ? home : "/root");
    auto l = sandbox::launch(spec, {"true"});
    if (!l) {
      std::fprintf(stderr, "sandbox: %s\n", l.error().message.c_str());
      return 1;
    }
    startup.push_back(l->startup_us * 1000);
    while (!l->child->try_wait()) ::usleep(500);
  }
  Stats s = percentiles(startup);
  std::printf("sandbox start-up (namespaces, listeners, Landlock, exec), %d runs:\n", sandbox_runs);
  std::printf("  p50 %8.1f us  p90 %8.1f us  p99 %8.1f us\n", s.p50, s.p90, s.p99);
  std::filesystem::remove_all(dir);
  return 0;
}
