#include "warden/alert/alerter.h"

#include <unistd.h>

#include <fmt/format.h>

#include "warden/audit/redact.h"
#include "warden/policy/model.h"

namespace warden::alert {
namespace {

Result<std::unique_ptr<AlertSink>> make_sink(const SinkSpec& spec, const AlerterConfig& config) {
  switch (spec.kind) {
  case SinkSpec::Kind::stderr_sink:
    return std::unique_ptr<AlertSink>(std::make_unique<StderrSink>(config.stderr_fd));
  case SinkSpec::Kind::file: {
    auto s = FileSink::open(spec.target);
    if (!s) return s.error();
    return std::unique_ptr<AlertSink>(std::move(*s));
  }
  case SinkSpec::Kind::syslog: {
    auto s = SyslogSink::open(spec.target);
    if (!s) return s.error();
    return std::unique_ptr<AlertSink>(std::move(*s));
  }
  case SinkSpec::Kind::webhook: {
    auto s = WebhookSink::open(spec.target, config.webhook);
    if (!s) return s.error();
    return std::unique_ptr<AlertSink>(std::move(*s));
  }
  }
  return Error{0, "unknown alert sink"};
}

SinkSpec from_policy(const policy::AlertSink& s) {
  SinkSpec spec;
  spec.target = s.target;
  switch (s.kind) {
  case policy::SinkKind::stderr_sink: spec.kind = SinkSpec::Kind::stderr_sink; break;
  case policy::SinkKind::file: spec.kind = SinkSpec::Kind::file; break;
  case policy::SinkKind::syslog: spec.kind = SinkSpec::Kind::syslog; break;
  case policy::SinkKind::webhook: spec.kind = SinkSpec::Kind::webhook; break;
  }
  return spec;
}

} // namespace

Result<std::unique_ptr<Alerter>> Alerter::create(const AlerterConfig& config,
                                                 const util::Clock& clock) {
  auto alerter = std::make_unique<Alerter>(config.min_severity, clock);
  for (const auto& spec : config.sinks) {
    auto sink = make_sink(spec, config);
    if (!sink) return sink.error();
    alerter->add_sink(std::move(*sink));
  }
  return alerter;
}

std::unique_ptr<Alerter> Alerter::from_config(const policy::AlertConfig& config,
                                              const util::Clock& clock) {
  AlerterConfig c;
  c.min_severity = config.alert_severity;
  auto alerter = std::make_unique<Alerter>(c.min_severity, clock);
  for (const auto& s : config.sinks) {
    SinkSpec spec = from_policy(s);
    auto sink = make_sink(spec, c);
    if (!sink) {
      std::string line = fmt::format("mcp-warden: warning: alert sink {}{}{} disabled: {}\n",
                                     policy::sink_name(s.kind), s.target.empty() ? "" : " ",
                                     s.target, sink.error().message);
      (void)!::write(2, line.data(), line.size());
      continue;
    }
    alerter->add_sink(std::move(*sink));
  }
  return alerter;
}

Alerter::Alerter(core::Severity min_severity, const util::Clock& clock)
    : m_min(min_severity), m_clock(clock) {}

Alerter::~Alerter() {
  shutdown();
}

void Alerter::add_sink(std::unique_ptr<AlertSink> sink) {
  if (sink) m_sinks.push_back(std::move(sink));
}

void Alerter::raise(const Alert& a) {
  if (a.finding.severity < m_min) {
    ++m_ignored;
    return;
  }
  Alert out = a;
  out.finding.message = audit::redact_secrets(a.finding.message);
  out.finding.evidence = audit::redact_secrets(a.finding.evidence);
  if (out.ts_us == 0) out.ts_us = m_clock.now_unix_us();
  ++m_raised;
  for (auto& s : m_sinks)
    s->deliver(out);
}

void Alerter::shutdown(std::chrono::milliseconds deadline) {
  if (m_shut.exchange(true)) return;
  const SteadyTime until = std::chrono::steady_clock::now() + deadline;
  for (auto& s : m_sinks)
    s->shutdown(until);
}

} // namespace warden::alert
