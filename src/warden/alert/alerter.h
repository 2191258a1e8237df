// The Alerter: built from the policy's `alerts` section, it sends every finding at or above
// `alert_severity` to each configured sink. Findings below it are ignored.
//
//   auto alerter = alert::Alerter::from_config(policy->alerts());  // never null
//   alerter->raise({finding, "postmark", "sendEmail", "tools/call", audit_seq, now_us});
//   ...
//   alerter->shutdown();  // drains queued webhook/syslog alerts, 2 s at most
//
// raise() is thread-safe and never waits on the network or syslog: stderr and file sinks write
// one line inline; syslog and webhook sinks queue (sink.h, webhook.h). Before any sink sees it,
// the finding's message and evidence are redacted (audit/redact.h): alerts leave the machine.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "warden/alert/alert.h"
#include "warden/alert/sink.h"
#include "warden/alert/webhook.h"
#include "warden/core/verdict.h"
#include "warden/util/clock.h"
#include "warden/util/result.h"

namespace warden::policy {
struct AlertConfig;
}

namespace warden::alert {

// One entry of `alerts.sinks`.
struct SinkSpec {
  enum class Kind { stderr_sink, file, syslog, webhook };
  Kind kind = Kind::stderr_sink;
  std::string target; // file path, syslog facility, webhook URL; empty for stderr
};

struct AlerterConfig {
  core::Severity min_severity = core::Severity::high;
  std::vector<SinkSpec> sinks{SinkSpec{}}; // default: [stderr]
  WebhookOptions webhook;                  // for every webhook sink
  int stderr_fd = 2;                       // where the stderr sink writes (tests use a pipe)
};

inline constexpr std::chrono::milliseconds k_shutdown_deadline{2000};

class Alerter {
public:
  // Builds every sink; the first that cannot be built (unwritable file, unknown facility, https or
  // malformed URL) is an error naming it.
  static Result<std::unique_ptr<Alerter>>
  create(const AlerterConfig& config, const util::Clock& clock = util::SystemClock::instance());
  // From the policy's `alerts` section. Never null: a sink that cannot be built is reported on
  // stderr ("mcp-warden: warning: alert sink ... disabled: ...") and the others still work.
  static std::unique_ptr<Alerter>
  from_config(const policy::AlertConfig& config,
              const util::Clock& clock = util::SystemClock::instance());

  Alerter(core::Severity min_severity, const util::Clock& clock);
  ~Alerter();
  Alerter(const Alerter&) = delete;
  Alerter& operator=(const Alerter&) = delete;

  // Add sinks before the first raise(); not thread-safe with raise().
  void add_sink(std::unique_ptr<AlertSink> sink);

  // Sends `a` to every sink if its severity is >= the minimum. Fills ts_us when it is 0.
  void raise(const Alert& a);

  // Stops the queued sinks, delivering what they hold until `deadline` from now. Idempotent;
  // the destructor calls it.
  void shutdown(std::chrono::milliseconds deadline = k_shutdown_deadline);

  core::Severity min_severity() const { return m_min; }
  const std::vector<std::unique_ptr<AlertSink>>& sinks() const { return m_sinks; }
  uint64_t raised() const { return m_raised.load(); }   // alerts sent to the sinks
  uint64_t ignored() const { return m_ignored.load(); } // below the minimum severity

private:
  const core::Severity m_min;
  const util::Clock& m_clock;
  std::vector<std::unique_ptr<AlertSink>> m_sinks;
  std::atomic<uint64_t> m_raised{0};
  std::atomic<uint64_t> m_ignored{0};
  std::atomic<bool> m_shut{false};
};

} // namespace warden::alert
