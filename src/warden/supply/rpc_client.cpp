#include "warden/supply/rpc_client.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <fmt/format.h>

namespace warden::supply {

namespace {
constexpr size_t k_stderr_tail = 4096;
}

bool RpcClient::send(const std::string& line) {
  std::string data = line + "\n";
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(m_in, data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{m_in, POLLOUT, 0};
      if (::poll(&p, 1, m_timeout_ms) <= 0) {
        m_failure = Failure::write_failed;
        return false;
      }
    } else {
      m_failure = Failure::write_failed;
      return false;
    }
  }
  return true;
}

std::optional<std::string> RpcClient::wait_for(int64_t id) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(m_timeout_ms);
  for (;;) {
    for (size_t nl; (nl = m_buf.find('\n')) != std::string::npos;) {
      std::string line = m_buf.substr(0, nl);
      m_buf.erase(0, nl + 1);
      simdjson::dom::element doc;
      int64_t got = 0;
      if (m_parser.parse(line).get(doc) == simdjson::SUCCESS && doc["id"].get_int64().get(got) == simdjson::SUCCESS &&
          got == id && (doc["result"].error() == simdjson::SUCCESS || doc["error"].error() == simdjson::SUCCESS))
        return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      m_failure = Failure::timeout;
      return std::nullopt;
    }
    pollfd p[2] = {{m_out, POLLIN, 0}, {m_err, POLLIN, 0}};
    if (::poll(p, m_err >= 0 ? 2 : 1, static_cast<int>(left)) <= 0) {
      m_failure = Failure::timeout;
      return std::nullopt;
    }
    char buf[65536];
    if (m_err >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {  // the server's log
      ssize_t e = ::read(m_err, buf, sizeof buf);
      if (e > 0 && m_forward) {
        (void)!::write(STDERR_FILENO, buf, static_cast<size_t>(e));
      } else if (e > 0) {
        m_stderr_tail.append(buf, static_cast<size_t>(e));
        if (m_stderr_tail.size() > k_stderr_tail) m_stderr_tail.erase(0, m_stderr_tail.size() - k_stderr_tail);
      } else if (e == 0) {
        m_err = -1;
      }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = ::read(m_out, buf, sizeof buf);
    if (n == 0) {
      m_failure = Failure::closed;
      return std::nullopt;
    }
    if (n > 0) m_buf.append(buf, static_cast<size_t>(n));
  }
}

std::optional<std::string> RpcClient::call(int64_t id, const std::string& method, const std::string& params) {
  if (!send(fmt::format(R"({{"jsonrpc":"2.0","id":{},"method":"{}","params":{}}})", id, method, params)))
    return std::nullopt;
  return wait_for(id);
}

std::string RpcClient::failure_text() const {
  switch (m_failure) {
    case Failure::timeout: return fmt::format("did not answer within {} ms", m_timeout_ms);
    case Failure::closed: return "closed its output (it exited or crashed)";
    case Failure::write_failed: return "stopped reading its input (it exited or crashed)";
    default: return "answered";
  }
}

}  // namespace warden::supply
