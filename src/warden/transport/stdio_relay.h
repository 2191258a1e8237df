// The stdio relay: the agent on our stdin/stdout, the server on a child's pipes. One thread, one
// poll loop, newline-delimited JSON-RPC framing. Lines go through the Processor; the server's
// stderr passes through untouched. Shutdown follows the MCP stdio rules: on EOF from the client
// the server's stdin is closed, then SIGTERM after a grace period, then SIGKILL.
#pragma once

#include <functional>

#include "warden/gateway/processor.h"
#include "warden/transport/child_process.h"

namespace warden::transport {

struct RelayOptions {
  int grace_ms = 3000;                    // between stdin close, SIGTERM and SIGKILL
  size_t max_message_bytes = 16u << 20;   // longer lines are discarded and refused
  size_t max_pending_output = 64u << 20;  // stop reading a side whose peer does not keep up
  int tick_ms = 100;                      // how often `on_tick` runs (audit fsync batching)
  int spin_us = 50;                       // busy-poll this long after traffic before sleeping
  // The circuit breaker: when this fd (an eventfd) becomes readable, `on_quarantine` runs (it
  // trips the breaker and returns how the server ended, for the requests it leaves unanswered),
  // the server is killed, and the relay goes on answering the client until it hangs up.
  int quarantine_fd = -1;
  std::function<std::string()> on_quarantine;
};

class StdioRelay {
public:
  // `before_flush` runs after a chunk of input was processed and before its output is written
  // (the audit log writes its records there, so nothing is forwarded before it is recorded).
  // If it returns false (the records could not be written) the chunk's output is discarded and
  // the relay shuts the server down: no unaudited traffic passes (fail closed).
  StdioRelay(gateway::Processor& processor, ChildProcess& child, RelayOptions options,
             std::function<bool()> before_flush, std::function<void()> on_tick);
  bool failed_closed() const { return m_failed_closed; }
  bool quarantined() const { return m_quarantined; }
  // Relays until the server has exited and its output is drained. Returns the exit code for the
  // warden: the server's status, or 128+signal. `signal_fd` is a signalfd for SIGINT, SIGTERM,
  // SIGHUP and SIGCHLD (blocked by the caller before any thread starts).
  int run(int in_fd, int out_fd, int err_fd, int signal_fd);

private:
  gateway::Processor& m_processor;
  ChildProcess& m_child;
  RelayOptions m_options;
  std::function<bool()> m_before_flush;
  std::function<void()> m_on_tick;
  bool m_failed_closed = false;
  bool m_quarantined = false;
};

// Newline framing over a growable buffer that keeps SIMDJSON padding after every line, so the
// codec parses in place.
class LineFramer {
public:
  explicit LineFramer(size_t max_line);
  ~LineFramer();
  LineFramer(const LineFramer&) = delete;
  LineFramer& operator=(const LineFramer&) = delete;

  // Reads once from fd. Returns bytes read, 0 on EOF, -1 on EAGAIN, -2 on error.
  ssize_t read_from(int fd);
  // Calls on_line(view, padded) for each complete line, on_oversized(bytes) for each discarded
  // one. Blank lines are skipped; a trailing '\r' is removed.
  void drain(const std::function<void(std::string_view, bool)>& on_line,
             const std::function<void(size_t)>& on_oversized);
  size_t buffered() const { return m_end - m_begin; }

private:
  void reserve(size_t extra);
  char* m_data = nullptr;
  size_t m_cap = 0, m_begin = 0, m_end = 0, m_scan = 0;
  size_t m_max_line;
  bool m_discarding = false;
  size_t m_discarded = 0;
};

}  // namespace warden::transport
