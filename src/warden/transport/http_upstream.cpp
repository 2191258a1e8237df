#include "warden/transport/http_upstream.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <optional>

#include <boost/asio.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "warden/codec/codec.h"
#include "warden/util/json_writer.h"
#include "warden/util/strings.h"

namespace warden::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;

namespace {

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

constexpr uint32_t k_default_retry_ms = 1000;
constexpr uint32_t k_max_retry_ms = 60000;
constexpr uint32_t k_delete_timeout_ms = 5000;
constexpr int k_max_resumptions = 5;  // per POST stream, without an event in between

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// The SSE wire format (WHATWG HTML, "Server-sent events"): lines end in CRLF, LF or CR; `data:`
// lines join with LF; `id:` sets the last event id; `retry:` the reconnection delay; lines starting
// with `:` are comments; an empty line dispatches. An event with empty data is not dispatched (MCP
// servers send one with only an id and retry to prime a stream).
class SseParser {
public:
  struct Event {
    std::string type, data;
  };
  explicit SseParser(size_t max_event) : m_max(max_event) {}

  // Appends complete events to `out`; false when a line or an event outgrows the limit.
  bool feed(std::string_view chunk, std::vector<Event>& out) {
    size_t pos = 0;
    while (pos < chunk.size()) {
      if (m_skip_lf) {
        m_skip_lf = false;
        if (chunk[pos] == '\n') {
          ++pos;
          continue;
        }
      }
      size_t end = chunk.find_first_of("\r\n", pos);
      if (end == std::string_view::npos) {
        m_line.append(chunk.substr(pos));
        return m_line.size() <= m_max;
      }
      m_line.append(chunk.substr(pos, end - pos));
      m_skip_lf = chunk[end] == '\r';
      pos = end + 1;
      if (m_line.size() > m_max) return false;
      line(out);
      m_line.clear();
      if (m_data.size() > m_max) return false;
    }
    return true;
  }
  const std::string& last_event_id() const { return m_last_id; }
  std::optional<uint32_t> retry_ms() const { return m_retry; }

private:
  void line(std::vector<Event>& out) {
    std::string_view l = m_line;
    if (l.empty()) {
      if (m_id_set) m_last_id = m_id_buffer;
      // Empty data (or only blank data lines) is a priming event, not a message.
      if (m_has_data && m_data.find_first_not_of(" \t\n") != std::string::npos) out.push_back({m_type, m_data});
      m_data.clear();
      m_type.clear();
      m_has_data = false;
      return;
    }
    if (l.front() == ':') return;
    size_t colon = l.find(':');
    std::string_view field = l.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "data") {
      if (m_has_data) m_data += '\n';
      m_data.append(value);
      m_has_data = true;
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) {
        m_id_buffer = std::string(value);
        m_id_set = true;
      }
    } else if (field == "event") {
      m_type = std::string(value);
    } else if (field == "retry") {
      if (all_digits(value) && value.size() < 10)
        m_retry = std::min<uint32_t>(static_cast<uint32_t>(std::stoul(std::string(value))), k_max_retry_ms);
    }
  }

  size_t m_max;
  std::string m_line, m_data, m_type, m_id_buffer, m_last_id;
  bool m_has_data = false, m_id_set = false, m_skip_lf = false;
  std::optional<uint32_t> m_retry;
};

// One connection to the server, plain or TLS.
struct Conn {
  Conn(asio::any_io_executor ex, ssl::context* ctx) : resolver(ex), sock(ex) {
    if (ctx) tls = std::make_unique<ssl::stream<tcp::socket>>(ex, *ctx);
  }
  tcp::resolver resolver;
  tcp::socket sock;  // the plain socket (unused with TLS)
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buf;
  tcp::socket& lowest() { return tls ? tls->next_layer() : sock; }
  template <class F> auto with(F&& f) {
    if (tls) return f(*tls);
    return f(sock);
  }
  void shut() {
    error_code ec;
    resolver.cancel();
    lowest().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close(ec);
  }
};

// Closes the watched connection when the deadline passes; the awaiting coroutine then fails with
// operation_aborted and reads `fired()`.
class Watchdog {
public:
  Watchdog(asio::any_io_executor ex, uint32_t ms) : m_timer(ex) {
    m_timer.expires_after(std::chrono::milliseconds(ms));
    m_timer.async_wait([st = m_state](error_code ec) {
      if (ec || !st->armed) return;
      st->fired = true;
      if (auto c = st->conn.lock()) c->shut();
    });
  }
  ~Watchdog() { disarm(); }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  void watch(const std::shared_ptr<Conn>& c) { m_state->conn = c; }
  void disarm() {
    m_state->armed = false;
    m_timer.cancel();
  }
  bool fired() const { return m_state->fired; }

private:
  struct State {
    std::weak_ptr<Conn> conn;
    bool armed = true, fired = false;
  };
  std::shared_ptr<State> m_state = std::make_shared<State>();
  asio::steady_timer m_timer;
};

using Parser = http::response_parser<http::buffer_body>;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string status_text(const Parser& p) {
  const auto& res = p.get();
  std::string reason(sv(res.reason()));
  if (reason.empty()) reason = std::string(sv(http::obsolete_reason(res.result())));
  return fmt::format("HTTP {} {}", res.result_int(), reason);
}

std::string media_type(const Parser& p) {
  auto ct = util::to_lower(sv(p.get()[http::field::content_type]));
  auto semi = ct.find(';');
  if (semi != std::string::npos) ct.resize(semi);
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  return ct;
}

}  // namespace

Result<ParsedUrl> parse_upstream_url(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Error{2, fmt::format("url '{}': {}", url.size() > 200 ? std::string(url.substr(0, 200)) + "..." : std::string(url), why)};
  };
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("contains a space or control character");
  ParsedUrl u;
  std::string lower = util::to_lower(url.substr(0, std::min<size_t>(url.size(), 8)));
  std::string_view rest;
  if (lower.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else if (lower.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return bad("the scheme must be http:// or https://");
  }
  if (rest.find('#') != std::string_view::npos) return bad("a fragment (#...) has no meaning here; remove it");
  size_t auth_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view target = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos)
    return bad("user info (user:password@) is not supported; send credentials with `headers:`");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address needs its closing ']'");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
    if (!is_ip_literal(u.host)) return bad("the bracketed host is not an IPv6 address");
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) return bad("no host name");
  for (char c : u.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':'))
      return bad("the host name has a character that is not allowed");
  u.port = u.tls ? 443 : 80;
  if (!port_text.empty() || (authority.size() && authority.back() == ':')) {
    if (!all_digits(port_text) || port_text.size() > 5 || std::stoul(std::string(port_text)) == 0 ||
        std::stoul(std::string(port_text)) > 65535)
      return bad("the port must be a number from 1 to 65535");
    u.port = static_cast<uint16_t>(std::stoul(std::string(port_text)));
  }
  u.target = target.empty() ? "/" : target.front() == '?' ? "/" + std::string(target) : std::string(target);
  bool v6 = u.host.find(':') != std::string::npos;
  u.host_header = v6 ? "[" + u.host + "]" : u.host;
  if (u.port != (u.tls ? 443 : 80)) u.host_header += ":" + std::to_string(u.port);
  return u;
}

struct HttpUpstream::Impl : std::enable_shared_from_this<Impl> {
  // A message to POST and what it asks for.
  struct Outgoing {
    std::string body;
    std::vector<codec::Id> ids;  // its requests
    std::string init_key;        // the id key of an initialize request in it
    bool initialized_note = false;
  };
  // The requests of one POST still waiting for their responses, across resumed streams.
  struct Exchange {
    std::map<std::string, codec::Id> waiting;
  };

  Impl(asio::io_context& io_, HttpUpstreamOptions o, LineFn line, ClosedFn closed)
      : io(io_), opts(std::move(o)), on_line(std::move(line)), on_closed(std::move(closed)),
        out_dec(codec::Limits{opts.max_message_bytes, 128}), in_dec(codec::Limits{opts.max_message_bytes, 128}) {
    auto parsed = parse_upstream_url(opts.url);
    if (parsed.ok()) url = *parsed;
    else setup_error = parsed.error().message;
    display_url = fmt::format("{}://{}{}", url.tls ? "https" : "http", url.host_header,
                              url.target.substr(0, url.target.find('?')));
    if (setup_error.empty() && url.tls) {
      ssl_ctx.emplace(ssl::context::tls_client);
      error_code ec;
      if (opts.ca_file.empty()) ssl_ctx->set_default_verify_paths(ec);
      else ssl_ctx->load_verify_file(opts.ca_file, ec);
      if (ec) setup_error = fmt::format("cannot load the CA bundle '{}': {}", opts.ca_file, ec.message());
      ssl_ctx->set_verify_mode(ssl::verify_peer);
      SSL_CTX_set_min_proto_version(ssl_ctx->native_handle(), TLS1_2_VERSION);
    }
  }

  asio::io_context& io;
  HttpUpstreamOptions opts;
  LineFn on_line;
  ClosedFn on_closed;
  ParsedUrl url;
  std::string display_url, setup_error;
  std::optional<ssl::context> ssl_ctx;
  codec::Decoder out_dec, in_dec;

  bool stopped = false;  // close() or destruction: no more callbacks
  bool ended = false;    // the remote session is gone
  std::string ended_how;
  std::string undecodable;  // why the last strict deliver() refused a body
  std::string session, protocol;
  bool init_inflight = false, flushing = false, get_started = false;
  std::string init_key;
  std::deque<Outgoing> queue;  // sent while initialize was in flight
  uint32_t retry_ms = k_default_retry_ms;
  std::map<std::string, std::weak_ptr<Exchange>> pending;  // request id key -> its POST
  std::vector<std::shared_ptr<Conn>> idle;
  std::vector<std::weak_ptr<Conn>> live;
  std::vector<std::weak_ptr<asio::steady_timer>> timers;
  Stats stats;

  // ---- messages ---------------------------------------------------------------------------

  Outgoing analyze(std::string message) {
    Outgoing o;
    auto d = out_dec.decode(message);
    if (d.ok()) {
      for (const auto& m : d->messages) {
        if (m.kind == codec::Kind::request) {
          o.ids.push_back(m.id);
          if (m.method == "initialize") o.init_key = m.id.key();
        } else if (m.kind == codec::Kind::notification && m.method == "notifications/initialized") {
          o.initialized_note = true;
        }
      }
    } else if (const auto& id = out_dec.failed_id(); id.type == codec::Id::Type::integer || id.type == codec::Id::Type::string) {
      o.ids.push_back(id);  // not expected (the gateway checked it), but it still gets its answer
    }
    o.body = std::move(message);
    return o;
  }

  // A response for `key` arrived (m) or was answered with an error (m == nullptr).
  void answered(const std::string& key, const codec::Message* m) {
    if (auto it = pending.find(key); it != pending.end()) {
      if (auto ex = it->second.lock()) ex->waiting.erase(key);
      pending.erase(it);
    }
    if (init_inflight && key == init_key) {
      if (m && m->kind == codec::Kind::response && !m->protocol_version.empty()) protocol = m->protocol_version;
      init_inflight = false;
      if (!queue.empty() && !flushing) asio::co_spawn(io, flush(shared_from_this()), asio::detached);
    }
  }

  // Hands one message (or each member of a batch) from the server to on_line.
  // With `strict`, a body that does not decode is refused (false) instead of passed on.
  bool deliver(std::string_view data, bool strict = false) {
    if (stopped) return true;
    std::vector<std::string> lines;
    auto d = in_dec.decode(data);
    if (!d.ok()) {
      if (strict) {
        undecodable = d.error().message;
        return false;
      }
      lines.emplace_back(data);  // the gateway's codec answers for it
    } else {
      for (const auto& m : d->messages) {
        if (m.kind == codec::Kind::response || m.kind == codec::Kind::error_response) answered(m.id.key(), &m);
        if (d->is_batch) lines.emplace_back(m.raw);
        else if (data.find_first_of("\r\n") != std::string_view::npos) lines.push_back(codec::serialize(m.root));
        else lines.emplace_back(data);
      }
    }
    emit(lines);
    return true;
  }

  void emit(const std::vector<std::string>& lines) {
    auto keep = shared_from_this();  // on_line may destroy the owner
    for (const auto& l : lines) {
      if (stopped || !on_line) return;
      auto fn = on_line;
      fn(l);
    }
  }

  // Error responses for every request of `ex` still waiting.
  void fail(const std::shared_ptr<Exchange>& ex, std::string_view why) {
    if (!ex || ex->waiting.empty()) return;
    ++stats.failures;
    std::string text = fmt::format("mcp-warden: remote server {}: {}", display_url, why);
    std::vector<std::string> lines;
    auto waiting = std::move(ex->waiting);
    ex->waiting.clear();
    for (const auto& [key, id] : waiting) {
      answered(key, nullptr);
      lines.push_back(codec::make_error_response(id, k_remote_error, text));
    }
    emit(lines);
  }

  void fail_ids(const std::vector<codec::Id>& ids, std::string_view why) {
    auto ex = std::make_shared<Exchange>();
    for (const auto& id : ids) ex->waiting.emplace(id.key(), id);
    fail(ex, why);
  }

  // The server ended the session: every waiting request fails, on_closed once, streams stop.
  void end_session(const std::string& how) {
    if (ended || stopped) return;
    ended = true;
    ended_how = how;
    std::vector<std::shared_ptr<Exchange>> all;
    for (auto& [key, w] : pending)
      if (auto ex = w.lock()) all.push_back(ex);
    for (auto& ex : all) fail(ex, how);
    for (auto& q : queue) fail_ids(q.ids, how);
    queue.clear();
    shut_all();
    if (!stopped && on_closed) {
      auto keep = shared_from_this();
      auto fn = on_closed;
      fn(how);
    }
  }

  void send(std::string message) {
    if (stopped) return;
    Outgoing o = analyze(std::move(message));
    if (!setup_error.empty() || ended) {
      // Answered from the event loop, never from inside send().
      asio::post(io, [keep = shared_from_this(), ids = std::move(o.ids)] {
        keep->fail_ids(ids, keep->ended ? keep->ended_how : keep->setup_error);
      });
      return;
    }
    if (init_inflight || flushing) {
      queue.push_back(std::move(o));
      return;
    }
    if (!o.init_key.empty()) {
      init_inflight = true;
      init_key = o.init_key;
    }
    asio::co_spawn(io, post(shared_from_this(), std::move(o), nullptr), asio::detached);
  }

  // Sends what waited for the initialize response, in order: each POST starts once the previous
  // one's response headers arrived (the server has taken it).
  awaitable<void> flush(std::shared_ptr<Impl> keep) {
    flushing = true;
    while (!queue.empty() && !stopped && !ended && !init_inflight) {
      Outgoing o = std::move(queue.front());
      queue.pop_front();
      if (!o.init_key.empty()) {
        init_inflight = true;
        init_key = o.init_key;
      }
      auto gate = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
      asio::co_spawn(io, post(keep, std::move(o), gate), asio::detached);
      error_code ec;
      co_await gate->async_wait(asio::redirect_error(use_awaitable, ec));
    }
    flushing = false;
    if (!queue.empty() && !init_inflight && !stopped && !ended)
      asio::co_spawn(io, flush(keep), asio::detached);
  }

  // ---- connections --------------------------------------------------------------------------

  std::shared_ptr<Conn> take_idle() {
    while (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      if (c->lowest().is_open()) return c;
    }
    return nullptr;
  }

  void give_back(std::shared_ptr<Conn> c, const Parser& p) {
    if (stopped || ended || !p.is_done() || !p.keep_alive() || !c->lowest().is_open()) return;
    if (idle.size() >= opts.max_idle_connections) return;
    c->buf.consume(c->buf.size());
    idle.push_back(std::move(c));
  }

  std::shared_ptr<Conn> new_conn() {
    auto c = std::make_shared<Conn>(io.get_executor(), ssl_ctx ? &*ssl_ctx : nullptr);
    std::erase_if(live, [](const auto& w) { return w.expired(); });
    live.push_back(c);
    return c;
  }

  void shut_all() {
    idle.clear();
    for (auto& w : live)
      if (auto c = w.lock()) c->shut();
    live.clear();
    for (auto& w : timers)
      if (auto t = w.lock()) t->cancel();
    timers.clear();
  }

  // Resolves, connects and (for https) handshakes; an empty string on success.
  awaitable<std::string> connect(std::shared_ptr<Conn> c) {
    ++stats.connections_opened;
    error_code ec;
    auto results = co_await c->resolver.async_resolve(url.host, std::to_string(url.port),
                                                      asio::redirect_error(use_awaitable, ec));
    if (ec) co_return fmt::format("cannot resolve {}: {}", url.host, ec.message());
    co_await asio::async_connect(c->lowest(), results, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return fmt::format("cannot connect to {}: {}", url.host_header, ec.message());
    c->lowest().set_option(tcp::no_delay(true), ec);
    if (!c->tls) co_return std::string();
    SSL* s = c->tls->native_handle();
    if (is_ip_literal(url.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(s, url.host.c_str());
      SSL_set1_host(s, url.host.c_str());
    }
    co_await c->tls->async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      long v = SSL_get_verify_result(s);
      std::string detail = v != X509_V_OK ? X509_verify_cert_error_string(v) : ec.message();
      co_return fmt::format("TLS handshake with {} failed: {}", url.host_header, detail);
    }
    co_return std::string();
  }

  template <class Req> void add_headers(Req& req) {
    req.set(http::field::host, url.host_header);
    req.set(http::field::user_agent, "mcp-warden/" WARDEN_VERSION);
    for (const auto& [name, value] : opts.headers) req.set(name, value);
    if (!session.empty()) req.set("Mcp-Session-Id", session);
    if (!protocol.empty()) req.set("MCP-Protocol-Version", protocol);
  }

  struct Opened {
    std::shared_ptr<Conn> conn;
    std::unique_ptr<Parser> parser;
    std::string error;  // set on failure
  };

  // Sends `req` on an idle connection (once more on a fresh one if the idle one turns out closed)
  // or a new one, and reads the response header.
  // `closing`: the DELETE of close(), which runs after `stopped` is set.
  awaitable<Opened> open(http::request<http::string_body>& req, Watchdog& wd, uint64_t body_limit,
                         bool closing = false) {
    Opened r;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto c = take_idle();
      bool reused = c != nullptr;
      if (reused) ++stats.connections_reused;
      else c = new_conn();
      wd.watch(c);
      if (!reused) {
        std::string err = co_await connect(c);
        if (stopped && !closing) co_return r;
        if (!err.empty()) {
          r.error = wd.fired() ? "timed out connecting" : err;
          co_return r;
        }
      }
      error_code ec;
      co_await c->with([&](auto& s) { return http::async_write(s, req, asio::redirect_error(use_awaitable, ec)); });
      if (stopped && !closing) co_return r;
      if (ec) {
        if (reused && !wd.fired()) continue;
        r.error = wd.fired() ? "timed out sending the request" : "sending the request failed: " + ec.message();
        co_return r;
      }
      auto p = std::make_unique<Parser>();
      p->body_limit(body_limit);
      p->header_limit(64 * 1024);
      co_await c->with([&](auto& s) { return http::async_read_header(s, c->buf, *p, asio::redirect_error(use_awaitable, ec)); });
      if (stopped && !closing) co_return r;
      if (ec) {
        bool nothing = ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                       ec == asio::error::eof;
        if (reused && nothing && !wd.fired()) continue;
        if (ec == http::error::body_limit)
          r.error = fmt::format("the response body is larger than the limit of {} bytes", opts.max_message_bytes);
        else r.error = wd.fired() ? "timed out waiting for the response" : "reading the response failed: " + ec.message();
        co_return r;
      }
      r.conn = std::move(c);
      r.parser = std::move(p);
      co_return r;
    }
    r.error = "the connection closed before the response";
    co_return r;
  }

  // Reads the body in pieces; `on_data` returns false to stop. Returns the error text, empty when
  // the body ended.
  template <class F>
  awaitable<std::string> read_body(Conn& c, Parser& p, Watchdog& wd, F on_data, bool closing = false) {
    char buf[16384];
    while (!p.is_done()) {
      p.get().body().data = buf;
      p.get().body().size = sizeof buf;
      error_code ec;
      co_await c.with([&](auto& s) { return http::async_read_some(s, c.buf, p, asio::redirect_error(use_awaitable, ec)); });
      if (stopped && !closing) co_return "stopped";
      if (ec == http::error::need_buffer) ec = {};
      size_t n = sizeof buf - p.get().body().size;
      if (n && !on_data(std::string_view(buf, n))) co_return "stopped";
      if (ec == http::error::body_limit)
        co_return fmt::format("the response body is larger than the limit of {} bytes", opts.max_message_bytes);
      if (ec) co_return wd.fired() ? "timed out reading the response" : "reading the response failed: " + ec.message();
    }
    co_return std::string();
  }

  // Reads an SSE body, delivering each event's data; the error text, empty when the stream ended.
  awaitable<std::string> read_sse(Conn& c, Parser& p, Watchdog& wd, SseParser& sse, bool& progressed) {
    p.body_limit(boost::none);  // a stream is as long as it lasts; each event is bounded
    bool too_big = false;
    std::vector<SseParser::Event> events;
    std::string err = co_await read_body(c, p, wd, [&](std::string_view chunk) {
      events.clear();
      if (!sse.feed(chunk, events)) {
        too_big = true;
        return false;
      }
      if (auto r = sse.retry_ms()) retry_ms = *r;
      for (auto& e : events) {
        if (!e.type.empty() && e.type != "message") continue;
        progressed = true;
        deliver(e.data);
        if (stopped) return false;
      }
      return true;
    });
    if (too_big) co_return fmt::format("an SSE event is larger than the limit of {} bytes", opts.max_message_bytes);
    co_return err;
  }

  // ---- POST ---------------------------------------------------------------------------------

  awaitable<void> post(std::shared_ptr<Impl> keep, Outgoing o, std::shared_ptr<asio::steady_timer> gate) {
    struct Release {
      std::shared_ptr<asio::steady_timer> g;
      void operator()() {
        if (g) g->cancel();
        g.reset();
      }
      ~Release() { (*this)(); }
    } release{gate};
    ++stats.posts;
    auto ex = std::make_shared<Exchange>();
    for (const auto& id : o.ids) {
      ex->waiting.emplace(id.key(), id);
      pending[id.key()] = ex;
    }
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    add_headers(req);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json, text/event-stream");
    bool had_session = !session.empty();
    req.body() = std::move(o.body);
    req.prepare_payload();

    Watchdog wd(io.get_executor(), opts.timeout_ms);
    Opened r = co_await open(req, wd, opts.max_message_bytes);
    if (stopped) co_return;
    if (!r.error.empty()) {
      release();
      fail(ex, r.error);
      co_return;
    }
    Parser& p = *r.parser;
    const auto& res = p.get();
    unsigned status = res.result_int();
    if (!o.init_key.empty() && status / 100 == 2) {
      auto sid = res["Mcp-Session-Id"];
      if (!sid.empty()) session = std::string(sid);
    }
    release();
    if (status == 404 && had_session) {
      fail(ex, "the remote server ended the session (HTTP 404)");
      end_session("the remote server ended the session (HTTP 404)");
      co_return;
    }
    if (status / 100 == 3) {
      fail(ex, status_text(p) + ": redirects are not followed; set the server's url to the final address");
      co_return;
    }
    if (status / 100 != 2) {
      fail(ex, status_text(p));
      co_return;
    }
    if (o.initialized_note) start_get_stream();
    std::string type = media_type(p);
    if (status == 202 || status == 204 || (p.content_length() && *p.content_length() == 0) ||
        (type != "text/event-stream" && type != "application/json")) {
      std::string err = co_await read_body(*r.conn, p, wd, [](std::string_view) { return true; });
      if (stopped) co_return;
      wd.disarm();
      if (err.empty()) give_back(r.conn, p);
      if (status == 200 && !ex->waiting.empty())
        fail(ex, fmt::format("HTTP 200 with Content-Type '{}' instead of JSON or an SSE stream", type));
      co_return;
    }
    if (type == "application/json") {
      std::string body;
      std::string err = co_await read_body(*r.conn, p, wd, [&](std::string_view chunk) {
        body.append(chunk);
        return true;
      });
      if (stopped) co_return;
      wd.disarm();
      if (!err.empty()) {
        fail(ex, err);
        co_return;
      }
      give_back(r.conn, p);
      if (!deliver(body, true)) {
        fail(ex, "the response body is not valid JSON-RPC: " + undecodable);
        co_return;
      }
      if (stopped) co_return;
      fail(ex, "the response did not answer this request");
      co_return;
    }
    // text/event-stream
    SseParser sse(opts.max_message_bytes);
    bool progressed = false;
    std::string err = co_await read_sse(*r.conn, p, wd, sse, progressed);
    if (stopped) co_return;
    bool timed_out = wd.fired();
    wd.disarm();
    if (err.empty()) give_back(r.conn, p);
    if (ex->waiting.empty() || ended) co_return;
    if (timed_out || sse.last_event_id().empty()) {
      fail(ex, err.empty() ? "the SSE stream ended before the response (and gave no event id to resume from)" : err);
      co_return;
    }
    ++stats.resumptions;
    asio::co_spawn(io, get_stream(keep, ex, sse.last_event_id(), sse.retry_ms().value_or(retry_ms)), asio::detached);
  }

  // ---- GET streams --------------------------------------------------------------------------

  void start_get_stream() {
    if (get_started || stopped || ended) return;
    get_started = true;
    asio::co_spawn(io, get_stream(shared_from_this(), nullptr, std::string(), 0), asio::detached);
  }

  awaitable<bool> wait_ms(uint32_t ms) {
    if (ms == 0) co_return !stopped && !ended;
    auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(ms));
    timers.push_back(t);
    error_code ec;
    co_await t->async_wait(asio::redirect_error(use_awaitable, ec));
    std::erase_if(timers, [](const auto& w) { return w.expired(); });
    co_return !stopped && !ended && !ec;
  }

  // The standalone stream (ex == nullptr) or the resumption of a POST's stream (ex: its waiting
  // requests), reconnecting with Last-Event-ID after the retry delay until it is no longer needed.
  awaitable<void> get_stream([[maybe_unused]] std::shared_ptr<Impl> keep, std::shared_ptr<Exchange> ex, std::string last_id,
                             uint32_t delay_ms) {
    int failures = 0;
    int idle_rounds = 0;
    for (;;) {
      if (!co_await wait_ms(delay_ms)) co_return;
      if (ex && ex->waiting.empty()) co_return;
      ++stats.get_streams;
      http::request<http::string_body> req{http::verb::get, url.target, 11};
      add_headers(req);
      req.set(http::field::accept, "text/event-stream");
      if (!last_id.empty()) req.set("Last-Event-ID", last_id);
      bool had_session = !session.empty();
      Watchdog wd(io.get_executor(), opts.timeout_ms);
      Opened r = co_await open(req, wd, opts.max_message_bytes);
      if (stopped || ended) co_return;
      std::string problem = r.error;
      if (problem.empty()) {
        Parser& p = *r.parser;
        unsigned status = p.get().result_int();
        if (status == 405) {
          fail(ex, "the SSE stream ended before the response and the server does not resume streams (GET: HTTP 405)");
          co_return;
        }
        if (status == 404 && had_session) {
          end_session("the remote server ended the session (HTTP 404)");
          co_return;
        }
        if (status == 200 && media_type(p) == "text/event-stream") {
          wd.disarm();  // a stream lasts as long as the server keeps it
          failures = 0;
          SseParser sse(opts.max_message_bytes);
          bool progressed = false;
          problem = co_await read_sse(*r.conn, p, wd, sse, progressed);
          if (stopped || ended) co_return;
          if (!sse.last_event_id().empty()) last_id = sse.last_event_id();
          idle_rounds = progressed ? 0 : idle_rounds + 1;
          if (ex && ex->waiting.empty()) co_return;
          if (ex && (last_id.empty() || idle_rounds >= k_max_resumptions)) {
            fail(ex, "the SSE stream ended before the response");
            co_return;
          }
          delay_ms = sse.retry_ms().value_or(retry_ms);
          // A standalone stream the server keeps closing without sending anything backs off.
          if (!ex && idle_rounds > 3) delay_ms = std::min<uint32_t>(delay_ms << std::min(idle_rounds - 3, 5), k_max_retry_ms);
          if (ex) ++stats.resumptions;
          continue;
        }
        problem = status / 100 == 2 ? fmt::format("GET answered {} without an SSE stream", status_text(p))
                                    : "GET: " + status_text(p);
      }
      // Could not (re)open the stream: a POST's requests fail; the standalone stream backs off.
      if (ex) {
        fail(ex, problem);
        co_return;
      }
      ++failures;
      if (failures > 8) co_return;
      delay_ms = std::min<uint32_t>(std::max(retry_ms, k_default_retry_ms) << std::min(failures, 5), k_max_retry_ms);
    }
  }

  // ---- DELETE -------------------------------------------------------------------------------

  awaitable<void> delete_session([[maybe_unused]] std::shared_ptr<Impl> keep, std::string sid) {
    http::request<http::string_body> req{http::verb::delete_, url.target, 11};
    add_headers(req);
    req.set("Mcp-Session-Id", sid);
    req.set(http::field::connection, "close");
    req.prepare_payload();
    Watchdog wd(io.get_executor(), std::min(opts.timeout_ms, k_delete_timeout_ms));
    Opened r = co_await open(req, wd, 64 * 1024, true);
    if (r.error.empty() && r.conn)
      co_await read_body(*r.conn, *r.parser, wd, [](std::string_view) { return true; }, true);
    if (r.conn) r.conn->shut();
  }

  void close() {
    if (stopped) return;
    stopped = true;
    on_line = nullptr;
    on_closed = nullptr;
    queue.clear();
    shut_all();
    if (!session.empty() && !ended && setup_error.empty()) {
      asio::co_spawn(io, delete_session(shared_from_this(), session), asio::detached);
    }
  }
};

HttpUpstream::HttpUpstream(asio::io_context& io, HttpUpstreamOptions options, LineFn on_line, ClosedFn on_closed)
    : m_impl(std::make_shared<Impl>(io, std::move(options), std::move(on_line), std::move(on_closed))) {}

HttpUpstream::~HttpUpstream() { m_impl->close(); }

Result<HttpUpstreamOptions> HttpUpstream::check(HttpUpstreamOptions options) {
  auto u = parse_upstream_url(options.url);
  if (!u.ok()) return u.error();
  static constexpr std::string_view k_reserved[] = {"host", "content-length", "transfer-encoding", "connection",
                                                    "content-type", "accept", "mcp-session-id",
                                                    "mcp-protocol-version", "last-event-id", "upgrade", "te"};
  for (const auto& [name, value] : options.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
      return Error{2, fmt::format("url {}: header name '{}' is not a valid HTTP header name", options.url, name)};
    std::string lower = util::to_lower(name);
    for (auto r : k_reserved)
      if (lower == r)
        return Error{2, fmt::format("url {}: header '{}' is set by the warden itself; remove it", options.url, name)};
    for (char c : value)
      if (c == '\r' || c == '\n' || c == '\0')
        // The value is a secret: name the header, never show the value.
        return Error{2, fmt::format("url {}: the value of header '{}' has a line break or NUL", options.url, name)};
  }
  if (!options.ca_file.empty()) {
    if (!u->tls) return Error{2, fmt::format("url {}: ca_file is only used with https://", options.url)};
    ssl::context ctx(ssl::context::tls_client);
    error_code ec;
    ctx.load_verify_file(options.ca_file, ec);
    if (ec)
      return Error{2, fmt::format("url {}: cannot load the CA bundle '{}': {} (a PEM file is expected)", options.url,
                                  options.ca_file, ec.message())};
  }
  if (options.timeout_ms == 0) return Error{2, fmt::format("url {}: timeout must be more than 0 ms", options.url)};
  if (options.max_message_bytes == 0)
    return Error{2, fmt::format("url {}: max_message_bytes must be more than 0", options.url)};
  return options;
}

void HttpUpstream::send(std::string message) { m_impl->send(std::move(message)); }
void HttpUpstream::close() { m_impl->close(); }
const std::string& HttpUpstream::session_id() const { return m_impl->session; }
const std::string& HttpUpstream::protocol_version() const { return m_impl->protocol; }
HttpUpstream::Stats HttpUpstream::stats() const { return m_impl->stats; }

std::string HttpUpstream::describe_json() const {
  std::string out = "{\"url\":";
  util::append_json_string(out, m_impl->display_url);
  out += ",\"session\":";
  util::append_json_string(out, m_impl->session);
  out += ",\"protocol\":";
  util::append_json_string(out, m_impl->protocol);
  out += '}';
  return out;
}

}  // namespace warden::transport
