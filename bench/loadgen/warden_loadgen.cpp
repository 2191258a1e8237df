// Load generator: speaks MCP over stdio to one or more targets in the same run and reports
// round-trip latency (p50, p99) for small and large tools/call messages, pipelined throughput,
// and the target process's peak RSS. The first target is the baseline for "added" figures.
//
//   warden_loadgen [--small-n N] [--large-n N] [--throughput-n N] [--window W]
//                  --target 'direct|build/warden_echo_server' --target 'warden|build/mcp-warden run ...'
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "warden/transport/child_process.h"
#include "warden/transport/stdio_relay.h"

using warden::transport::ChildProcess;
using warden::transport::LineFramer;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Target {
  std::string label;
  std::vector<std::string> argv;
};

struct Figures {
  double small_p50_us = 0, small_p99_us = 0, large_p50_us = 0, large_p99_us = 0;
  double small_msgs_per_s = 0, large_mb_per_s = 0;
  long rss_kb = 0;
  bool ok = false;
};

std::string make_request(int64_t id, size_t total_size) {
  std::string head = R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
                     R"(,"method":"tools/call","params":{"name":"echo","arguments":{"text":")";
  std::string tail = "\"}}}";
  size_t fill = total_size > head.size() + tail.size() ? total_size - head.size() - tail.size() : 1;
  std::string text(fill, 'a');
  for (size_t i = 0; i < fill; i += 7) text[i] = static_cast<char>('a' + i % 26);
  return head + text + tail + "\n";
}

class Peer {
public:
  explicit Peer(const std::vector<std::string>& argv) {
    auto c = ChildProcess::spawn(argv);
    if (!c) {
      std::fprintf(stderr, "loadgen: %s\n", c.error().message.c_str());
      std::exit(2);
    }
    m_child = std::move(*c);
  }
  ~Peer() {
    m_child->stdin_fd().reset();
    for (int i = 0; i < 3000 && !m_child->try_wait(); ++i) ::usleep(1000);
  }
  void send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::write(m_child->stdin_fd().get(), s.data() + off, s.size() - off);
      if (n > 0) off += static_cast<size_t>(n);
      else wait(m_child->stdin_fd().get(), POLLOUT, 10000);
    }
  }
  // Writes as much as possible without blocking; returns bytes written.
  size_t send_some(const std::string& s, size_t off) {
    ssize_t n = ::write(m_child->stdin_fd().get(), s.data() + off, s.size() - off);
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
  // Reads what is there; returns the number of complete lines seen (expects JSON-RPC lines).
  int read_lines(int timeout_ms) {
    int lines = 0;
    if (!wait(m_child->stdout_fd().get(), POLLIN, timeout_ms)) return 0;
    ssize_t r = m_framer.read_from(m_child->stdout_fd().get());
    if (r == 0 || r == -2) {
      std::fprintf(stderr, "loadgen: target closed its output\n");
      std::exit(1);
    }
    m_framer.drain(
        [&](std::string_view line, bool) {
          if (line.find("\"error\"") != std::string_view::npos && line.size() < 4096) {
            std::fprintf(stderr, "loadgen: error response: %.*s\n", static_cast<int>(line.size()),
                         line.data());
            std::exit(1);
          }
          ++lines;
        },
        [&](size_t) { ++lines; });
    return lines;
  }
  void read_one() {
    while (read_lines(10000) == 0) {
    }
  }
  pid_t pid() const { return m_child->pid(); }
  int stdin_fd() const { return m_child->stdin_fd().get(); }
  int stdout_fd() const { return m_child->stdout_fd().get(); }

private:
  static bool wait(int fd, short ev, int timeout_ms) {
    pollfd p{fd, ev, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }
  std::unique_ptr<ChildProcess> m_child;
  LineFramer m_framer{64u << 20};
};

long peak_rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

Figures measure(const Target& t, int small_n, int large_n, int throughput_n, int window) {
  Figures f;
  Peer peer(t.argv);
  int64_t id = 0;
  peer.send(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"loadgen","version":"1"}}})"
            "\n");
  peer.read_one();
  peer.send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
            "\n");

  auto latency = [&](int n, size_t size, double& p50, double& p99) {
    std::vector<double> us;
    us.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n + n / 10; ++i) {  // the first tenth warms up
      std::string req = make_request(++id, size);
      int64_t t0 = now_ns();
      peer.send(req);
      peer.read_one();
      if (i >= n / 10) us.push_back(static_cast<double>(now_ns() - t0) / 1000.0);
    }
    p50 = percentile(us, 0.50);
    p99 = percentile(us, 0.99);
  };
  latency(small_n, 200, f.small_p50_us, f.small_p99_us);
  latency(large_n, 1 << 20, f.large_p50_us, f.large_p99_us);

  // Pipelined throughput of small messages: keep `window` requests in flight.
  std::vector<std::string> reqs;
  for (int i = 0; i < 256; ++i) reqs.push_back(make_request(1'000'000 + i, 200));
  int sent = 0, received = 0;
  std::string pending;
  size_t pending_off = 0;
  int64_t t0 = now_ns();
  while (received < throughput_n) {
    while (pending_off == pending.size() && sent < throughput_n && sent - received < window) {
      // Ids must be unique among requests in flight: number them by `sent`.
      std::string r = make_request(2'000'000 + sent, 200);
      pending += r;
      ++sent;
      if (pending.size() > 16384) break;
    }
    if (pending_off < pending.size()) {
      pending_off += peer.send_some(pending, pending_off);
      if (pending_off == pending.size()) {
        pending.clear();
        pending_off = 0;
      }
    }
    received += peer.read_lines(sent - received >= window || sent == throughput_n ? 10000 : 0);
  }
  double secs = static_cast<double>(now_ns() - t0) / 1e9;
  f.small_msgs_per_s = throughput_n / secs;
  f.large_mb_per_s = f.large_p50_us > 0 ? 2.0 / (f.large_p50_us / 1e6) : 0;  // 1 MiB each way
  f.rss_kb = peak_rss_kb(peer.pid());
  f.ok = true;
  return f;
}

std::vector<std::string> split(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int small_n = 20000, large_n = 200, throughput_n = 200000, window = 64;
  std::vector<Target> targets;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--small-n") small_n = std::stoi(next());
    else if (a == "--large-n") large_n = std::stoi(next());
    else if (a == "--throughput-n") throughput_n = std::stoi(next());
    else if (a == "--window") window = std::stoi(next());
    else if (a == "--target") {
      std::string spec = next();
      auto bar = spec.find('|');
      if (bar == std::string::npos) {
        std::fprintf(stderr, "loadgen: --target 'label|command args'\n");
        return 2;
      }
      targets.push_back({spec.substr(0, bar), split(spec.substr(bar + 1))});
    } else {
      std::fprintf(stderr, "loadgen: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (targets.empty()) {
    std::fprintf(stderr, "usage: warden_loadgen --target 'label|cmd args' [--target ...]\n");
    return 2;
  }
  std::vector<Figures> figs;
  for (const auto& t : targets) {
    std::fprintf(stderr, "loadgen: measuring %s ...\n", t.label.c_str());
    figs.push_back(measure(t, small_n, large_n, throughput_n, window));
  }
  std::printf("\nlatency: %d small (200 B) and %d large (1 MiB each way) round trips, one at a time;\n"
              "throughput: %d pipelined small round trips, window %d (messages/s counts request and\n"
              "response: each passes the target's whole chain)\n\n",
              small_n, large_n, throughput_n, window);
  std::printf("%-12s %9s %9s %10s %10s %11s %10s %13s %13s %8s\n", "target", "p50 us", "p99 us",
              "added p50", "added p99", "1MB p50 us", "1MB added", "round trips/s", "messages/s", "RSS MB");
  for (size_t i = 0; i < figs.size(); ++i) {
    const auto& f = figs[i];
    const auto& b = figs[0];
    std::printf("%-12s %9.1f %9.1f %10.1f %10.1f %11.0f %10.0f %13.0f %13.0f %8.1f\n",
                targets[i].label.c_str(), f.small_p50_us, f.small_p99_us,
                f.small_p50_us - b.small_p50_us, f.small_p99_us - b.small_p99_us, f.large_p50_us,
                f.large_p50_us - b.large_p50_us, f.small_msgs_per_s, 2 * f.small_msgs_per_s,
                f.rss_kb / 1024.0);
  }
  return 0;
}
