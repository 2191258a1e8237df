// Alert sinks. AlertSink is the interface the Alerter fans out to; deliver() must not block on
// network or syslog I/O (only the stderr and file sinks write inline, one write(2) per alert).
// Sinks that talk to something slow derive from QueuedSink: a bounded queue (drop oldest when
// full, counted) drained by one worker thread, with retries and exponential backoff.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "warden/alert/alert.h"
#include "warden/util/result.h"

namespace warden::alert {

using SteadyTime = std::chrono::steady_clock::time_point;

class AlertSink {
public:
  virtual ~AlertSink() = default;
  virtual std::string name() const = 0; // "stderr", "file:PATH", "syslog:local0", "webhook:URL"
  virtual void deliver(const Alert& a) = 0;
  // Stop accepting alerts and deliver what is queued, giving up at `deadline`. Idempotent.
  virtual void shutdown(SteadyTime deadline) { (void)deadline; }
};

// One human line per alert (alert_line) written to `fd` with one write(2).
class StderrSink final : public AlertSink {
public:
  explicit StderrSink(int fd = 2) : m_fd(fd) {}
  std::string name() const override { return "stderr"; }
  void deliver(const Alert& a) override;

private:
  int m_fd;
};

// JSON Lines (alert_json), appended with O_APPEND to a file created with mode 0600.
class FileSink final : public AlertSink {
public:
  static Result<std::unique_ptr<FileSink>> open(const std::string& path);
  ~FileSink() override;
  std::string name() const override { return "file:" + m_path; }
  void deliver(const Alert& a) override;
  uint64_t failures() const { return m_failures.load(); }

private:
  FileSink(std::string path, int fd) : m_path(std::move(path)), m_fd(fd) {}
  std::string m_path;
  int m_fd;
  std::atomic<uint64_t> m_failures{0};
};

// Base of the asynchronous sinks.
class QueuedSink : public AlertSink {
public:
  struct Options {
    size_t capacity = 1024;                      // queued alerts; when full, drop the oldest
    int tries = 1;                               // attempts per alert
    std::chrono::milliseconds backoff_base{200}; // wait base * 2^(n-1) after attempt n fails
  };
  struct Stats {
    uint64_t delivered = 0;
    uint64_t failed = 0;    // gave up after the last try (or a permanent error)
    uint64_t dropped = 0;   // pushed out of a full queue, or raised after shutdown
    uint64_t abandoned = 0; // still queued when the shutdown deadline passed
    uint64_t retries = 0;
    size_t queued = 0;
  };

  ~QueuedSink() override;
  void deliver(const Alert& a) final; // never blocks on I/O
  void shutdown(SteadyTime deadline) final;
  Stats stats() const;

protected:
  enum class SendResult { ok, retry, fail };
  explicit QueuedSink(Options options);
  // Derived constructors call start() last; derived destructors call stop() first.
  void start();
  void stop();
  // One attempt, returning by `deadline` at the latest. Runs on the worker thread.
  virtual SendResult send_one(const Alert& a, SteadyTime deadline) = 0;
  // Called from shutdown() when the deadline passes with an attempt in flight: make send_one
  // return now. Thread-safe.
  virtual void abort_in_flight() {}

private:
  void run();

  const Options m_options;
  std::mutex m_shutdown_mu;
  mutable std::mutex m_mu;
  std::condition_variable m_cv;      // work queued, or stopping
  std::condition_variable m_done_cv; // the worker finished
  std::deque<Alert> m_queue;
  bool m_stopping = false;
  bool m_done = false;
  SteadyTime m_deadline{};
  Stats m_stats;
  std::thread m_worker;
};

// syslog(3) with the configured facility (ident "mcp-warden", LOG_PID). Severity maps to priority:
// critical LOG_CRIT, high LOG_ERR, medium LOG_WARNING, low LOG_NOTICE, info LOG_INFO. Queued,
// because syslog() blocks when the log daemon does not read.
class SyslogSink final : public QueuedSink {
public:
  // `facility`: user, daemon, auth, authpriv, syslog, mail, news, uucp, cron, lpr, ftp, local0..7.
  static Result<std::unique_ptr<SyslogSink>> open(std::string_view facility);
  ~SyslogSink() override;
  std::string name() const override { return "syslog:" + m_facility_name; }

private:
  SyslogSink(std::string facility_name, int facility);
  SendResult send_one(const Alert& a, SteadyTime deadline) override;
  std::string m_facility_name;
  int m_facility;
};

// The LOG_* facility value for a name, or -1.
int parse_syslog_facility(std::string_view name);
// The LOG_* priority for a severity.
int syslog_priority(core::Severity s);

} // namespace warden::alert
