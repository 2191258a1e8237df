// A JWKS fetched from an https:// URL and kept fresh in the background (the model is Envoy
// jwt_authn's remote_jwks).
//
// RemoteJwks::start fetches the set once, blocking, and fails if that fetch fails: a gateway
// never starts without the keys it was told to trust (fail closed). It then owns one thread with
// a small io_context of its own that refetches every `refresh`, and earlier when the I/O thread
// reports a token whose kid the set lacks (request_refetch: a non-blocking signal, acted on at
// most once per `min_refetch`), so a key rotation at the identity provider needs no restart. A
// failed refetch (network, TLS, HTTP status, a body over k_max_jwks_bytes, a set that Jwks::parse
// refuses or that holds no usable key) keeps the last good set, is logged once per streak of
// failures, and is retried with exponential backoff. A good set is published with an atomic
// shared_ptr swap; current() is what the I/O thread reads for every token.
//
// Transport: HTTPS with the certificate chain verified against the system trust store (or only
// `ca_file`, for a private identity provider) and the host name (or IP address) checked, SNI
// sent; plain http:// only to 127.0.0.1, ::1 or localhost (tests). Redirects are not followed:
// any status but 200 is a failure. `timeout` bounds the whole exchange (connect, TLS handshake,
// request, response).
//
// The destructor stops the thread: io_context::stop() abandons any exchange in flight, so the
// join waits for at most one handler (or a DNS lookup already under way), never for a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "warden/gateway/auth/jwks.h"
#include "warden/util/result.h"

namespace warden::gateway::auth {

// The parts of a JWKS URL, checked: scheme https (or http to a loopback host), a host, no
// user:password@, no #fragment. `target` is the path and query ("/" when none is given).
struct JwksUrl {
  bool tls = true;
  std::string host;  // without the [] of an IPv6 literal
  std::string port;  // "443" / "80" unless given
  std::string target;
};

// Whether a `jwks:` value names a URL (http:// or https://, any case) rather than a file.
bool is_jwks_url(std::string_view value);
// The URL's parts, or why it is refused (a message for the policy loader).
Result<JwksUrl> parse_jwks_url(std::string_view url);

inline constexpr std::chrono::seconds k_jwks_default_refresh{600};
inline constexpr std::chrono::seconds k_jwks_min_refresh{30};

struct JwksFetchOptions {
  std::string url;
  std::string ca_file;  // PEM bundle; "" means the system trust store
  std::chrono::milliseconds refresh = k_jwks_default_refresh;
  std::chrono::milliseconds min_refetch = k_jwks_min_refresh;  // between early refetches
  std::chrono::milliseconds timeout = std::chrono::seconds(5);
  std::chrono::milliseconds retry_initial = std::chrono::seconds(2);  // doubles, up to `refresh`
  // Receives one line per event worth an operator's eye (defaults to stderr, prefixed
  // "mcp-warden gateway: ").
  std::function<void(const std::string&)> log;
  bool operator==(const JwksFetchOptions& o) const {
    return url == o.url && ca_file == o.ca_file && refresh == o.refresh && min_refetch == o.min_refetch &&
           timeout == o.timeout && retry_initial == o.retry_initial;
  }
};

// One GET of the URL, blocking the caller for at most options.timeout; the body on status 200.
Result<std::string> fetch_url(const JwksFetchOptions& options);

// What the refresher has done, for tests and the operator's log.
struct JwksFetchStats {
  uint64_t fetched = 0;     // good sets received (the first fetch included)
  uint64_t failed = 0;      // refetches that kept the previous set
  uint64_t early = 0;       // refetches started by request_refetch
  std::string last_error;   // "" after a good fetch
};

class RemoteJwks {
public:
  // Fetches the set (fail closed) and starts the refresh thread.
  static Result<std::shared_ptr<RemoteJwks>> start(JwksFetchOptions options);
  // The live RemoteJwks with these options if one exists (so a policy reload that keeps the
  // URL keeps its fetcher and key set without a blocking fetch), else start(options).
  static Result<std::shared_ptr<RemoteJwks>> shared(JwksFetchOptions options);

  ~RemoteJwks();
  RemoteJwks(const RemoteJwks&) = delete;
  RemoteJwks& operator=(const RemoteJwks&) = delete;

  // The last good set (never null). Safe from any thread.
  std::shared_ptr<const Jwks> current() const;
  // A token named a kid the set lacks: refetch soon unless an early refetch was started less
  // than min_refetch ago. Never blocks (an atomic and, at most once per min_refetch, a post).
  void request_refetch();

  JwksFetchStats stats() const;
  const JwksFetchOptions& options() const;

  struct State;  // the refresher's thread, io_context, TLS context and key set (jwks_fetch.cpp)
  explicit RemoteJwks(std::unique_ptr<State> state);

private:
  std::unique_ptr<State> m_state;
};

}  // namespace warden::gateway::auth
