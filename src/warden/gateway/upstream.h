// The upstream server as the policy wants it: started in the sandbox with its egress guard, its
// environment (policy env, brokered-secret placeholders, the CA bundle, the proxy), a private run
// directory, and the IntentBoard the filter chain feeds. `run` uses one; the HTTP gateway will
// use one per stdio upstream.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "warden/egress/ca.h"
#include "warden/egress/guard.h"
#include "warden/egress/intent.h"
#include "warden/policy/model.h"
#include "warden/sandbox/sandbox.h"
#include "warden/util/clock.h"
#include "warden/util/result.h"

namespace warden::gateway {

struct UpstreamOptions {
  std::string session;
  bool monitor = false;
  std::string state_dir;     // holds the CA (default: supply::default_state_dir())
  std::string audit_path;    // hidden from the server
  audit::AuditLog* audit = nullptr;
  alert::Alerter* alerter = nullptr;
  const util::Clock* clock = nullptr;
  bool sink = false;  // probe: the guard answers everything itself (egress::GuardConfig::sink)
};

// start() may run on any thread (the HTTP gateway starts servers on worker threads); the audit log
// and the alerter it hands the egress guard must be thread-safe (they are).
class Upstream {
public:
  static Result<std::unique_ptr<Upstream>> start(const policy::ServerPolicy& server,
                                                 const std::vector<std::string>& command,
                                                 const UpstreamOptions& options);
  ~Upstream();

  transport::ChildProcess& child() { return *m_launched.child; }
  egress::IntentBoard& board() { return m_board; }
  egress::Guard* guard() { return m_guard.get(); }  // null with network host or none
  const sandbox::Launched& launched() const { return m_launched; }
  const std::string& run_dir() const { return m_run_dir; }
  // What is in force, as JSON for the `start` lifecycle record.
  std::string describe_json() const;
  // One human line per weakness (printed loudly at start, recorded in the audit log).
  const std::vector<std::string>& warnings() const { return m_warnings; }

private:
  Upstream() = default;
  std::string m_run_dir;
  egress::IntentBoard m_board;
  std::unique_ptr<egress::CertificateAuthority> m_ca;
  std::unique_ptr<egress::Guard> m_guard;
  sandbox::Launched m_launched;
  std::vector<std::string> m_warnings;
  std::vector<std::string> m_brokered;  // secret names
};

}  // namespace warden::gateway
