// The egress guard: the sandboxed server's only way out (DESIGN.md section 2).
//
// It serves the listeners the sandbox opened inside the server's network namespace:
//   dns-udp / dns-tcp  names the policy lists get a loopback address the guard maps back to the
//                      name; every other name is refused; every query is an audit record
//   tcp:443, tcp:N     transparent connections (Node's fetch, raw sockets): the destination is the
//                      mapped address, confirmed by the TLS SNI
//   proxy              HTTP proxy: CONNECT, and absolute-form http:// and https:// requests
// For `inspect: true` hosts TLS is terminated with a leaf from the per-install CA, each HTTP/1.1
// request is parsed (content-length, chunked, keep-alive), the credential broker swaps the
// placeholder for the real secret on the bound host only, and intent correlation requires every
// email address (and URL host) in the request to come from a tools/call in flight, the server's
// env or the allowlist. Violations are blocked (403 to the server) or stripped, audited with the
// evidence, alerted, and at `quarantine_at` trip the circuit breaker (quarantine_fd()).
//
// Threading: one I/O thread (Boost.Asio, one coroutine per connection). The audit log and the
// IntentBoard are thread-safe; the quarantine event is handed to the relay through an eventfd.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "warden/core/verdict.h"
#include "warden/egress/ca.h"
#include "warden/egress/intent.h"
#include "warden/policy/model.h"
#include "warden/sandbox/sandbox.h"
#include "warden/util/clock.h"
#include "warden/util/fd.h"

namespace warden::audit {
class AuditLog;
}
namespace warden::alert {
class Alerter;
}

namespace warden::egress {

struct GuardConfig {
  std::string server, session;
  std::vector<policy::EgressRule> rules;
  std::map<std::string, std::string> secrets;       // secret name -> real value
  std::map<std::string, std::string> placeholders;  // secret name -> placeholder in the server's env
  core::Severity quarantine_at = core::Severity::critical;
  bool monitor = false;           // record findings, never block
  size_t max_body = 32u << 20;    // larger requests are refused
  // `probe`: every name resolves, every connection is inspected, every request is correlated
  // (emails and hosts), recorded and answered by the guard itself with a plausible 200; nothing
  // is forwarded anywhere.
  bool sink = false;
};

// What a sink-mode guard saw (probe).
struct CapturedRequest {
  bool dns = false;  // a DNS query (host is the name)
  std::string host;
  uint16_t port = 0;
  std::string method, target, headers, body;
  std::vector<std::string> calls_in_flight;
  std::vector<core::Finding> findings;
};

struct QuarantineEvent {
  std::string detector, reason, evidence;
  uint64_t audit_seq = 0;
  std::string request;  // the offending request, secrets redacted (for the forensic bundle)
  std::string host;
};

struct GuardStats {
  uint64_t dns_queries = 0, dns_refused = 0, connections = 0, requests = 0, blocked = 0,
           stripped = 0;
};

class Guard {
public:
  Guard(GuardConfig config, CertificateAuthority* ca, IntentBoard& board, audit::AuditLog* audit,
        alert::Alerter* alerter, const util::Clock& clock);
  ~Guard();
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

  // Takes over the listeners and starts the I/O thread.
  void start(std::vector<sandbox::Listener> listeners);
  void stop();

  // Readable (eventfd) once a finding reached quarantine_at; then quarantine() has the event.
  int quarantine_fd() const { return m_quarantine_fd.get(); }
  std::optional<QuarantineEvent> quarantine() const;
  GuardStats stats() const;
  std::vector<CapturedRequest> captured() const;  // sink mode

  struct Impl;

private:
  std::unique_ptr<Impl> m_impl;
  util::UniqueFd m_quarantine_fd;
  std::thread m_thread;
};

// The placeholder the server sees for a brokered secret: recognisable, unique per run, worthless.
std::string make_placeholder(const std::string& secret_name);

}  // namespace warden::egress
