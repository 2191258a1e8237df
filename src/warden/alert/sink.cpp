#include "warden/alert/sink.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <fmt/format.h>
#include <sys/stat.h>

namespace warden::alert {
namespace {

// One write(2) (retried on EINTR and short writes); false on error.
bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

} // namespace

// ---- stderr / file ------------------------------------------------------------------------------

void StderrSink::deliver(const Alert& a) {
  std::string line = alert_line(a);
  line += '\n';
  (void)write_all(m_fd, line);
}

Result<std::unique_ptr<FileSink>> FileSink::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return Error{0, fmt::format("cannot open alert file {}: {}; check alerts.sinks file: and that "
                                "its directory exists and is writable",
                                path, std::strerror(errno))};
  return std::unique_ptr<FileSink>(new FileSink(path, fd));
}

FileSink::~FileSink() {
  if (m_fd >= 0) ::close(m_fd);
}

void FileSink::deliver(const Alert& a) {
  std::string line = alert_json(a);
  line += '\n';
  if (!write_all(m_fd, line)) ++m_failures;
}

// ---- queued -------------------------------------------------------------------------------------

namespace {
QueuedSink::Options sane(QueuedSink::Options o) {
  if (o.capacity == 0) o.capacity = 1;
  if (o.tries < 1) o.tries = 1;
  if (o.tries > 16) o.tries = 16;
  return o;
}
} // namespace

QueuedSink::QueuedSink(Options options) : m_options(sane(options)) {}

QueuedSink::~QueuedSink() {
  stop();
}

void QueuedSink::start() {
  m_worker = std::thread([this] { run(); });
}

void QueuedSink::stop() {
  if (m_worker.joinable()) shutdown(std::chrono::steady_clock::now());
}

void QueuedSink::deliver(const Alert& a) {
  {
    std::lock_guard lk(m_mu);
    if (m_stopping) {
      ++m_stats.dropped;
      return;
    }
    if (m_queue.size() >= m_options.capacity) {
      m_queue.pop_front();
      ++m_stats.dropped;
    }
    m_queue.push_back(a);
  }
  m_cv.notify_one();
}

void QueuedSink::shutdown(SteadyTime deadline) {
  std::lock_guard once(m_shutdown_mu); // one shutdown at a time; later ones find it joined
  if (!m_worker.joinable()) return;
  {
    std::lock_guard lk(m_mu);
    m_stopping = true;
    m_deadline = deadline;
  }
  m_cv.notify_all();
  {
    std::unique_lock lk(m_mu);
    if (!m_done_cv.wait_until(lk, deadline, [&] { return m_done; })) {
      lk.unlock();
      abort_in_flight();
      m_cv.notify_all();
    }
  }
  m_worker.join();
}

QueuedSink::Stats QueuedSink::stats() const {
  std::lock_guard lk(m_mu);
  Stats s = m_stats;
  s.queued = m_queue.size();
  return s;
}

void QueuedSink::run() {
  std::unique_lock lk(m_mu);
  auto past_deadline = [&] { return m_stopping && std::chrono::steady_clock::now() >= m_deadline; };
  for (;;) {
    m_cv.wait(lk, [&] { return !m_queue.empty() || m_stopping; });
    if (m_queue.empty() || past_deadline()) break;
    Alert a = std::move(m_queue.front());
    m_queue.pop_front();
    for (int attempt = 1;; ++attempt) {
      // Each attempt gets a few seconds, and never outlives the shutdown deadline.
      SteadyTime attempt_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      if (m_stopping && m_deadline < attempt_deadline) attempt_deadline = m_deadline;
      lk.unlock();
      SendResult r = send_one(a, attempt_deadline);
      lk.lock();
      if (r == SendResult::ok) {
        ++m_stats.delivered;
        break;
      }
      if (r == SendResult::fail || attempt >= m_options.tries || past_deadline()) {
        ++m_stats.failed;
        break;
      }
      ++m_stats.retries;
      auto wait = m_options.backoff_base * (1 << (attempt - 1));
      SteadyTime until = std::chrono::steady_clock::now() + wait;
      // Sleep through the backoff, but wake for a shutdown whose deadline falls before it ends.
      m_cv.wait_until(lk, until, [&] { return m_stopping && m_deadline < until; });
      if (past_deadline() || (m_stopping && m_deadline < until)) {
        ++m_stats.failed;
        break;
      }
    }
  }
  m_stats.abandoned += m_queue.size();
  m_queue.clear();
  m_done = true;
  m_done_cv.notify_all();
}

// ---- syslog -------------------------------------------------------------------------------------

int parse_syslog_facility(std::string_view name) {
  std::string n;
  for (char c : name)
    n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n.rfind("log_", 0) == 0) n.erase(0, 4);
  struct Entry {
    const char* name;
    int value;
  };
  static constexpr Entry k_facilities[] = {
      {"user", LOG_USER},         {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},
      {"authpriv", LOG_AUTHPRIV}, {"syslog", LOG_SYSLOG}, {"mail", LOG_MAIL},
      {"news", LOG_NEWS},         {"uucp", LOG_UUCP},     {"cron", LOG_CRON},
      {"lpr", LOG_LPR},           {"ftp", LOG_FTP},       {"local0", LOG_LOCAL0},
      {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
      {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
      {"local7", LOG_LOCAL7},
  };
  for (const auto& e : k_facilities)
    if (n == e.name) return e.value;
  return -1;
}

int syslog_priority(core::Severity s) {
  switch (s) {
  case core::Severity::critical: return LOG_CRIT;
  case core::Severity::high: return LOG_ERR;
  case core::Severity::medium: return LOG_WARNING;
  case core::Severity::low: return LOG_NOTICE;
  case core::Severity::info: return LOG_INFO;
  }
  return LOG_ERR;
}

Result<std::unique_ptr<SyslogSink>> SyslogSink::open(std::string_view facility) {
  int f = parse_syslog_facility(facility);
  if (f < 0)
    return Error{0, fmt::format("unknown syslog facility '{}': use user, daemon, auth, authpriv, "
                                "syslog, mail, news, uucp, cron, lpr, ftp or local0..local7",
                                facility)};
  return std::unique_ptr<SyslogSink>(new SyslogSink(std::string(facility), f));
}

SyslogSink::SyslogSink(std::string facility_name, int facility)
    : QueuedSink(Options{}), m_facility_name(std::move(facility_name)), m_facility(facility) {
  // openlog is process-wide; the facility goes with each message instead.
  ::openlog("mcp-warden", LOG_PID | LOG_NDELAY, facility);
  start();
}

SyslogSink::~SyslogSink() {
  stop();
}

QueuedSink::SendResult SyslogSink::send_one(const Alert& a, SteadyTime /*deadline*/) {
  std::string line = alert_line(a);
  constexpr std::string_view k_prefix = "mcp-warden: "; // the ident says it already
  if (line.rfind(k_prefix, 0) == 0) line.erase(0, k_prefix.size());
  ::syslog(m_facility | syslog_priority(a.finding.severity), "%s", line.c_str());
  return SendResult::ok;
}

} // namespace warden::alert
