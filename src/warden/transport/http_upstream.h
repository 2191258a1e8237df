// A Streamable HTTP MCP client for a remote upstream server (policy entries with `url:`).
//
// The gateway gives each session one HttpUpstream per remote server. Every message it sends is one
// POST (JSON-RPC message or batch); the answers (application/json or an SSE stream) come back one
// message at a time through `on_line`, and a standalone GET stream, opened once the session is
// initialized, carries what the server sends on its own. Messages sent while the initialize request
// is in flight wait for its response (order kept); after that POSTs run concurrently over a small
// pool of keep-alive connections. A POST stream that ends before its responses arrived is resumed
// with GET and Last-Event-ID after the server's `retry:` delay (SEP-1699).
//
// A failure of a POST that carried requests never goes unanswered: each request id gets a JSON-RPC
// error response (code -32000) through `on_line`. TLS verifies the chain (system store or ca_file)
// and the host name; redirects are refused; bodies are bounded. Header values from the options
// (secrets) are never logged or echoed.
//
// Threading: everything runs on the io_context's one thread; the class is not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "warden/util/result.h"

namespace warden::transport {

inline constexpr int k_remote_error = -32000;  // a remote server failed to answer

struct HttpUpstreamOptions {
  std::string url;  // http(s)://host[:port]/path
  // Added to every request (e.g. Authorization from the gateway's own secrets). Never logged.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string ca_file;          // PEM bundle to verify the server; empty: the system trust store
  uint32_t timeout_ms = 30000;  // per request: connect + TLS + until the response or stream end
  size_t max_message_bytes = 16u << 20;
  size_t max_idle_connections = 8;  // keep-alive pool size
};

// The parts of a checked URL.
struct ParsedUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6 literals
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"
  std::string host_header;
};
Result<ParsedUrl> parse_upstream_url(std::string_view url);

class HttpUpstream {
public:
  using LineFn = std::function<void(std::string_view line)>;  // one JSON-RPC message (no newline)
  using ClosedFn = std::function<void(std::string how)>;      // the remote session is gone

  HttpUpstream(boost::asio::io_context& io, HttpUpstreamOptions options, LineFn on_line,
               ClosedFn on_closed);
  // Calls close(); no callbacks after destruction, and coroutines still running keep only what
  // they share with this object alive.
  ~HttpUpstream();
  HttpUpstream(const HttpUpstream&) = delete;
  HttpUpstream& operator=(const HttpUpstream&) = delete;

  // Validates the URL (scheme http or https, a host, no user info or fragment), the headers (no
  // CR/LF, none of the ones this client sets itself), the CA file and the limits.
  static Result<HttpUpstreamOptions> check(HttpUpstreamOptions options);

  void send(std::string message);  // one JSON-RPC message or batch, already checked by the codec
  // DELETEs the session if one exists (best effort, bounded by min(timeout, 5 s)), stops every
  // stream and connection; no callbacks after it returns.
  void close();
  std::string describe_json() const;  // {"url":"...","session":"...","protocol":"..."}
  const std::string& session_id() const;
  const std::string& protocol_version() const;

  struct Stats {
    uint64_t posts = 0, connections_opened = 0, connections_reused = 0, get_streams = 0,
             resumptions = 0, failures = 0;
  };
  Stats stats() const;

  struct Impl;

private:
  std::shared_ptr<Impl> m_impl;
};

}  // namespace warden::transport
