#include "warden/egress/guard.h"

#include <arpa/inet.h>
#include <sys/eventfd.h>

#include <random>

#include <boost/asio.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "warden/alert/alerter.h"
#include "warden/audit/audit_log.h"
#include "warden/audit/redact.h"
#include "warden/egress/dns.h"
#include "warden/egress/identifiers.h"
#include "warden/egress/tls_sni.h"
#include "warden/policy/matchers.h"
#include "warden/util/json_writer.h"
#include "warden/util/strings.h"

namespace warden::egress {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using asio::awaitable;
using asio::use_awaitable;
using core::Finding;
using core::Severity;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

std::string make_placeholder(const std::string& secret_name) {
  std::random_device rd;
  return fmt::format("mcp-warden-placeholder-{}-{:08x}{:08x}", secret_name, rd(), rd());
}

namespace {

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

constexpr size_t k_sni_peek_limit = 18 * 1024;

// Where a connection or request goes upstream.
struct Dest {
  std::string host;  // the name the server asked for
  uint16_t port = 443;
  bool tls = true;
  const char* via = "transparent";  // "transparent" | "proxy CONNECT" | "proxy"
};

// Names get addresses in 127.1.0.0/16 (never 127.0.0.1, where the proxy and DNS listen).
class HostMap {
public:
  uint32_t address_for(const std::string& name) {
    if (auto it = m_by_name.find(name); it != m_by_name.end()) return it->second;
    uint32_t host_order = 0x7f010000u + ++m_next;  // 127.1.x.y
    uint32_t net = htonl(host_order);
    m_by_name[name] = net;
    m_by_addr[net] = name;
    return net;
  }
  std::optional<std::string> name_for(uint32_t net) const {
    auto it = m_by_addr.find(net);
    if (it == m_by_addr.end()) return std::nullopt;
    return it->second;
  }

private:
  uint32_t m_next = 0;
  std::map<std::string, uint32_t> m_by_name;
  std::map<uint32_t, std::string> m_by_addr;
};

std::string ipv4_text(uint32_t net) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &net, buf, sizeof buf);
  return buf;
}

// host:port of `resolve`, or the destination itself.
std::pair<std::string, std::string> connect_target(const policy::EgressRule* rule, const Dest& d) {
  if (rule && !rule->resolve.empty()) {
    auto colon = rule->resolve.rfind(':');
    if (colon != std::string::npos) return {rule->resolve.substr(0, colon), rule->resolve.substr(colon + 1)};
    return {rule->resolve, std::to_string(d.port)};
  }
  return {d.host, std::to_string(d.port)};
}

struct Upstream {
  std::string key;  // host:port:tls
  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buf;
  void reset() {
    key.clear();
    plain.reset();
    tls.reset();
    buf.clear();
  }
};

// A decision on one outbound request.
struct Judgement {
  core::Decision decision = core::Decision::allow;
  std::vector<Finding> findings;
  std::string block_reason;  // when blocked: said to the server in the 403
  std::vector<std::string> correlated_tools;
};

std::string request_summary(const Request& req, const std::string& host) {
  std::string out = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\n", std::string(req.method_string()),
                                std::string(req.target()), host);
  for (const auto& f : req) {
    std::string name(f.name_string());
    if (util::to_lower(name) == "host") continue;
    out += name + ": " + std::string(f.value()) + "\r\n";
  }
  out += "\r\n";
  out += req.body().substr(0, 64 * 1024);
  int count = 0;
  return audit::redact_secrets(out, &count);
}

}  // namespace

struct Guard::Impl {
  Impl(GuardConfig c, CertificateAuthority* ca_, IntentBoard& b, audit::AuditLog* a, alert::Alerter* al,
       const util::Clock& clk, int qfd)
      : config(std::move(c)), ca(ca_), board(b), audit(a), alerter(al), clock(clk), quarantine_fd(qfd) {}

  GuardConfig config;
  CertificateAuthority* ca;
  IntentBoard& board;
  audit::AuditLog* audit;
  alert::Alerter* alerter;
  const util::Clock& clock;
  int quarantine_fd;

  asio::io_context io{1};
  HostMap hosts;  // I/O thread only
  std::map<std::string, std::shared_ptr<ssl::context>> server_ctx;  // per host, I/O thread only
  std::map<std::string, std::shared_ptr<ssl::context>> client_ctx;  // per upstream_ca

  mutable std::mutex mu;  // quarantine event, stats, captures
  std::optional<QuarantineEvent> tripped;
  GuardStats stats;
  std::vector<CapturedRequest> captures;
  policy::EgressRule sink_rule;  // what every destination gets in sink mode

  void capture(CapturedRequest c) {
    std::lock_guard lock(mu);
    if (captures.size() < 10000) captures.push_back(std::move(c));
  }
  std::atomic<bool> quarantined{false};

  // ---- policy -------------------------------------------------------------------------------

  const policy::EgressRule* rule_for(const std::string& host, uint16_t port) const {
    if (config.sink) return &sink_rule;
    for (const auto& r : config.rules)
      if (r.port == port && policy::host_matches(r.host, host)) return &r;
    return nullptr;
  }
  bool name_listed(const std::string& host) const {
    if (config.sink) return true;
    for (const auto& r : config.rules)
      if (policy::host_matches(r.host, host)) return true;
    return false;
  }

  // ---- audit, alerts, circuit breaker --------------------------------------------------------

  uint64_t record(const std::string& host, uint16_t port, const std::string& method,
                  const std::string& path, core::Decision decision, const std::vector<Finding>& findings,
                  std::string detail, int64_t latency_us = -1) {
    audit::Record r;
    r.server = config.server;
    r.session = config.session;
    r.kind = audit::Kind::egress;
    r.direction = core::Direction::out;
    r.decision = decision;
    r.findings = findings;
    r.host = host;
    r.port = port;
    r.http_method = method;
    r.path = path;
    r.detail = std::move(detail);
    if (latency_us >= 0) r.latency_us = latency_us;
    uint64_t seq = audit ? audit->append(r) : 0;
    if (alerter) {
      for (const auto& f : findings) {
        alert::Alert a;
        a.finding = f;
        a.server = config.server;
        a.method = "egress " + method + " " + host;
        a.audit_seq = seq;
        a.ts_us = clock.now_unix_us();
        alerter->raise(a);
      }
    }
    return seq;
  }

  void maybe_trip(const std::vector<Finding>& findings, uint64_t seq, const std::string& host,
                  const std::string& request) {
    if (config.monitor) return;
    for (const auto& f : findings) {
      if (f.severity < config.quarantine_at) continue;
      std::lock_guard lock(mu);
      if (tripped) return;
      tripped = QuarantineEvent{f.detector, f.message, f.evidence, seq, request, host};
      quarantined = true;
      uint64_t one = 1;
      (void)!::write(quarantine_fd, &one, sizeof one);
      return;
    }
  }

  void count(uint64_t GuardStats::*field) {
    std::lock_guard lock(mu);
    ++(stats.*field);
  }

  // ---- DNS ----------------------------------------------------------------------------------

  std::string answer_dns(std::string_view packet) {
    auto q = parse_dns_query(packet);
    if (!q) return "";
    count(&GuardStats::dns_queries);
    bool allowed = !quarantined && name_listed(q->name);
    std::vector<Finding> findings;
    std::string answer;
    std::string response;
    if (!allowed) {
      count(&GuardStats::dns_refused);
      findings.push_back({"egress.dns_denied", Severity::medium,
                          fmt::format("DNS lookup of '{}' refused: no egress rule lists it", q->name),
                          q->name});
      response = build_dns_response(packet, *q, k_rcode_nxdomain);
    } else if (q->qtype == 1) {
      uint32_t addr = hosts.address_for(q->name);
      answer = ipv4_text(addr);
      response = build_dns_response(packet, *q, k_rcode_noerror, addr);
    } else {
      response = build_dns_response(packet, *q, k_rcode_noerror);  // AAAA etc.: no data, use A
    }
    std::string detail;
    util::JsonWriter w(detail);
    w.begin_object().key("dns").begin_object().key("type").string(dns_type_name(q->qtype));
    if (!answer.empty()) w.key("answer").string(answer);
    w.end_object().end_object();
    record(q->name, 53, "DNS", "", allowed ? core::Decision::allow : core::Decision::block, findings,
           detail);
    if (config.sink) {
      CapturedRequest c;
      c.dns = true;
      c.host = q->name;
      c.port = 53;
      c.method = dns_type_name(q->qtype);
      capture(std::move(c));
    }
    return response;
  }

  awaitable<void> serve_dns_udp(udp::socket sock) {
    std::vector<char> buf(4096);
    for (;;) {
      udp::endpoint from;
      boost::system::error_code ec;
      size_t n = co_await sock.async_receive_from(asio::buffer(buf), from,
                                                  asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      std::string resp = answer_dns(std::string_view(buf.data(), n));
      if (!resp.empty())
        co_await sock.async_send_to(asio::buffer(resp), from, asio::redirect_error(use_awaitable, ec));
    }
  }

  awaitable<void> serve_dns_tcp_conn(tcp::socket sock) {
    boost::system::error_code ec;
    for (;;) {
      unsigned char len[2];
      co_await asio::async_read(sock, asio::buffer(len), asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      std::string msg((len[0] << 8) | len[1], '\0');
      co_await asio::async_read(sock, asio::buffer(msg), asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      std::string resp = answer_dns(msg);
      if (resp.empty()) co_return;
      std::string framed{static_cast<char>(resp.size() >> 8), static_cast<char>(resp.size() & 0xff)};
      framed += resp;
      co_await asio::async_write(sock, asio::buffer(framed), asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
    }
  }

  // ---- TLS contexts -------------------------------------------------------------------------

  std::shared_ptr<ssl::context> server_context(const std::string& host) {
    if (auto it = server_ctx.find(host); it != server_ctx.end()) return it->second;
    if (!ca) return nullptr;
    auto leaf = ca->leaf_for(host);
    if (!leaf) return nullptr;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX_use_certificate(ctx->native_handle(), leaf->cert);
    SSL_CTX_use_PrivateKey(ctx->native_handle(), leaf->key);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    // ALPN: HTTP/1.1 only (the guard parses HTTP/1.1).
    SSL_CTX_set_alpn_select_cb(
        ctx->native_handle(),
        [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
           unsigned int inlen, void*) -> int {
          static const unsigned char h11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
          unsigned char* sel = nullptr;
          if (SSL_select_next_proto(&sel, outlen, h11, sizeof h11, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
            *out = sel;
            return SSL_TLSEXT_ERR_OK;
          }
          return SSL_TLSEXT_ERR_NOACK;
        },
        nullptr);
    server_ctx[host] = ctx;
    return ctx;
  }

  std::shared_ptr<ssl::context> client_context(const std::string& upstream_ca) {
    if (auto it = client_ctx.find(upstream_ca); it != client_ctx.end()) return it->second;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    if (upstream_ca.empty()) ctx->set_default_verify_paths(ec);
    else ctx->load_verify_file(upstream_ca, ec);
    ctx->set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    client_ctx[upstream_ca] = ctx;
    return ctx;
  }

  // ---- judging one request ------------------------------------------------------------------

  Judgement judge(Request& req, const Dest& dest, const policy::EgressRule& rule) {
    Judgement j;
    // 1. Credential broker: placeholders go to their bound host only, and are swapped there.
    std::string inject_header = rule.inject ? rule.inject->header : "";
    for (const auto& [name, placeholder] : config.placeholders) {
      bool bound = rule.inject && rule.inject->secret == name;
      bool seen = sv(req.target()).find(placeholder) != std::string_view::npos ||
                  req.body().find(placeholder) != std::string::npos;
      for (const auto& f : req) {
        if (bound && util::to_lower(std::string(f.name_string())) == util::to_lower(inject_header)) continue;
        if (sv(f.value()).find(placeholder) != std::string_view::npos) seen = true;
      }
      if (seen && !bound) {
        j.findings.push_back({"egress.secret_misdirected", Severity::critical,
                              fmt::format("the placeholder for secret {} was sent to {}, which the "
                                          "policy does not bind it to", name, dest.host),
                              name});
        j.decision = core::Decision::block;
        j.block_reason = "a brokered credential was sent to a host it is not bound to";
      }
    }
    // 2. Intent correlation.
    if (!rule.correlate.empty()) {
      bool emails = std::find(rule.correlate.begin(), rule.correlate.end(), "email") != rule.correlate.end();
      bool hostsk = std::find_if(rule.correlate.begin(), rule.correlate.end(), [](const std::string& k) {
                      return k == "host" || k == "url";
                    }) != rule.correlate.end();
      RequestView v;
      v.method = sv(req.method_string());
      v.target = sv(req.target());
      for (const auto& f : req) v.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      v.body = req.body();
      auto ids = extract_identifiers(v, emails, hostsk, inject_header);
      auto snap = board.snapshot();
      j.correlated_tools = snap.tools;
      std::set<std::string> offending;
      std::vector<std::string> evidence;
      for (const auto& id : ids) {
        if (id.kind == IdKind::host && (id.value == dest.host)) continue;
        if (snap.call_in_flight && board.asked_for(id)) continue;
        if (!snap.call_in_flight && board.asked_for(id) && id.kind == IdKind::host) continue;
        if (offending.insert(id.value).second || true)
          evidence.push_back(fmt::format("{}={}", id.where, id.value));
      }
      if (!offending.empty()) {
        std::string what = snap.call_in_flight
                               ? fmt::format("not in the arguments of {} nor in the server's env",
                                             fmt::join(snap.tools, ", "))
                               : "with no tools/call in flight";
        std::string list = fmt::format("{}", fmt::join(offending, ", "));
        j.findings.push_back({emails ? "egress.unrequested_recipient" : "egress.unrequested_identifier",
                              Severity::critical,
                              fmt::format("{} {} {} carries {} {}", dest.host, std::string(req.method_string()),
                                          std::string(req.target()), list, what),
                              fmt::format("{}", fmt::join(evidence, "; "))});
        bool stripped = false;
        if (rule.on_violation == policy::ViolationAction::strip && j.decision != core::Decision::block) {
          if (auto s = strip_json_recipients(req.body(), offending); s && s->remaining.empty()) {
            req.body() = s->body;
            req.prepare_payload();
            j.decision = core::Decision::strip;
            stripped = true;
          }
        }
        if (!stripped) {
          j.decision = core::Decision::block;
          j.block_reason = fmt::format("{} was not asked for by the agent", list);
        }
      }
    }
    if (j.decision != core::Decision::block && rule.inject) {
      auto it = config.secrets.find(rule.inject->secret);
      if (it != config.secrets.end()) {
        std::string value(req[rule.inject->header]);
        auto ph = config.placeholders.find(rule.inject->secret);
        if (value.empty() || ph == config.placeholders.end()) {
          value = it->second;
        } else {
          for (size_t p; (p = value.find(ph->second)) != std::string::npos;)
            value.replace(p, ph->second.size(), it->second);
        }
        req.set(rule.inject->header, value);
      }
    }
    if (config.monitor && j.decision != core::Decision::allow) {
      j.decision = core::Decision::allow;  // monitor: record, never block
      j.block_reason.clear();
    }
    return j;
  }

  // ---- HTTP over one downstream connection ---------------------------------------------------

  template <class Stream>
  awaitable<void> write_refusal(Stream& down, http::status status, std::string_view why,
                                uint64_t seq) {
    Response res{status, 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::connection, "close");
    res.set("X-Mcp-Warden", "blocked");
    std::string body;
    util::JsonWriter w(body);
    w.begin_object().key("error").string("blocked by mcp-warden: " + std::string(why));
    if (seq) w.key("audit_seq").integer(static_cast<int64_t>(seq));
    w.end_object();
    res.body() = body;
    res.prepare_payload();
    boost::system::error_code ec;
    co_await http::async_write(down, res, asio::redirect_error(use_awaitable, ec));
  }

  awaitable<bool> connect_upstream(Upstream& up, const Dest& d, const policy::EgressRule* rule,
                                   std::string& error) {
    std::string key = fmt::format("{}:{}:{}", d.host, d.port, d.tls);
    if (up.key == key && (up.plain || up.tls)) co_return true;
    up.reset();
    auto [host, port] = connect_target(rule, d);
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    auto results = co_await resolver.async_resolve(host, port, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      error = fmt::format("cannot resolve {}: {}", host, ec.message());
      co_return false;
    }
    tcp::socket sock(io);
    co_await asio::async_connect(sock, results, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      error = fmt::format("cannot connect to {}:{}: {}", host, port, ec.message());
      co_return false;
    }
    sock.set_option(tcp::no_delay(true), ec);
    if (!d.tls) {
      up.plain = std::make_unique<tcp::socket>(std::move(sock));
    } else {
      auto ctx = client_context(rule ? rule->upstream_ca : "");
      up.tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(sock), *ctx);
      SSL_set_tlsext_host_name(up.tls->native_handle(), d.host.c_str());
      SSL_set1_host(up.tls->native_handle(), d.host.c_str());
      co_await up.tls->async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        error = fmt::format("TLS to {} ({}:{}) failed: {}", d.host, host, port, ec.message());
        up.reset();
        co_return false;
      }
    }
    up.key = key;
    co_return true;
  }

  awaitable<bool> exchange(Upstream& up, Request& req, Response& res, std::string& error) {
    boost::system::error_code ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    parser.skip(req.method() == http::verb::head);
    if (up.tls) {
      co_await http::async_write(*up.tls, req, asio::redirect_error(use_awaitable, ec));
      if (!ec) co_await http::async_read(*up.tls, up.buf, parser, asio::redirect_error(use_awaitable, ec));
    } else {
      co_await http::async_write(*up.plain, req, asio::redirect_error(use_awaitable, ec));
      if (!ec) co_await http::async_read(*up.plain, up.buf, parser, asio::redirect_error(use_awaitable, ec));
    }
    if (ec) {
      error = ec.message();
      up.reset();
      co_return false;
    }
    res = parser.release();
    if (!res.keep_alive()) up.reset();
    co_return true;
  }

  // Handles one parsed request. Returns false when the downstream connection should close.
  template <class Stream>
  awaitable<bool> handle_request(Stream& down, Request& req, const Dest& dest, Upstream& up) {
    int64_t t0 = clock.now_unix_us();
    count(&GuardStats::requests);
    std::string method(req.method_string()), path(req.target());
    const policy::EgressRule* rule = rule_for(dest.host, dest.port);
    if (quarantined) {
      uint64_t seq = record(dest.host, dest.port, method, path, core::Decision::quarantine, {},
                            R"({"reason":"the server is quarantined"})");
      co_await write_refusal(down, http::status::forbidden, "the server is quarantined", seq);
      co_return false;
    }
    if (!rule) {
      std::vector<Finding> f{{"egress.host_denied", Severity::high,
                              fmt::format("{}:{} is not in the server's egress rules", dest.host, dest.port),
                              fmt::format("{} {}:{}{}", method, dest.host, dest.port, path)}};
      bool block = !config.monitor;
      uint64_t seq = record(dest.host, dest.port, method, path,
                            block ? core::Decision::block : core::Decision::allow, f, "");
      maybe_trip(f, seq, dest.host, request_summary(req, dest.host));
      if (block) {
        count(&GuardStats::blocked);
        const std::string why = fmt::format("{}:{} is not allowed", dest.host, dest.port);
        co_await write_refusal(down, http::status::forbidden, why, seq);
        co_return false;
      }
    }
    policy::EgressRule none;
    Judgement j = judge(req, dest, rule ? *rule : none);
    std::string detail;
    {
      util::JsonWriter w(detail);
      w.begin_object().key("scheme").string(dest.tls ? "https" : "http").key("via").string(dest.via);
      if (!j.correlated_tools.empty()) {
        w.key("calls_in_flight").begin_array();
        for (const auto& t : j.correlated_tools) w.string(t);
        w.end_array();
      }
      w.key("bytes").integer(static_cast<int64_t>(req.body().size()));
      w.end_object();
    }
    std::string summary = j.findings.empty() ? "" : request_summary(req, dest.host);
    uint64_t seq = record(dest.host, dest.port, method, path, j.decision, j.findings, detail,
                          clock.now_unix_us() - t0);
    if (seq == 0 && audit) {  // fail closed: nothing leaves unrecorded
      co_await write_refusal(down, http::status::service_unavailable, "the audit log cannot be written", 0);
      co_return false;
    }
    maybe_trip(j.findings, seq, dest.host, summary);
    if (j.decision == core::Decision::block) {
      count(&GuardStats::blocked);
      co_await write_refusal(down, http::status::forbidden, j.block_reason, seq);
      co_return false;
    }
    if (j.decision == core::Decision::strip) count(&GuardStats::stripped);
    if (config.sink) {
      CapturedRequest c;
      c.host = dest.host;
      c.port = dest.port;
      c.method = method;
      c.target = path;
      for (const auto& f : req) c.headers += std::string(f.name_string()) + ": " + std::string(f.value()) + "\n";
      c.body = req.body().substr(0, 1u << 20);
      c.calls_in_flight = j.correlated_tools;
      c.findings = j.findings;
      capture(std::move(c));
      Response ok{http::status::ok, 11};
      ok.set(http::field::content_type, "application/json");
      ok.body() = R"({"ok":true,"id":"mcp-warden-probe","ErrorCode":0,"Message":"OK"})";
      ok.keep_alive(req.keep_alive());
      ok.prepare_payload();
      boost::system::error_code ec;
      co_await http::async_write(down, ok, asio::redirect_error(use_awaitable, ec));
      co_return !ec && req.keep_alive();
    }
    Response res;
    std::string error;
    bool ok = co_await connect_upstream(up, dest, rule, error);
    if (ok) ok = co_await exchange(up, req, res, error);
    if (!ok) {
      Response bad{http::status::bad_gateway, 11};
      bad.set(http::field::content_type, "text/plain");
      bad.set("X-Mcp-Warden", "upstream-error");
      bad.body() = "mcp-warden: upstream " + error + "\n";
      bad.prepare_payload();
      boost::system::error_code ec;
      co_await http::async_write(down, bad, asio::redirect_error(use_awaitable, ec));
      co_return !ec && req.keep_alive();
    }
    boost::system::error_code ec;
    bool keep = res.keep_alive() && req.keep_alive();
    res.keep_alive(keep);
    co_await http::async_write(down, res, asio::redirect_error(use_awaitable, ec));
    co_return !ec && keep;
  }

  // Requests on a downstream whose destination is fixed (transparent, CONNECT).
  template <class Stream>
  awaitable<void> http_loop(Stream& down, beast::flat_buffer& buf, Dest dest) {
    Upstream up;
    for (;;) {
      std::optional<Request> req = co_await read_request(down, buf);
      if (!req) co_return;
      if (!(co_await handle_request(down, *req, dest, up))) co_return;
    }
  }

  // The next request on a downstream connection; nullopt when it closed, or was too large (then
  // the server got a 413).
  template <class Stream>
  awaitable<std::optional<Request>> read_request(Stream& down, beast::flat_buffer& buf) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(config.max_body);
    parser.header_limit(64 * 1024);
    boost::system::error_code ec;
    co_await http::async_read(down, buf, parser, asio::redirect_error(use_awaitable, ec));
    if (ec == http::error::body_limit)
      co_await write_refusal(down, http::status::payload_too_large, "request body too large", 0);
    if (ec) co_return std::nullopt;
    co_return parser.release();
  }

  // ---- connections --------------------------------------------------------------------------

  // A TLS connection for `host`: pass it through, or terminate and inspect it.
  awaitable<void> serve_tls(tcp::socket sock, std::string host, uint16_t port, std::string peeked,
                            std::string_view how) {
    const policy::EgressRule* rule = quarantined ? nullptr : rule_for(host, port);
    if (!rule) {
      std::vector<Finding> f{{"egress.host_denied", Severity::high,
                              fmt::format("{}:{} is not in the server's egress rules{}", host, port,
                                          quarantined ? " (quarantined)" : ""),
                              fmt::format("TLS {}:{} ({})", host, port, how)}};
      bool block = !config.monitor || quarantined;
      uint64_t seq = record(host, port, "CONNECT", "", block ? core::Decision::block : core::Decision::allow,
                            f, fmt::format(R"({{"via":"{}"}})", how));
      maybe_trip(f, seq, host, "TLS " + host);
      if (block) {
        count(&GuardStats::blocked);
        co_return;
      }
    }
    if (!rule || !rule->inspect) {
      // Pass-through: the host rule allowed it, the content is not inspected.
      if (rule) record(host, port, "CONNECT", "", core::Decision::allow, {}, fmt::format(R"({{"via":"{}","inspect":false}})", how));
      Dest d{host, port, true};
      auto [h, p] = connect_target(rule, d);
      boost::system::error_code ec;
      tcp::resolver resolver(io);
      auto results = co_await resolver.async_resolve(h, p, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      auto upsock = std::make_shared<tcp::socket>(io);
      co_await asio::async_connect(*upsock, results, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      co_await asio::async_write(*upsock, asio::buffer(peeked), asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      auto down = std::make_shared<tcp::socket>(std::move(sock));
      asio::co_spawn(io, pipe(down, upsock), asio::detached);
      co_await pipe(upsock, down);
      co_return;
    }
    auto ctx = server_context(host);
    if (!ctx) co_return;
    ssl::stream<tcp::socket> tls(std::move(sock), *ctx);
    boost::system::error_code ec;
    co_await tls.async_handshake(ssl::stream_base::server, asio::buffer(peeked),
                                 asio::redirect_error(use_awaitable, ec));
    if (ec) {
      record(host, port, "TLS", "", core::Decision::block,
             {{"egress.tls_handshake_failed", Severity::low,
               fmt::format("the server's TLS handshake for {} failed: {} (does it trust the warden's CA?)",
                           host, ec.message()),
               ""}},
             "");
      co_return;
    }
    beast::flat_buffer buf;
    // Named, not a temporary: GCC 12 destroys coroutine-argument temporaries twice.
    const Dest dest{host, port, true, how == "proxy CONNECT" ? "proxy CONNECT" : "transparent"};
    co_await http_loop(tls, buf, dest);
    co_await tls.async_shutdown(asio::redirect_error(use_awaitable, ec));
  }

  awaitable<void> pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
    std::vector<char> buf(16384);
    boost::system::error_code ec;
    for (;;) {
      size_t n = co_await from->async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      co_await asio::async_write(*to, asio::buffer(buf.data(), n), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
    }
    to->shutdown(tcp::socket::shutdown_send, ec);
  }

  // Reads until the first TLS record is complete; returns the bytes and the SNI result.
  awaitable<std::pair<std::string, SniResult>> peek_client_hello(tcp::socket& sock, std::string already) {
    std::string data = std::move(already);
    SniResult r = parse_client_hello_sni(data);
    boost::system::error_code ec;
    while (r.status == SniStatus::need_more && data.size() < k_sni_peek_limit) {
      char buf[4096];
      size_t n = co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      data.append(buf, n);
      r = parse_client_hello_sni(data);
    }
    co_return std::make_pair(data, r);
  }

  // A connection to a transparent listener (the server resolved a name through our DNS).
  awaitable<void> serve_transparent(tcp::socket sock, uint16_t port) {
    count(&GuardStats::connections);
    boost::system::error_code ec;
    auto local = sock.local_endpoint(ec);
    std::optional<std::string> mapped;
    if (!ec && local.address().is_v4())
      mapped = hosts.name_for(htonl(local.address().to_v4().to_uint()));
    std::string via = fmt::format("transparent {}", ec ? "?" : local.address().to_string());
    std::string none;
    auto [bytes, sni] = co_await peek_client_hello(sock, std::move(none));
    if (sni.status == SniStatus::found || sni.status == SniStatus::no_sni) {
      std::string host = sni.status == SniStatus::found ? sni.name : mapped.value_or("");
      if (host.empty() || (mapped && *mapped != host)) {
        std::string what = host.empty() ? "a TLS connection by address, with no name"
                                         : fmt::format("TLS for '{}' to the address of '{}'", host, *mapped);
        record(host.empty() ? via : host, port, "CONNECT", "", core::Decision::block,
               {{"egress.host_denied", Severity::high, what + ": refused", via}}, "");
        co_return;
      }
      co_await serve_tls(std::move(sock), host, port, std::move(bytes), via);
      co_return;
    }
    // Plain HTTP: the mapped name is the destination (the Host header must agree).
    if (!mapped) {
      record(via, port, "CONNECT", "", core::Decision::block,
             {{"egress.host_denied", Severity::high, "a connection by address, not by a listed name", via}}, "");
      co_return;
    }
    beast::flat_buffer buf;
    auto mb = buf.prepare(bytes.size());
    std::memcpy(mb.data(), bytes.data(), bytes.size());
    buf.commit(bytes.size());
    const Dest dest{*mapped, port, false};
    co_await http_loop(sock, buf, dest);
  }

  // The HTTP proxy: CONNECT tunnels and absolute-form requests.
  awaitable<void> serve_proxy(tcp::socket sock) {
    count(&GuardStats::connections);
    beast::flat_buffer buf;
    Upstream up;
    for (;;) {
      std::optional<Request> next = co_await read_request(sock, buf);
      if (!next) co_return;
      Request& req = *next;
      boost::system::error_code ec;
      if (req.method() == http::verb::connect) {
        std::string target(req.target());
        auto colon = target.rfind(':');
        std::string host = util::to_lower(colon == std::string::npos ? target : target.substr(0, colon));
        if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
        uint16_t port = colon == std::string::npos ? 443 : static_cast<uint16_t>(std::atoi(target.c_str() + colon + 1));
        if (quarantined || !rule_for(host, port)) {
          std::vector<Finding> f{{"egress.host_denied", Severity::high,
                                  fmt::format("CONNECT {}:{}: not in the server's egress rules", host, port),
                                  target}};
          uint64_t seq = record(host, port, "CONNECT", "", config.monitor && !quarantined ? core::Decision::allow : core::Decision::block, f, R"({"via":"proxy"})");
          maybe_trip(f, seq, host, "CONNECT " + target);
          if (!config.monitor || quarantined) {
            count(&GuardStats::blocked);
            const std::string why = fmt::format("{}:{} is not allowed", host, port);
            co_await write_refusal(sock, http::status::forbidden, why, seq);
            co_return;
          }
        }
        static const std::string ok = "HTTP/1.1 200 Connection Established\r\n\r\n";
        co_await asio::async_write(sock, asio::buffer(ok), asio::redirect_error(use_awaitable, ec));
        if (ec) co_return;
        std::string already(static_cast<const char*>(buf.data().data()), buf.size());
        buf.consume(buf.size());
        auto [bytes, sni] = co_await peek_client_hello(sock, std::move(already));
        if (sni.status == SniStatus::not_tls || sni.status == SniStatus::need_more) {
          beast::flat_buffer b2;
          auto mb = b2.prepare(bytes.size());
          std::memcpy(mb.data(), bytes.data(), bytes.size());
          b2.commit(bytes.size());
          const Dest dest{host, port, false, "proxy CONNECT"};
          co_await http_loop(sock, b2, dest);
          co_return;
        }
        if (sni.status == SniStatus::found && sni.name != host) {
          record(host, port, "CONNECT", "", core::Decision::block,
                 {{"egress.host_denied", Severity::high,
                   fmt::format("CONNECT {} carried TLS for '{}': refused", host, sni.name), sni.name}},
                 "");
          co_return;
        }
        co_await serve_tls(std::move(sock), host, port, std::move(bytes), "proxy CONNECT");
        co_return;
      }
      // Absolute form: http://host[:port]/path or https://host/path.
      std::string target(req.target());
      bool tls = target.rfind("https://", 0) == 0;
      if (!tls && target.rfind("http://", 0) != 0) {
        co_await write_refusal(sock, http::status::bad_request,
                               "the proxy takes CONNECT or absolute-form http(s):// requests", 0);
        co_return;
      }
      std::string host;
      const char* why = nullptr;
      if (!policy::extract_url_host(target, host, why)) {
        const std::string bad = fmt::format("bad request target: {}", why);
        co_await write_refusal(sock, http::status::bad_request, bad, 0);
        co_return;
      }
      size_t auth_start = target.find("//") + 2;
      size_t path_start = target.find('/', auth_start);
      std::string authority = target.substr(auth_start, path_start == std::string::npos ? std::string::npos : path_start - auth_start);
      uint16_t port = tls ? 443 : 80;
      if (auto c = authority.rfind(':'); c != std::string::npos && authority.find(']') == std::string::npos)
        port = static_cast<uint16_t>(std::atoi(authority.c_str() + c + 1));
      req.target(path_start == std::string::npos ? "/" : target.substr(path_start));
      req.erase(http::field::proxy_authorization);
      req.erase("Proxy-Connection");
      const Dest dest{host, port, tls, "proxy"};
      if (!(co_await handle_request(sock, req, dest, up))) co_return;
    }
  }

  template <class Handler>
  awaitable<void> accept_loop(tcp::acceptor acceptor, Handler handler) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      sock.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(io, handler(std::move(sock)), asio::detached);
    }
  }
};

Guard::Guard(GuardConfig config, CertificateAuthority* ca, IntentBoard& board, audit::AuditLog* audit,
             alert::Alerter* alerter, const util::Clock& clock)
    : m_quarantine_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  m_impl = std::make_unique<Impl>(std::move(config), ca, board, audit, alerter, clock, m_quarantine_fd.get());
  m_impl->sink_rule.inspect = true;
  m_impl->sink_rule.correlate = {"email", "host"};
}

std::vector<CapturedRequest> Guard::captured() const {
  std::lock_guard lock(m_impl->mu);
  return m_impl->captures;
}

Guard::~Guard() { stop(); }

void Guard::start(std::vector<sandbox::Listener> listeners) {
  Impl& im = *m_impl;
  for (auto& l : listeners) {
    int fd = l.fd.release();
    if (l.name == "dns-udp") {
      udp::socket s(im.io, udp::v4(), fd);
      asio::co_spawn(im.io, im.serve_dns_udp(std::move(s)), asio::detached);
    } else if (l.name == "dns-tcp") {
      asio::co_spawn(im.io, im.accept_loop(tcp::acceptor(im.io, tcp::v4(), fd),
                                           [&im](tcp::socket s) { return im.serve_dns_tcp_conn(std::move(s)); }),
                     asio::detached);
    } else if (l.name == "proxy") {
      asio::co_spawn(im.io, im.accept_loop(tcp::acceptor(im.io, tcp::v4(), fd),
                                           [&im](tcp::socket s) { return im.serve_proxy(std::move(s)); }),
                     asio::detached);
    } else if (l.name.rfind("tcp:", 0) == 0) {
      auto port = static_cast<uint16_t>(std::atoi(l.name.c_str() + 4));
      asio::co_spawn(im.io, im.accept_loop(tcp::acceptor(im.io, tcp::v4(), fd),
                                           [&im, port](tcp::socket s) { return im.serve_transparent(std::move(s), port); }),
                     asio::detached);
    } else {
      ::close(fd);
    }
  }
  m_thread = std::thread([&im] {
    for (;;) {
      try {
        im.io.run();
        return;
      } catch (const std::exception& e) {
        // A connection's coroutine threw (a bug, not input): it is gone; the others go on.
        std::fprintf(stderr, "mcp-warden: egress guard: %s\n", e.what());
      }
    }
  });
}

void Guard::stop() {
  if (!m_impl) return;
  m_impl->io.stop();
  if (m_thread.joinable()) m_thread.join();
}

std::optional<QuarantineEvent> Guard::quarantine() const {
  std::lock_guard lock(m_impl->mu);
  return m_impl->tripped;
}

GuardStats Guard::stats() const {
  std::lock_guard lock(m_impl->mu);
  return m_impl->stats;
}

}  // namespace warden::egress
