// A native Streamable HTTP MCP echo server for the gateway benchmark: the "direct" baseline with no
// proxy in front. One thread, Boost.Beast coroutines (the gateway's own I/O model), stateful
// sessions (Mcp-Session-Id on initialize, 404 for unknown ids, DELETE ends one), JSON responses
// only, and the same answers as warden_echo_server (initialize, tools/list, tools/call `echo`).
//
//   warden_http_echo_server [--listen 127.0.0.1:0] [--path /mcp]
// prints "listening on http://127.0.0.1:PORT/mcp" once bound.
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include "echo_reply.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {
std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }
}  // namespace

namespace {

struct Server {
  std::string path = "/mcp";
  std::set<std::string> sessions;
  simdjson::dom::parser parser;
  std::mt19937_64 rng{std::random_device{}()};

  // The answer to one POST body: status and JSON ("" for 202).
  http::status answer(const std::string& body, std::string& sid, std::string& out) {
    simdjson::padded_string p(body);
    simdjson::dom::element m;
    if (parser.parse(p).get(m) != simdjson::SUCCESS || !m.is_object()) {
      out = R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}})";
      return http::status::bad_request;
    }
    std::string_view method;
    simdjson::dom::element id;
    bool has_method = m["method"].get(method) == simdjson::SUCCESS;
    bool has_id = m["id"].get(id) == simdjson::SUCCESS;
    if (sid.empty()) {
      if (method != "initialize") {
        out = R"({"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"missing Mcp-Session-Id"}})";
        return http::status::bad_request;
      }
      sid = fmt::format("{:016x}{:016x}", rng(), rng());
      sessions.insert(sid);
    } else if (!sessions.count(sid)) {
      out = R"({"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}})";
      return http::status::not_found;
    }
    if (!has_method || !has_id) return http::status::accepted;  // notifications, responses
    out = R"({"jsonrpc":"2.0","id":)" + simdjson::minify(id) + R"(,"result":)";
    warden::bench::append_echo_result(out, method, m);
    out += "}";
    return http::status::ok;
  }

  awaitable<void> serve(tcp::socket sock) {
    beast::flat_buffer buf;
    for (;;) {
      http::request_parser<http::string_body> rp;
      rp.body_limit(256u << 20);
      beast::error_code ec;
      co_await http::async_read(sock, buf, rp, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      auto req = rp.release();
      std::string sid(sv(req["Mcp-Session-Id"]));
      http::response<http::string_body> res{http::status::ok, 11};
      if (sv(req.target()) != path) {
        res.result(http::status::not_found);
      } else if (req.method() == http::verb::post) {
        std::string out;
        res.result(answer(req.body(), sid, out));
        if (!out.empty()) {
          res.set(http::field::content_type, "application/json");
          res.body() = std::move(out);
        }
        if (!sid.empty()) res.set("Mcp-Session-Id", sid);
      } else if (req.method() == http::verb::delete_) {
        res.result(sessions.erase(sid) ? http::status::ok : http::status::not_found);
      } else {
        res.result(http::status::method_not_allowed);  // no GET stream: nothing is server-initiated
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(sock, res, asio::redirect_error(use_awaitable, ec));
      if (ec || !req.keep_alive()) co_return;
    }
  }
};

awaitable<void> accept_loop(tcp::acceptor& acc, Server& srv) {
  for (;;) {
    beast::error_code ec;
    tcp::socket s = co_await acc.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) continue;
    s.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(acc.get_executor(), srv.serve(std::move(s)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  Server srv;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--listen") listen = argv[i + 1];
    else if (k == "--path") srv.path = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: warden_http_echo_server [--listen HOST:PORT] [--path /mcp]\n");
      return 2;
    }
  }
  auto colon = listen.rfind(':');
  asio::io_context io{1};
  beast::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(listen.substr(0, colon), ec),
                   static_cast<uint16_t>(std::atoi(listen.c_str() + colon + 1)));
  if (ec) {
    std::fprintf(stderr, "warden_http_echo_server: bad --listen %s\n", listen.c_str());
    return 2;
  }
  tcp::acceptor acc(io);
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "warden_http_echo_server: cannot listen on %s: %s\n", listen.c_str(), ec.message().c_str());
    return 2;
  }
  std::printf("listening on http://%s:%u%s\n", ep.address().to_string().c_str(), acc.local_endpoint().port(),
              srv.path.c_str());
  std::fflush(stdout);
  asio::co_spawn(io, accept_loop(acc, srv), asio::detached);
  io.run();
}
