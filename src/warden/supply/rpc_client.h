// A line-oriented JSON-RPC client over a child server's stdio, for the tools that speak MCP to a
// server themselves (`probe`, `scan --connect`). Every wait is bounded by the timeout; a server
// that closes its stdout or goes quiet makes the call return nothing, and failure() says which.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <simdjson.h>

namespace warden::supply {

class RpcClient {
public:
  enum class Failure { none, timeout, closed, write_failed };
  // `in`/`out`/`err`: the child's stdin, stdout and stderr (err may be -1). With `forward_stderr`
  // the server's log goes to our stderr; without, its last few KiB are kept for stderr_tail().
  RpcClient(int in, int out, int err, int timeout_ms, bool forward_stderr = true)
      : m_in(in), m_out(out), m_err(err), m_timeout_ms(timeout_ms), m_forward(forward_stderr) {}

  bool send(const std::string& line);
  // The response to `id` (other lines, notifications and server requests, are skipped).
  std::optional<std::string> wait_for(int64_t id);
  std::optional<std::string> call(int64_t id, const std::string& method, const std::string& params);

  Failure failure() const { return m_failure; }
  // "did not answer within 10000 ms", "closed its output (exited?)", ...
  std::string failure_text() const;
  const std::string& stderr_tail() const { return m_stderr_tail; }

private:
  int m_in, m_out, m_err, m_timeout_ms;
  bool m_forward;
  Failure m_failure = Failure::none;
  std::string m_buf, m_stderr_tail;
  simdjson::dom::parser m_parser;
};

}  // namespace warden::supply
