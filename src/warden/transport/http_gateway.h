// The Streamable HTTP front transport (MCP 2025-03-26 .. 2025-11-25): `mcp-warden gateway`.
//
// One HTTP endpoint (POST, GET, DELETE on `path`), sessions with Mcp-Session-Id, each session with
// its own copy of every configured server, each started in the sandbox with its egress guard
// (gateway::Upstream) and its own filter chain and Processor, exactly as `mcp-warden run` builds
// them; with several servers a gateway::Aggregator merges them behind the endpoint. POST answers with JSON or,
// when the client accepts it, an SSE stream that carries the server's notifications and requests
// before the response; GET opens the session's stream for server-initiated messages; DELETE ends
// the session. Host and Origin are checked against DNS rebinding; the listener is loopback unless
// the policy says otherwise.
//
// Threading: one I/O thread (Boost.Asio coroutines) runs HTTP, every session's Processor and the
// upstreams' pipes; each upstream's egress guard has its own thread (egress/guard.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warden/policy/policy.h"
#include "warden/util/clock.h"
#include "warden/util/result.h"

namespace warden::audit {
class AuditLog;
}
namespace warden::alert {
class Alerter;
}
namespace warden::detect {
class MetadataScanner;
class PinStore;
}

namespace warden::transport {

struct HttpGatewayOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string path = "/mcp";
  std::shared_ptr<const policy::Policy> policy;
  // The servers every session gets, in policy order, each started from its `command`. With two or
  // more (or namespacing always) a gateway::Aggregator merges them behind the one endpoint.
  std::vector<const policy::ServerPolicy*> servers;
  policy::Namespacing namespacing = policy::Namespacing::automatic;
  // gateway.upstreams: shared: the sessions of one agent share one set of servers.
  bool share_upstreams = false;
  // Shared by every session: the metadata detectors and the definition pins.
  std::shared_ptr<const detect::MetadataScanner> scanner;
  detect::PinStore* pins = nullptr;  // required unless every server's pins are off
  std::optional<policy::Mode> mode_override;
  std::string state_dir, audit_path;
  audit::AuditLog* audit = nullptr;
  alert::Alerter* alerter = nullptr;
  const util::Clock* clock = nullptr;
  int approval_timeout_s = 120;
  int connection_idle_timeout_s = 60;  // a connection whose next request does not arrive is closed
  int session_idle_timeout_s = 1800;   // a session with no request and no open stream is ended  // a held `action: approve` request nobody decides is denied
  int upstream_timeout_ms = 300000;  // a request the upstream does not answer in time gets an error
  size_t max_sessions = 1024;
  size_t max_body_bytes = 16u << 20;
  // The admin API (health, metrics, sessions, quarantine, kill switch, reload) on its own listener;
  // empty: none. Every endpoint but /health needs `Authorization: Bearer <admin_token>`.
  std::string admin_listen, admin_token;
  std::string policy_path;  // for reload (admin POST /reload, SIGHUP via reload())
  // gateway.tls: HTTPS on the listener (and mutual TLS with client_ca); loaded by listen().
  // Agents (api_key_sha256, jwt, mtls) come from the policy; JWKS files load in listen() and reload.
  std::optional<policy::TlsConfig> tls;
};

struct HttpGatewayStats {
  uint64_t sessions_opened = 0, sessions_open = 0, http_requests = 0, rejected = 0, quarantines = 0,
           reloads = 0, reload_failures = 0, tls_handshake_failures = 0;
};

class HttpGateway {
public:
  explicit HttpGateway(HttpGatewayOptions options);
  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  // Binds the listener (errors: bad address, port in use).
  Status listen();
  uint16_t port() const;
  uint16_t admin_port() const;  // 0 without an admin listener
  // Reloads the policy file atomically for new sessions (a broken file keeps the old policy; the
  // error says why). Thread-safe: runs on the I/O thread.
  void reload();
  // Serves until stop() (from any thread or a signal handler's eventfd) and closes every session.
  void run();
  void stop();
  HttpGatewayStats stats() const;

  struct Impl;

private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace warden::transport
