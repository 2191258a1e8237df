#include "warden/gateway/auth/jwks_fetch.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace warden::gateway::auth {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using std::chrono::milliseconds;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost";
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// "10m", "30s", "250ms": for log lines.
std::string describe(milliseconds d) {
  auto ms = d.count();
  if (ms % 60000 == 0 && ms > 0) return fmt::format("{}m", ms / 60000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

std::string keys_text(const Jwks& set) {
  return fmt::format("{} key{}", set.keys().size(), set.keys().size() == 1 ? "" : "s");
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool is_jwks_url(std::string_view value) {
  std::string l = lower(value.substr(0, 8));
  return l.starts_with("http://") || l.starts_with("https://");
}

Result<JwksUrl> parse_jwks_url(std::string_view url) {
  JwksUrl u;
  std::string l = lower(url.substr(0, 8));
  std::string_view rest;
  if (l.starts_with("https://")) {
    rest = url.substr(8);
  } else if (l.starts_with("http://")) {
    u.tls = false;
    rest = url.substr(7);
  } else {
    return Error{0, "a JWKS URL must start with https://"};
  }
  if (url.find('#') != std::string_view::npos) return Error{0, "a JWKS URL may not have a #fragment"};
  if (url.find_first_of(" \t\r\n") != std::string_view::npos) return Error{0, "a JWKS URL may not contain white space"};
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (u.target.front() == '?') u.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos)
    return Error{0, "a JWKS URL may not carry user:password@; the key set is public"};
  std::string_view port;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{0, "the JWKS URL's IPv6 address has no closing ]"};
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(":")) return Error{0, "the JWKS URL's host is malformed"};
    if (!after.empty()) port = after.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  u.host = lower(u.host);
  if (u.host.empty()) return Error{0, "the JWKS URL has no host"};
  if (!port.empty()) {
    int p = 0;
    for (char c : port) p = c >= '0' && c <= '9' && p < 100000 ? p * 10 + (c - '0') : 1 << 20;
    if (p < 1 || p > 65535) return Error{0, fmt::format("the JWKS URL's port '{}' is not a number from 1 to 65535", port)};
    u.port = std::to_string(p);
  } else {
    u.port = u.tls ? "443" : "80";
  }
  if (!u.tls && !is_loopback(u.host))
    return Error{0, "a JWKS URL must use https:// (plain http:// is allowed only to 127.0.0.1, ::1 or localhost): "
                    "a key set fetched in clear text could be replaced on the way"};
  return u;
}

namespace {

// Every fetch error names the URL.
Error fetch_error(const std::string& url, const std::string& what) {
  return Error{0, fmt::format("JWKS {}: {}", url, what)};
}

template <class Stream>
asio::awaitable<void> request(Stream& stream, const JwksFetchOptions& o,
                              const JwksUrl& u, std::chrono::steady_clock::time_point deadline,
                              std::optional<Result<std::string>>& out) {
  boost::system::error_code ec;
  http::request<http::empty_body> req{http::verb::get, u.target, 11};
  bool default_port = u.port == (u.tls ? "443" : "80");
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  req.set(http::field::host, default_port ? host : host + ":" + u.port);
  req.set(http::field::user_agent, "mcp-warden/" WARDEN_VERSION);
  req.set(http::field::accept, "application/jwk-set+json, application/json");
  req.set(http::field::connection, "close");
  beast::get_lowest_layer(stream).expires_at(deadline);
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out = fetch_error(o.url, "sending the request failed: " + ec.message());
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(k_max_jwks_bytes);
  parser.header_limit(16u << 10);
  beast::get_lowest_layer(stream).expires_at(deadline);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == http::error::body_limit) {
    out = fetch_error(o.url, fmt::format("the response is larger than {} KiB", k_max_jwks_bytes >> 10));
    co_return;
  }
  if (ec == beast::error::timeout) {
    out = fetch_error(o.url, fmt::format("no complete response within {}", describe(o.timeout)));
    co_return;
  }
  if (ec) {
    out = fetch_error(o.url, "reading the response failed: " + ec.message());
    co_return;
  }
  const auto& res = parser.get();
  unsigned status = res.result_int();
  if (status >= 300 && status < 400) {
    auto where = res.find(http::field::location);
    out = fetch_error(o.url, fmt::format("answered HTTP {} (a redirect{}); redirects are not followed: name the final URL",
                                         status, where == res.end() ? "" : " to " + std::string(where->value())));
    co_return;
  }
  if (status != 200) {
    out = fetch_error(o.url, fmt::format("answered HTTP {}, not 200", status));
    co_return;
  }
  out = res.body();
}

// One GET, within o.timeout (DNS resolution excepted: it is bounded by the system resolver).
asio::awaitable<void> fetch_once(const JwksFetchOptions& o, const JwksUrl& u, asio::ssl::context& ssl,
                                 std::optional<Result<std::string>>& out) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(u.host, u.port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out = fetch_error(o.url, fmt::format("cannot resolve {}: {}", u.host, ec.message()));
    co_return;
  }
  auto deadline = std::chrono::steady_clock::now() + o.timeout;
  beast::tcp_stream tcp_stream(ex);
  tcp_stream.expires_at(deadline);
  co_await tcp_stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out = fetch_error(o.url, ec == beast::error::timeout
                                 ? fmt::format("cannot connect to {}:{} within {}", u.host, u.port, describe(o.timeout))
                                 : fmt::format("cannot connect to {}:{}: {}", u.host, u.port, ec.message()));
    co_return;
  }
  if (!u.tls) {
    co_await request(tcp_stream, o, u, deadline, out);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), ssl);
  SSL* handle = stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(handle);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  bool named = !is_ip_literal(u.host);
  if (named ? (SSL_set_tlsext_host_name(handle, u.host.c_str()) != 1 ||
               X509_VERIFY_PARAM_set1_host(param, u.host.c_str(), u.host.size()) != 1)
            : X509_VERIFY_PARAM_set1_ip_asc(param, u.host.c_str()) != 1) {
    out = fetch_error(o.url, "cannot set up the host name check");
    co_return;
  }
  beast::get_lowest_layer(stream).expires_at(deadline);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    long verify = SSL_get_verify_result(handle);
    std::string why = verify != X509_V_OK ? fmt::format("the certificate was refused: {}", X509_verify_cert_error_string(verify))
                      : ec == beast::error::timeout ? fmt::format("no TLS handshake within {}", describe(o.timeout))
                                                     : ec.message();
    out = fetch_error(o.url, fmt::format("TLS with {} failed: {}", u.host, why));
    co_return;
  }
  co_await request(stream, o, u, deadline, out);
}

Status setup_tls(asio::ssl::context& ssl, const JwksFetchOptions& o) {
  boost::system::error_code ec;
  SSL_CTX_set_min_proto_version(ssl.native_handle(), TLS1_2_VERSION);
  if (!o.ca_file.empty()) {
    (void)ssl.load_verify_file(o.ca_file, ec);
    if (ec) return fetch_error(o.url, fmt::format("cannot load jwks_ca {}: {}", o.ca_file, ec.message()));
  } else {
    (void)ssl.set_default_verify_paths(ec);
    if (ec) return fetch_error(o.url, "cannot load the system trust store: " + ec.message());
  }
  (void)ssl.set_verify_mode(asio::ssl::verify_peer, ec);
  return Ok{};
}

void default_log(const std::string& line) { std::fprintf(stderr, "mcp-warden gateway: %s\n", line.c_str()); }

}  // namespace

Result<std::string> fetch_url(const JwksFetchOptions& options) {
  auto url = parse_jwks_url(options.url);
  if (!url) return fetch_error(options.url, url.error().message);
  asio::ssl::context ssl(asio::ssl::context::tls_client);
  if (auto st = setup_tls(ssl, options); !st.ok()) return st.error();
  asio::io_context io;
  std::optional<Result<std::string>> out;
  asio::co_spawn(io, fetch_once(options, *url, ssl, out), [&](std::exception_ptr e) {
    if (e && !out) out = fetch_error(options.url, "the fetch failed unexpectedly");
  });
  io.run();
  if (!out) return fetch_error(options.url, "the fetch did not complete");
  return std::move(*out);
}

struct RemoteJwks::State {
  JwksFetchOptions options;
  JwksUrl url;
  asio::ssl::context ssl{asio::ssl::context::tls_client};  // outlives the io_context's streams
  asio::io_context io;
  asio::steady_timer timer{io};
  std::atomic<std::shared_ptr<const Jwks>> current;
  std::atomic<bool> early_pending{false};
  std::atomic<int64_t> next_early_ns{0};  // steady clock; before it, request_refetch does nothing
  std::string last_body;                  // of the current set (the fetcher thread's)
  mutable std::mutex stats_mu;
  JwksFetchStats stats;
  std::thread thread;

  void log(const std::string& line) const { options.log ? options.log(line) : default_log(line); }

  // Fetches and, if the set is good, publishes it; the error otherwise (the old set stays).
  asio::awaitable<void> refetch(std::optional<Status>& result) {
    std::optional<Result<std::string>> body;
    co_await fetch_once(options, url, ssl, body);
    if (!body) body = fetch_error(options.url, "the fetch did not complete");
    result = accept(std::move(*body));
  }

  Status accept(Result<std::string> body) {
    if (!body) return body.error();
    if (!last_body.empty() && *body == last_body) return Ok{};
    auto set = Jwks::parse(*body, options.url);
    if (!set) return set.error();
    if (set->keys().empty()) return fetch_error(options.url, "the key set holds no RS256 or ES256 signing key");
    current.store(std::make_shared<const Jwks>(std::move(*set)), std::memory_order_release);
    last_body = std::move(*body);
    return Ok{};
  }

  void count(const Status& st, bool early) {
    std::lock_guard lock(stats_mu);
    if (st.ok()) {
      ++stats.fetched;
      stats.last_error.clear();
    } else {
      ++stats.failed;
      stats.last_error = st.error().message;
    }
    if (early) ++stats.early;
  }

  asio::awaitable<void> refresh_loop() {
    uint64_t streak = 0;
    milliseconds wait = options.refresh;
    for (;;) {
      if (!early_pending.load()) {
        boost::system::error_code ec;
        timer.expires_after(wait);
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));  // cancelled: early
      }
      bool early = early_pending.exchange(false);
      std::string before = last_body;
      std::optional<Status> st;
      co_await refetch(st);
      count(*st, early);
      auto set = current.load();
      if (st->ok()) {
        if (last_body != before || streak > 0)
          log(fmt::format("JWKS {} refreshed: {}{}", options.url, keys_text(*set),
                          streak > 0 ? fmt::format(" (after {} failed attempt{})", streak, streak == 1 ? "" : "s") : ""));
        streak = 0;
        wait = options.refresh;
        continue;
      }
      ++streak;
      wait = std::min<milliseconds>(options.refresh, options.retry_initial * (int64_t{1} << std::min<uint64_t>(streak - 1, 20)));
      if (streak == 1)
        log(fmt::format("{}; keeping the last good set ({}), retrying in {} and then with backoff "
                        "(further failures are not logged until a refresh succeeds)",
                        st->error().message, keys_text(*set), describe(wait)));
    }
  }
};

RemoteJwks::RemoteJwks(std::unique_ptr<State> state) : m_state(std::move(state)) {}

Result<std::shared_ptr<RemoteJwks>> RemoteJwks::start(JwksFetchOptions options) {
  auto url = parse_jwks_url(options.url);
  if (!url) return fetch_error(options.url, url.error().message);
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  state->url = std::move(*url);
  const JwksFetchOptions& o = state->options;
  if (o.refresh < milliseconds(1) || o.retry_initial < milliseconds(1) || o.timeout < milliseconds(1))
    return fetch_error(o.url, "refresh, retry and timeout must be positive");
  if (auto st = setup_tls(state->ssl, o); !st.ok()) return st.error();

  // The first fetch, on this thread: the caller learns at once whether the gateway has its keys.
  std::optional<Status> first;
  asio::co_spawn(state->io, state->refetch(first), [&](std::exception_ptr e) {
    if (e && !first) first = fetch_error(o.url, "the fetch failed unexpectedly");
  });
  state->io.run();
  if (!first) first = fetch_error(o.url, "the fetch did not complete");
  if (!first->ok())
    return Error{0, first->error().message + " (the first fetch must succeed: the gateway does not start without "
                                              "its keys; check the URL, the network and jwks_ca)"};
  state->count(*first, false);
  state->log(fmt::format("JWKS {} fetched: {}, refreshed every {}", o.url, keys_text(*state->current.load()),
                         describe(o.refresh)));

  state->io.restart();
  State* s = state.get();
  asio::co_spawn(s->io, s->refresh_loop(), [s](std::exception_ptr e) {
    if (e) s->log(fmt::format("JWKS {}: the refresher stopped unexpectedly; the last good set stays", s->options.url));
  });
  s->thread = std::thread([s] { s->io.run(); });
  return std::make_shared<RemoteJwks>(std::move(state));
}

namespace {
std::mutex g_live_mu;
std::vector<std::weak_ptr<RemoteJwks>> g_live;
}  // namespace

Result<std::shared_ptr<RemoteJwks>> RemoteJwks::shared(JwksFetchOptions options) {
  std::lock_guard lock(g_live_mu);
  std::erase_if(g_live, [](const std::weak_ptr<RemoteJwks>& w) { return w.expired(); });
  for (const auto& w : g_live)
    if (auto live = w.lock(); live && live->options() == options) return live;
  auto started = start(std::move(options));
  if (started) g_live.push_back(*started);
  return started;
}

RemoteJwks::~RemoteJwks() {
  m_state->io.stop();  // abandons a fetch in flight: the join below does not wait for a timeout
  if (m_state->thread.joinable()) m_state->thread.join();
}

std::shared_ptr<const Jwks> RemoteJwks::current() const { return m_state->current.load(std::memory_order_acquire); }

const JwksFetchOptions& RemoteJwks::options() const { return m_state->options; }

JwksFetchStats RemoteJwks::stats() const {
  std::lock_guard lock(m_state->stats_mu);
  return m_state->stats;
}

void RemoteJwks::request_refetch() {
  State& s = *m_state;
  int64_t now = steady_ns();
  int64_t next = s.next_early_ns.load(std::memory_order_relaxed);
  if (now < next) return;
  int64_t after = now + std::chrono::duration_cast<std::chrono::nanoseconds>(s.options.min_refetch).count();
  if (!s.next_early_ns.compare_exchange_strong(next, after)) return;  // another thread just did it
  s.early_pending.store(true);
  asio::post(s.io, [state = &s] { state->timer.cancel(); });
}

}  // namespace warden::gateway::auth
