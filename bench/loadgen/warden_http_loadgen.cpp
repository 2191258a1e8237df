// Load generator for Streamable HTTP MCP endpoints (issue 6, item 7).
//
//   warden_http_loadgen --url http://127.0.0.1:PORT/mcp [--sessions 64] [--requests N | --duration S]
//                       [--header "Authorization: Bearer KEY"]... [--timeout-ms 5000]
//                       [--setup-timeout-ms 120000] [--threads 1] [--text-bytes 32] [--protocol V]
//                       [--hold S] [--no-delete] [--label NAME]
//   warden_http_loadgen --url ... [--half-open N] [--slow-readers M] [--slow-bytes B] [--churn C] --duration S
//
// Load mode: opens N sessions at once (initialize, then notifications/initialized), waits until
// every session is set up, then each session sends tools/call `echo` requests one after another
// on its own kept-alive connection until it has sent --requests or --duration has passed. An
// answer counts as ok only when it is HTTP 200 carrying a JSON-RPC result with the request's id,
// either as application/json or inside a text/event-stream; a non-200, a JSON-RPC error, a
// missing/mismatched result, a transport error and a timeout are counted apart as errors (a
// timed-out or closed connection is reopened, the MCP session kept). At the end each session is
// ended with DELETE (unless --no-delete). --hold S keeps the sessions open S seconds after setup
// (it prints "HOLD ready" then), for memory measurements.
//
// Disturb mode (--half-open / --slow-readers, no load): N connections that send half a request
// and stop (half of them stop inside the headers, half inside the body), and M sessions that ask
// for a large echo (--slow-bytes) as an SSE stream and read it 512 bytes every 50 ms through a
// small receive buffer, over and over, until --duration ends. Run it beside a load run to see
// whether they stall other clients. --churn C runs C loops that open a session (initialize,
// initialized) and end it (DELETE), one after another.
//
// Output: human lines, then one machine line `RESULT key=value ...` for bench/gateway_load.sh.
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <simdjson.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

namespace {
std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }
}  // namespace

namespace {

struct Url {
  std::string host, port, path;
};

std::optional<Url> parse_url(const std::string& u) {
  if (u.rfind("http://", 0) != 0) return std::nullopt;
  Url r;
  std::string rest = u.substr(7);
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  r.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  r.host = hostport.substr(0, colon);
  r.port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  return r;
}

struct Config {
  Url url;
  int sessions = 64;
  long requests = 0;  // per session; 0 with --duration 0 means 1000
  double duration = 0;
  int timeout_ms = 5000, setup_timeout_ms = 120000;
  int threads = 1;
  size_t text_bytes = 32;
  std::string protocol = "2025-06-18";
  std::string accept = "application/json, text/event-stream";
  std::vector<std::pair<std::string, std::string>> headers;
  double hold = 0;
  bool del = true;
  std::string label = "load";
  int half_open = 0, slow_readers = 0, churn = 0;
  size_t slow_bytes = 1u << 20;
};

// What one session saw.
struct Tally {
  std::vector<int32_t> latencies_us;
  int64_t setup_us = -1;
  long ok = 0, http_errors = 0, rpc_errors = 0, timeouts = 0, transport_errors = 0, reconnects = 0;
  long no_length_2xx = 0;  // 2xx answers to notifications without Content-Length (see Session::post)
  bool setup_ok = false;
  std::string first_error;
  void note(std::string e) {
    if (first_error.empty()) first_error = std::move(e);
  }
  long errors() const { return http_errors + rpc_errors + timeouts + transport_errors; }
};

// The main thread's start signal: set once every session is set up (or failed to).
struct Shared {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point deadline = Clock::time_point::max();  // written before `go`
  std::atomic<int> held{0};
};

std::string echo_call(long id, const std::string& text) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":"echo","arguments":{"text":")" + text + R"("}}})";
}

std::string filler(size_t n) {
  std::string t(n, 'a');
  for (size_t i = 0; i < n; i += 7) t[i] = static_cast<char>('a' + i % 26);
  return t;
}

// The JSON-RPC message answering `id` in an SSE body (several events may precede it), or the body.
std::string_view pick_message(std::string_view body, bool sse, long id, std::string& scratch) {
  if (!sse) return body;
  const std::string want = "\"id\":" + std::to_string(id);
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view ev = body.substr(pos, end - pos);
    scratch.clear();
    size_t lp = 0;
    while (lp < ev.size()) {
      size_t le = ev.find('\n', lp);
      if (le == std::string_view::npos) le = ev.size();
      std::string_view line = ev.substr(lp, le - lp);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.rfind("data:", 0) == 0) {
        line.remove_prefix(5);
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        if (!scratch.empty()) scratch += '\n';
        scratch.append(line);
      }
      lp = le + 1;
    }
    for (size_t at = scratch.find(want); at != std::string::npos; at = scratch.find(want, at + 1)) {
      size_t after = at + want.size();
      if (after >= scratch.size() || scratch[after] < '0' || scratch[after] > '9') return scratch;
    }
    pos = end + 2;
  }
  return {};
}

class Session {
public:
  Session(asio::any_io_executor ex, const Config& c, Tally& t) : m_ex(ex), m_cfg(c), m_t(t), m_stream(ex) {}

  awaitable<bool> connect(int timeout_ms) {
    beast::error_code ec;
    tcp::resolver res(m_ex);
    auto eps = co_await res.async_resolve(m_cfg.url.host, m_cfg.url.port, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return fail_transport("resolve: " + ec.message());
    m_stream.expires_after(std::chrono::milliseconds(timeout_ms));
    co_await m_stream.async_connect(eps, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return fail_transport("connect: " + ec.message());
    m_stream.socket().set_option(tcp::no_delay(true), ec);
    m_connected = true;
    co_return true;
  }

  // POSTs one JSON-RPC message. For a request (id >= 0) the answer must be a result with that id.
  awaitable<bool> post(const std::string& json, long id, int timeout_ms) {
    if (!m_connected) {
      ++m_t.reconnects;
      bool ok = co_await connect(timeout_ms);
      if (!ok) co_return false;
    }
    http::request<http::string_body> req{http::verb::post, m_cfg.url.path, 11};
    req.set(http::field::host, m_cfg.url.host + ":" + m_cfg.url.port);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, m_cfg.accept);
    if (!m_session.empty()) {
      req.set("Mcp-Session-Id", m_session);
      req.set("MCP-Protocol-Version", m_cfg.protocol);
    }
    for (const auto& [k, v] : m_cfg.headers) req.set(k, v);
    req.body() = json;
    req.keep_alive(true);
    req.prepare_payload();
    beast::error_code ec;
    m_stream.expires_after(std::chrono::milliseconds(timeout_ms));
    co_await http::async_write(m_stream, req, asio::redirect_error(use_awaitable, ec));
    http::response_parser<http::string_body> p;
    p.body_limit(256u << 20);
    if (!ec) co_await http::async_read_header(m_stream, m_buf, p, asio::redirect_error(use_awaitable, ec));
    // A 202 answer to a notification without Content-Length or chunking: by RFC 9112 its body
    // runs to the end of the connection, so a strict reader would wait for the close. Take it as
    // empty (what the server meant) and count it: bench/gateway_load.sh reports the count.
    bool no_length = !ec && !p.chunked() && !p.content_length() && p.get().result_int() / 100 == 2;
    if (no_length && id < 0) ++m_t.no_length_2xx;
    else if (!ec) co_await http::async_read(m_stream, m_buf, p, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      drop();
      if (ec == beast::error::timeout) {
        ++m_t.timeouts;
        m_t.note("timeout after " + std::to_string(timeout_ms) + " ms");
        co_return false;
      }
      co_return fail_transport("http: " + ec.message());
    }
    auto& res = p.get();
    if (!res.keep_alive()) drop();
    if (m_session.empty()) m_session = std::string(sv(res["Mcp-Session-Id"]));
    int status = res.result_int();
    if (id < 0) {  // a notification: 202 (or 200/204)
      if (status / 100 != 2) co_return fail_http(status, res.body());
      co_return true;
    }
    if (status != 200) co_return fail_http(status, res.body());
    bool sse = sv(res[http::field::content_type]).find("text/event-stream") != std::string_view::npos;
    std::string scratch;
    std::string_view msg = pick_message(res.body(), sse, id, scratch);
    simdjson::padded_string padded(msg);
    simdjson::dom::object o;
    int64_t got_id = -1;
    if (msg.empty() || m_parser.parse(padded).get(o) != simdjson::SUCCESS || o["result"].error() != simdjson::SUCCESS ||
        o["id"].get_int64().get(got_id) != simdjson::SUCCESS || got_id != id) {
      ++m_t.rpc_errors;
      m_t.note("JSON-RPC: " + std::string(msg.empty() ? std::string_view(res.body()) : msg).substr(0, 300));
      co_return false;
    }
    co_return true;
  }

  awaitable<void> del() {
    if (m_session.empty()) co_return;
    if (!m_connected && !co_await connect(m_cfg.timeout_ms)) co_return;
    http::request<http::empty_body> req{http::verb::delete_, m_cfg.url.path, 11};
    req.set(http::field::host, m_cfg.url.host + ":" + m_cfg.url.port);
    req.set("Mcp-Session-Id", m_session);
    req.set("MCP-Protocol-Version", m_cfg.protocol);
    for (const auto& [k, v] : m_cfg.headers) req.set(k, v);
    req.keep_alive(false);
    beast::error_code ec;
    m_stream.expires_after(std::chrono::milliseconds(m_cfg.timeout_ms));
    co_await http::async_write(m_stream, req, asio::redirect_error(use_awaitable, ec));
    http::response<http::string_body> res;
    if (!ec) co_await http::async_read(m_stream, m_buf, res, asio::redirect_error(use_awaitable, ec));
    drop();
  }

  const std::string& id() const { return m_session; }

private:
  void drop() {
    beast::error_code ec;
    m_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    m_stream.close();
    m_buf.clear();
    m_connected = false;
  }
  bool fail_transport(std::string e) {
    ++m_t.transport_errors;
    m_t.note(std::move(e));
    drop();
    return false;
  }
  bool fail_http(int status, const std::string& body) {
    ++m_t.http_errors;
    m_t.note("HTTP " + std::to_string(status) + " " + body.substr(0, 300));
    return false;
  }

  asio::any_io_executor m_ex;
  const Config& m_cfg;
  Tally& m_t;
  beast::tcp_stream m_stream;
  beast::flat_buffer m_buf;
  bool m_connected = false;
  std::string m_session;
  simdjson::dom::parser m_parser;
};

const char* k_initialize =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"warden_http_loadgen","version":"1"}}})";
const char* k_initialized = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";

awaitable<void> wait_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(use_awaitable);
}

// connect, initialize (which must assign an Mcp-Session-Id), notifications/initialized.
awaitable<bool> open_session(Session& s, const Config& c, Tally& t) {
  bool ok = co_await s.connect(c.setup_timeout_ms);
  if (ok) ok = co_await s.post(k_initialize, 0, c.setup_timeout_ms);
  if (!ok) co_return false;
  if (s.id().empty()) {
    t.note("initialize answered without an Mcp-Session-Id");
    co_return false;
  }
  co_return co_await s.post(k_initialized, -1, c.setup_timeout_ms);
}

awaitable<void> run_session(const Config& c, Tally& t, Shared& sh) {
  auto ex = co_await asio::this_coro::executor;
  Session s(ex, c, t);
  auto t0 = Clock::now();
  t.setup_ok = co_await open_session(s, c, t);
  t.setup_us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  ++sh.ready;
  while (!sh.go.load()) co_await wait_ms(1);
  if (t.setup_ok) {
    const std::string text = filler(c.text_bytes);
    long n = c.requests > 0 ? c.requests : (c.duration > 0 ? -1 : 1000);
    t.latencies_us.reserve(n > 0 ? static_cast<size_t>(n) : 4096u);
    for (long i = 1; n < 0 || i <= n; ++i) {
      if (n < 0 && Clock::now() >= sh.deadline) break;
      auto a = Clock::now();
      bool ok = co_await s.post(echo_call(i, text), i, c.timeout_ms);
      auto b = Clock::now();
      if (ok) {
        ++t.ok;
        t.latencies_us.push_back(static_cast<int32_t>(std::chrono::duration_cast<std::chrono::microseconds>(b - a).count()));
      }
    }
  }
  if (c.hold > 0) {
    ++sh.held;
    co_await wait_ms(static_cast<int>(c.hold * 1000));
  }
  if (c.del) co_await s.del();
}

// ---- disturb mode ------------------------------------------------------------------------------

awaitable<void> half_open(const Config& c, int i, Clock::time_point until, std::atomic<int>& opened) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket sock(ex);
  beast::error_code ec;
  tcp::resolver res(ex);
  auto eps = co_await res.async_resolve(c.url.host, c.url.port, asio::redirect_error(use_awaitable, ec));
  if (!ec) co_await asio::async_connect(sock, eps, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  std::string head = "POST " + c.url.path + " HTTP/1.1\r\nHost: " + c.url.host + ":" + c.url.port +
                     "\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n";
  std::string part = i % 2 ? head.substr(0, head.size() / 2)
                           : head + "Content-Length: 1000\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"init";
  co_await asio::async_write(sock, asio::buffer(part), asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  ++opened;
  asio::steady_timer t(ex, until);
  co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}

awaitable<void> slow_reader(const Config& c, Tally& t, Clock::time_point until, std::atomic<long>& bytes) {
  auto ex = co_await asio::this_coro::executor;
  Session s(ex, c, t);
  bool opened = co_await open_session(s, c, t);
  if (!opened) co_return;
  const std::string call = echo_call(1, filler(c.slow_bytes));
  while (Clock::now() < until) {
    beast::error_code ec;
    tcp::resolver res(ex);
    tcp::socket sock(ex);
    auto eps = co_await res.async_resolve(c.url.host, c.url.port, asio::redirect_error(use_awaitable, ec));
    sock.open(tcp::v4(), ec);
    sock.set_option(asio::socket_base::receive_buffer_size(4096), ec);
    if (!ec) co_await asio::async_connect(sock, eps, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    std::string req = "POST " + c.url.path + " HTTP/1.1\r\nHost: " + c.url.host + ":" + c.url.port +
                      "\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                      "Mcp-Session-Id: " + s.id() + "\r\nMCP-Protocol-Version: " + c.protocol +
                      "\r\nContent-Length: " + std::to_string(call.size()) + "\r\n";
    for (const auto& [k, v] : c.headers) req += k + ": " + v + "\r\n";
    req += "\r\n" + call;
    co_await asio::async_write(sock, asio::buffer(req), asio::redirect_error(use_awaitable, ec));
    char buf[512];
    long got = 0;
    while (!ec && Clock::now() < until && got < static_cast<long>(c.slow_bytes) + 1000) {
      size_t n = co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
      got += static_cast<long>(n);
      bytes += static_cast<long>(n);
      co_await wait_ms(50);
    }
  }
}

// Opens and ends sessions one after another (initialize, initialized, DELETE) until `until`.
awaitable<void> churner(const Config& c, Tally& t, Clock::time_point until, std::atomic<long>& cycles) {
  auto ex = co_await asio::this_coro::executor;
  while (Clock::now() < until) {
    Session s(ex, c, t);
    bool opened = co_await open_session(s, c, t);
  if (!opened) co_return;
    co_await s.del();
    ++cycles;
  }
}

// ---- main --------------------------------------------------------------------------------------

double pct(const std::vector<int32_t>& v, double q) {
  if (v.empty()) return 0;
  return static_cast<double>(v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]) / 1000.0;
}
double pct64(const std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  return static_cast<double>(v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]) / 1000.0;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "warden_http_loadgen: %s\nusage: warden_http_loadgen --url http://HOST:PORT/PATH [--sessions N] "
               "[--requests N | --duration S] [--header 'K: V']... [--timeout-ms MS] [--setup-timeout-ms MS] "
               "[--threads T] [--text-bytes B] [--protocol V] [--accept A] [--hold S] [--no-delete] [--label L]\n"
               "       warden_http_loadgen --url URL [--half-open N] [--slow-readers M] [--slow-bytes B] [--churn C] "
               "--duration S\n",
               why);
  return 2;
}

int run_disturb(const Config& c) {
  asio::io_context io{1};
  auto until = Clock::now() + std::chrono::milliseconds(static_cast<long>(c.duration * 1000));
  std::atomic<int> opened{0};
  std::atomic<long> bytes{0};
  std::atomic<long> cycles{0};
  std::vector<Tally> tallies(static_cast<size_t>(c.slow_readers + c.churn));
  for (int i = 0; i < c.half_open; ++i) asio::co_spawn(io, half_open(c, i, until, opened), asio::detached);
  for (int i = 0; i < c.slow_readers; ++i)
    asio::co_spawn(io, slow_reader(c, tallies[static_cast<size_t>(i)], until, bytes), asio::detached);
  for (int i = 0; i < c.churn; ++i)
    asio::co_spawn(io, churner(c, tallies[static_cast<size_t>(c.slow_readers + i)], until, cycles), asio::detached);
  io.run();
  std::printf("disturb: %d half-open connections held, %d slow SSE readers read %ld bytes, %d churners opened and "
              "ended %ld sessions, in %.0f s\n",
              opened.load(), c.slow_readers, bytes.load(), c.churn, cycles.load(), c.duration);
  for (const auto& t : tallies)
    if (!t.first_error.empty()) std::printf("  disturber error: %s\n", t.first_error.c_str());
  std::printf("RESULT label=%s half_open=%d slow_readers=%d slow_bytes_read=%ld churn_sessions=%ld\n", c.label.c_str(),
              opened.load(), c.slow_readers, bytes.load(), cycles.load());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  std::string url_text;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "warden_http_loadgen: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (k == "--url") url_text = val();
      else if (k == "--sessions") c.sessions = std::stoi(val());
      else if (k == "--requests") c.requests = std::stol(val());
      else if (k == "--duration") c.duration = std::stod(val());
      else if (k == "--timeout-ms") c.timeout_ms = std::stoi(val());
      else if (k == "--setup-timeout-ms") c.setup_timeout_ms = std::stoi(val());
      else if (k == "--threads") c.threads = std::max(1, std::stoi(val()));
      else if (k == "--text-bytes") c.text_bytes = std::stoul(val());
      else if (k == "--protocol") c.protocol = val();
      else if (k == "--accept") c.accept = val();
      else if (k == "--hold") c.hold = std::stod(val());
      else if (k == "--no-delete") c.del = false;
      else if (k == "--label") c.label = val();
      else if (k == "--half-open") c.half_open = std::stoi(val());
      else if (k == "--slow-readers") c.slow_readers = std::stoi(val());
      else if (k == "--slow-bytes") c.slow_bytes = std::stoul(val());
      else if (k == "--churn") c.churn = std::stoi(val());
      else if (k == "--header") {
        std::string h = val();
        auto colon = h.find(':');
        if (colon == std::string::npos) return usage("--header needs 'Name: value'");
        size_t v = h.find_first_not_of(' ', colon + 1);
        c.headers.emplace_back(h.substr(0, colon), v == std::string::npos ? "" : h.substr(v));
      } else return usage(("unknown option " + k).c_str());
    } catch (const std::exception&) {
      return usage(("bad value for " + k).c_str());
    }
  }
  auto url = parse_url(url_text);
  if (!url) return usage("--url http://HOST:PORT/PATH is required");
  c.url = *url;
  if (c.half_open > 0 || c.slow_readers > 0 || c.churn > 0) {
    if (c.duration <= 0) return usage("disturb mode needs --duration");
    return run_disturb(c);
  }
  if (c.sessions < 1) return usage("--sessions must be >= 1");

  std::vector<Tally> tallies(static_cast<size_t>(c.sessions));
  Shared sh;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (int t = 0; t < c.threads; ++t) ios.push_back(std::make_unique<asio::io_context>(1));
  for (int s = 0; s < c.sessions; ++s)
    asio::co_spawn(*ios[static_cast<size_t>(s % c.threads)], run_session(c, tallies[static_cast<size_t>(s)], sh),
                   asio::detached);
  auto t_setup = Clock::now();
  std::vector<std::thread> threads;
  for (auto& io : ios) threads.emplace_back([&io] { io->run(); });
  while (sh.ready.load() < c.sessions) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto t_start = Clock::now();
  double setup_wall = std::chrono::duration<double>(t_start - t_setup).count();
  if (c.duration > 0 && c.requests == 0)
    sh.deadline = t_start + std::chrono::milliseconds(static_cast<long>(c.duration * 1000));
  sh.go = true;
  Clock::time_point t_end{};
  bool end_noted = false;
  if (c.hold > 0) {
    while (sh.held.load() < c.sessions) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    t_end = Clock::now();
    end_noted = true;
    std::printf("HOLD ready\n");
    std::fflush(stdout);
  }
  for (auto& th : threads) th.join();
  if (!end_noted) t_end = Clock::now();
  // Without --hold the DELETEs are in the elapsed time; they are one request per session.
  double elapsed = std::chrono::duration<double>(t_end - t_start).count();

  std::vector<int32_t> all;
  std::vector<int64_t> setup;
  Tally sum;
  long setup_failed = 0;
  for (auto& t : tallies) {
    all.insert(all.end(), t.latencies_us.begin(), t.latencies_us.end());
    setup.push_back(t.setup_us);
    sum.ok += t.ok;
    sum.http_errors += t.http_errors;
    sum.rpc_errors += t.rpc_errors;
    sum.timeouts += t.timeouts;
    sum.transport_errors += t.transport_errors;
    sum.reconnects += t.reconnects;
    sum.no_length_2xx += t.no_length_2xx;
    setup_failed += t.setup_ok ? 0 : 1;
    if (sum.first_error.empty()) sum.first_error = t.first_error;
  }
  std::sort(all.begin(), all.end());
  std::sort(setup.begin(), setup.end());
  double rps = elapsed > 0 ? static_cast<double>(sum.ok) / elapsed : 0;
  std::printf("%s: %d sessions (%ld failed setup in %.2f s), %ld tools/call ok, %ld errors (http %ld, json-rpc %ld, "
              "timeout %ld, transport %ld), %ld reconnects, %.2f s: %.0f requests/s\n",
              c.label.c_str(), c.sessions, setup_failed, setup_wall, sum.ok, sum.errors(), sum.http_errors,
              sum.rpc_errors, sum.timeouts, sum.transport_errors, sum.reconnects, elapsed, rps);
  std::printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", pct(all, 0.5), pct(all, 0.9), pct(all, 0.99),
              pct(all, 1.0));
  std::printf("  session setup ms (connect, initialize, initialized; all at once): p50 %.1f  p99 %.1f  max %.1f\n",
              pct64(setup, 0.5), pct64(setup, 0.99), pct64(setup, 1.0));
  if (sum.no_length_2xx)
    std::printf("  %ld answers to notifications/initialized had no Content-Length (a strict HTTP/1.1 client would wait "
                "for the connection to close)\n",
                sum.no_length_2xx);
  if (!sum.first_error.empty()) std::printf("  first error: %s\n", sum.first_error.c_str());
  std::printf("RESULT label=%s sessions=%d setup_failed=%ld ok=%ld errors=%ld http_errors=%ld rpc_errors=%ld "
              "timeouts=%ld transport_errors=%ld reconnects=%ld no_length_2xx=%ld elapsed_s=%.3f rps=%.0f p50_ms=%.3f p90_ms=%.3f "
              "p99_ms=%.3f max_ms=%.3f setup_p50_ms=%.1f setup_max_ms=%.1f setup_wall_s=%.2f\n",
              c.label.c_str(), c.sessions, setup_failed, sum.ok, sum.errors(), sum.http_errors, sum.rpc_errors,
              sum.timeouts, sum.transport_errors, sum.reconnects, sum.no_length_2xx, elapsed, rps, pct(all, 0.5), pct(all, 0.9),
              pct(all, 0.99), pct(all, 1.0), pct64(setup, 0.5), pct64(setup, 1.0), setup_wall);
  return sum.errors() == 0 && setup_failed == 0 ? 0 : 1;
}
