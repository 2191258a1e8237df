#include "warden/transport/stdio_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <simdjson.h>

namespace warden::transport {

namespace {

constexpr size_t k_read_chunk = 256 * 1024;
constexpr size_t k_padding = simdjson::SIMDJSON_PADDING;
constexpr int64_t k_drain_ms = 1000;  // how long to wait for output after the server exited

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Writes as much of buf[off..] as the fd takes. Returns false on a hard error (EPIPE...).
bool write_some(int fd, const std::string& buf, size_t& off) {
  while (off < buf.size()) {
    ssize_t n = ::write(fd, buf.data() + off, buf.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  return true;
}

void compact(std::string& buf, size_t& off) {
  if (off == buf.size()) {
    buf.clear();
    off = 0;
  } else if (off > (1u << 20) && off > buf.size() / 2) {
    buf.erase(0, off);
    off = 0;
  }
}

// Blocking write of everything (used for the final flush and for stderr passthrough).
void write_all_blocking(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, 5000) <= 0) return;
    } else {
      return;
    }
  }
}

}  // namespace

LineFramer::LineFramer(size_t max_line) : m_max_line(max_line) { reserve(k_read_chunk); }

LineFramer::~LineFramer() { std::free(m_data); }

void LineFramer::reserve(size_t extra) {
  if (m_begin > 0 && (m_begin == m_end || m_end + extra + k_padding > m_cap)) {
    std::memmove(m_data, m_data + m_begin, m_end - m_begin);
    m_scan -= m_begin;
    m_end -= m_begin;
    m_begin = 0;
  }
  size_t need = m_end + extra + k_padding;
  if (need <= m_cap) return;
  size_t cap = std::max(need, m_cap * 2);
  auto* p = static_cast<char*>(std::realloc(m_data, cap));
  if (!p) std::abort();
  m_data = p;
  m_cap = cap;
}

ssize_t LineFramer::read_from(int fd) {
  reserve(k_read_chunk);
  for (;;) {
    ssize_t n = ::read(fd, m_data + m_end, k_read_chunk);
    if (n > 0) {
      m_end += static_cast<size_t>(n);
      return n;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    return -2;
  }
}

void LineFramer::drain(const std::function<void(std::string_view, bool)>& on_line,
                       const std::function<void(size_t)>& on_oversized) {
  for (;;) {
    auto* nl = static_cast<char*>(std::memchr(m_data + m_scan, '\n', m_end - m_scan));
    if (!nl) {
      m_scan = m_end;
      size_t pending = m_end - m_begin;
      if (pending > m_max_line) {
        // Too long already: stop buffering, count it, and refuse it when its newline comes.
        m_discarding = true;
        m_discarded += pending;
        m_begin = m_end = m_scan = 0;
      }
      break;
    }
    size_t line_end = static_cast<size_t>(nl - m_data);
    size_t start = m_begin;
    m_begin = m_scan = line_end + 1;
    if (m_discarding) {
      size_t total = m_discarded + (line_end - start);
      m_discarding = false;
      m_discarded = 0;
      on_oversized(total);
      continue;
    }
    size_t len = line_end - start;
    if (len > 0 && m_data[start + len - 1] == '\r') --len;
    if (len == 0) continue;
    bool blank = true;
    for (size_t i = start; i < start + len && blank; ++i)
      blank = m_data[i] == ' ' || m_data[i] == '\t';
    if (blank) continue;
    if (len > m_max_line) {
      on_oversized(len);
      continue;
    }
    // Padding: the buffer always has k_padding bytes of capacity past m_end >= line end.
    on_line(std::string_view(m_data + start, len), true);
  }
  if (m_begin == m_end) m_begin = m_end = m_scan = 0;
}

StdioRelay::StdioRelay(gateway::Processor& processor, ChildProcess& child, RelayOptions options,
                       std::function<bool()> before_flush, std::function<void()> on_tick)
    : m_processor(processor), m_child(child), m_options(options),
      m_before_flush(std::move(before_flush)), m_on_tick(std::move(on_tick)) {}

int StdioRelay::run(int in_fd, int out_fd, int err_fd, int signal_fd) {
  using core::Direction;
  int in_flags = fcntl(in_fd, F_GETFL);
  int out_flags = fcntl(out_fd, F_GETFL);
  if (in_flags >= 0) fcntl(in_fd, F_SETFL, in_flags | O_NONBLOCK);
  if (out_flags >= 0) fcntl(out_fd, F_SETFL, out_flags | O_NONBLOCK);

  LineFramer from_client(m_options.max_message_bytes), from_server(m_options.max_message_bytes);
  gateway::Output out;
  size_t client_off = 0, server_off = 0;
  bool stdin_open = true, client_out_ok = true;
  bool server_in_open = true, server_out_open = true, server_err_open = true;
  int64_t term_at = -1, kill_at = -1, drain_until = -1;
  int64_t next_tick = now_ms() + m_options.tick_ms;
  int64_t last_activity_us = -1;
  std::vector<char> errbuf(64 * 1024);
  bool quarantine_answered = false;
  std::string quarantine_how;

  size_t client_mark = 0, server_mark = 0;  // output sizes before the current chunk
  auto flush = [&] {
    if (m_before_flush && !m_before_flush()) {
      // The audit log refused this chunk's records: forward none of it, and stop.
      out.to_client.resize(client_mark);
      out.to_server.resize(server_mark);
      if (!m_failed_closed) {
        m_failed_closed = true;
        stdin_open = false;
        m_child.terminate();
        kill_at = now_ms() + m_options.grace_ms;
      }
    }
    if (client_out_ok && !write_some(out_fd, out.to_client, client_off)) {
      client_out_ok = false;  // the client went away: shut down as on EOF
      stdin_open = false;
      out.to_client.clear();
      client_off = 0;
    }
    if (!server_in_open) {  // nowhere to go (quarantine, or the server closed its stdin)
      out.to_server.clear();
      server_off = 0;
    }
    if (server_in_open && !write_some(m_child.stdin_fd().get(), out.to_server, server_off)) {
      server_in_open = false;
      m_child.stdin_fd().reset();
      out.to_server.clear();
      server_off = 0;
    }
    compact(out.to_client, client_off);
    compact(out.to_server, server_off);
    client_mark = out.to_client.size();
    server_mark = out.to_server.size();
  };
  auto begin_shutdown = [&](bool signalled) {
    int64_t now = now_ms();
    if (signalled) {
      m_child.terminate();
      if (kill_at < 0) kill_at = now + m_options.grace_ms;
    } else if (term_at < 0 && kill_at < 0) {
      term_at = now + m_options.grace_ms;
    }
  };

  for (;;) {
    if (!stdin_open && server_in_open && server_off == out.to_server.size()) {
      m_child.stdin_fd().reset();  // EOF to the server: the MCP way to ask it to exit
      server_in_open = false;
    }
    bool exited = m_child.exit().has_value();
    bool drained = exited && ((!server_out_open && !server_err_open) || now_ms() >= drain_until);
    if (drained && m_quarantined) {
      // Quarantined: answer what the server left, then keep answering the client until it goes.
      if (!quarantine_answered) {
        quarantine_answered = true;
        m_processor.on_server_exit(quarantine_how, out);
        flush();
      }
      if (!stdin_open || !client_out_ok) break;
    } else if (drained) {
      break;
    }

    pollfd fds[7];
    int n = 0;
    int i_sig = -1, i_in = -1, i_sout = -1, i_serr = -1, i_cout = -1, i_sin = -1, i_q = -1;
    fds[n] = {signal_fd, POLLIN, 0}, i_sig = n++;
    if (m_options.quarantine_fd >= 0 && !m_quarantined)
      fds[n] = {m_options.quarantine_fd, POLLIN, 0}, i_q = n++;
    bool server_backlog = out.to_server.size() - server_off > m_options.max_pending_output;
    bool client_backlog = out.to_client.size() - client_off > m_options.max_pending_output;
    if (stdin_open && !server_backlog) fds[n] = {in_fd, POLLIN, 0}, i_in = n++;
    if (server_out_open && !client_backlog)
      fds[n] = {m_child.stdout_fd().get(), POLLIN, 0}, i_sout = n++;
    if (server_err_open) fds[n] = {m_child.stderr_fd().get(), POLLIN, 0}, i_serr = n++;
    if (client_out_ok && client_off < out.to_client.size())
      fds[n] = {out_fd, POLLOUT, 0}, i_cout = n++;
    if (server_in_open && server_off < out.to_server.size())
      fds[n] = {m_child.stdin_fd().get(), POLLOUT, 0}, i_sin = n++;

    int64_t now = now_ms();
    int64_t deadline = next_tick;
    for (int64_t d : {term_at, kill_at, drain_until})
      if (d >= 0 && d < deadline) deadline = d;
    int timeout = static_cast<int>(std::max<int64_t>(0, deadline - now));
    // Right after traffic, spin briefly on a non-blocking poll before sleeping: the answer to
    // what we just forwarded usually comes within microseconds, and waking a sleeping core
    // costs more than that (RelayOptions::spin_us; 0 turns it off).
    int rc = 0;
    if (m_options.spin_us > 0 && last_activity_us >= 0) {
      int64_t spin_until = last_activity_us + m_options.spin_us;
      while ((rc = ::poll(fds, static_cast<nfds_t>(n), 0)) == 0 && now_us() < spin_until) {
      }
    }
    if (rc == 0) rc = ::poll(fds, static_cast<nfds_t>(n), timeout);
    last_activity_us = rc > 0 ? now_us() : -1;
    if (rc < 0 && errno != EINTR) break;
    now = now_ms();

    if (now >= next_tick) {
      if (m_on_tick) m_on_tick();
      next_tick = now + m_options.tick_ms;
      if (!m_child.exit() && m_child.try_wait()) {  // belt and braces for a missed SIGCHLD
        drain_until = now + k_drain_ms;
        term_at = kill_at = -1;
      }
    }
    if (term_at >= 0 && now >= term_at && !m_child.exit()) {
      m_child.terminate();
      term_at = -1;
      kill_at = now + m_options.grace_ms;
    }
    if (kill_at >= 0 && now >= kill_at && !m_child.exit()) {
      m_child.kill();
      kill_at = -1;
    }
    if (rc <= 0) continue;

    if (i_q >= 0 && (fds[i_q].revents & POLLIN)) {
      uint64_t v = 0;
      (void)!::read(m_options.quarantine_fd, &v, sizeof v);
      m_quarantined = true;
      quarantine_how = m_options.on_quarantine ? m_options.on_quarantine() : "was quarantined";
      m_child.kill();  // no grace: it is misbehaving
      server_in_open = false;
      m_child.stdin_fd().reset();
      term_at = kill_at = -1;
      if (drain_until < 0) drain_until = now_ms() + k_drain_ms;
    }
    if (fds[i_sig].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signal_fd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP) {
          stdin_open = false;
          begin_shutdown(true);
        }
      }
      if (m_child.try_wait()) {
        if (drain_until < 0) drain_until = now_ms() + k_drain_ms;
        term_at = kill_at = -1;
      }
    }
    if (i_in >= 0 && (fds[i_in].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = from_client.read_from(in_fd);
      if (r > 0) {
        from_client.drain(
            [&](std::string_view line, bool padded) {
              m_processor.on_line(Direction::c2s, line, padded, out);
            },
            [&](size_t bytes) { m_processor.on_oversized(Direction::c2s, bytes, out); });
      } else if (r == 0 || r == -2) {
        stdin_open = false;
        begin_shutdown(false);
      }
    }
    if (i_sout >= 0 && (fds[i_sout].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = from_server.read_from(m_child.stdout_fd().get());
      if (r > 0) {
        from_server.drain(
            [&](std::string_view line, bool padded) {
              m_processor.on_line(Direction::s2c, line, padded, out);
            },
            [&](size_t bytes) { m_processor.on_oversized(Direction::s2c, bytes, out); });
      } else if (r == 0 || r == -2) {
        server_out_open = false;
      }
    }
    if (i_serr >= 0 && (fds[i_serr].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(m_child.stderr_fd().get(), errbuf.data(), errbuf.size());
      if (r > 0) write_all_blocking(err_fd, errbuf.data(), static_cast<size_t>(r));
      else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) server_err_open = false;
    }
    (void)i_cout;
    (void)i_sin;
    flush();
  }

  // The server is gone (or we gave up waiting for its output): answer what it left unanswered.
  if (!m_child.exit()) {
    m_child.kill();
    while (!m_child.try_wait()) ::usleep(1000);
  }
  const ChildExit exit = *m_child.exit();
  m_processor.on_server_exit(m_quarantined ? quarantine_how : exit.describe(), out);
  if (m_before_flush) (void)m_before_flush();  // the errors go out even if unrecorded
  if (client_out_ok && client_off < out.to_client.size())
    write_all_blocking(out_fd, out.to_client.data() + client_off, out.to_client.size() - client_off);
  if (in_flags >= 0) fcntl(in_fd, F_SETFL, in_flags);
  if (out_flags >= 0) fcntl(out_fd, F_SETFL, out_flags);
  return exit.status;
}

}  // namespace warden::transport
