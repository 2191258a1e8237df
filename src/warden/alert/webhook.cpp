#include "warden/alert/webhook.h"

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace warden::alert {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

Result<HttpUrl> parse_http_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Error{0, fmt::format("webhook URL '{}': {}", url, why)};
  };
  constexpr std::string_view k_http = "http://";
  std::string_view s(url);
  if (s.rfind("https://", 0) == 0)
    return bad("https:// is not supported yet; use an http:// endpoint (for example a local "
               "relay) or a file or syslog sink");
  if (s.rfind(k_http, 0) != 0) return bad("only http:// URLs are supported");
  s.remove_prefix(k_http.size());
  size_t slash = s.find_first_of("/?#");
  std::string_view authority = s.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? std::string_view{} : s.substr(slash);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  if (authority.find('@') != std::string_view::npos)
    return bad("credentials in the URL are not supported; put a token in the path or query");
  HttpUrl u;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return bad("no host");
  if (!port.empty()) {
    unsigned v = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || v > 65535) return bad("invalid port");
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return bad("invalid port");
    u.port = static_cast<uint16_t>(v);
  }
  u.target =
      rest.empty() ? "/" : (rest.front() == '?' ? "/" + std::string(rest) : std::string(rest));
  u.host_header = std::string(authority);
  return u;
}

Result<std::unique_ptr<WebhookSink>> WebhookSink::open(const std::string& url,
                                                       const WebhookOptions& options) {
  auto parsed = parse_http_url(url);
  if (!parsed) return parsed.error();
  return std::unique_ptr<WebhookSink>(new WebhookSink(url, std::move(*parsed), options));
}

WebhookSink::WebhookSink(std::string url, HttpUrl parsed, const WebhookOptions& options)
    : QueuedSink(options.queue), m_url(std::move(url)), m_parsed(std::move(parsed)),
      m_options(options) {
  start();
}

WebhookSink::~WebhookSink() {
  stop();
}

void WebhookSink::abort_in_flight() {
  std::lock_guard lk(m_io_mu);
  m_aborted = true;
  if (m_active) m_active->stop();
}

QueuedSink::SendResult WebhookSink::send_one(const Alert& a, SteadyTime deadline) {
  using std::chrono::steady_clock;
  net::io_context ioc; // declared first: destroyed last, after the operations that use it
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::string_body> req{http::verb::post, m_parsed.target, 11};
  req.set(http::field::host, m_parsed.host_header);
  req.set(http::field::user_agent, "mcp-warden/" WARDEN_VERSION);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  req.body() = alert_json(a);
  req.prepare_payload();
  http::response<http::string_body> res;
  bool io_error = true; // until a response is read

  auto remaining = [&](std::chrono::milliseconds cap) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    return std::max(std::chrono::milliseconds(1), std::min(cap, left));
  };
  auto on_read = [&](beast::error_code ec, size_t) {
    if (ec) return;
    io_error = false;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  };
  auto on_write = [&](beast::error_code ec, size_t) {
    if (ec) return;
    stream.expires_after(remaining(m_options.io_timeout));
    http::async_read(stream, buffer, res, on_read);
  };
  auto on_connect = [&](beast::error_code ec) {
    if (ec) return;
    stream.expires_after(remaining(m_options.io_timeout));
    http::async_write(stream, req, on_write);
  };
  auto connect_to = [&](const tcp::resolver::results_type& endpoints) {
    stream.expires_after(remaining(m_options.connect_timeout));
    stream.async_connect(endpoints,
                         [&](beast::error_code ec, const tcp::endpoint&) { on_connect(ec); });
  };
  beast::error_code addr_ec;
  auto addr = net::ip::make_address(m_parsed.host, addr_ec);
  if (!addr_ec) {
    stream.expires_after(remaining(m_options.connect_timeout));
    stream.async_connect(tcp::endpoint(addr, m_parsed.port), on_connect);
  } else {
    resolver.async_resolve(m_parsed.host, std::to_string(m_parsed.port),
                           [&](beast::error_code ec, const tcp::resolver::results_type& r) {
                             if (!ec) connect_to(r);
                           });
  }
  {
    std::lock_guard lk(m_io_mu);
    if (m_aborted) return SendResult::fail;
    m_active = &ioc;
  }
  ioc.run_until(deadline);
  {
    std::lock_guard lk(m_io_mu);
    m_active = nullptr;
  }
  if (io_error) return SendResult::retry;
  unsigned status = res.result_int();
  if (status >= 200 && status < 300) return SendResult::ok;
  if (status == 408 || status == 429 || status >= 500) return SendResult::retry;
  return SendResult::fail;
}

} // namespace warden::alert
