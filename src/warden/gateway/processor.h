// The message path, independent of transport: one line in, the bytes to forward and the bytes to
// answer out. The stdio relay (and later the HTTP gateway) feed it lines; it decodes them with the
// strict codec, runs the session's filter chain, keeps the protocol bookkeeping (protocol version,
// requests in flight), writes one audit record per message, raises alerts, and forwards exactly
// what it checked: the original bytes when nothing changed, a re-serialization otherwise.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "warden/codec/codec.h"
#include "warden/core/verdict.h"
#include "warden/gateway/filter.h"
#include "warden/gateway/session.h"
#include "warden/util/clock.h"

namespace warden::audit {
class AuditLog;
struct Record;
}
namespace warden::alert {
class Alerter;
}

namespace warden::gateway {

struct Output {
  std::string to_server;  // bytes for the upstream server (newline-terminated messages)
  std::string to_client;  // bytes for the client
};

struct ProcessorStats {
  uint64_t forwarded = 0, blocked = 0, invalid = 0, dropped_non_json = 0;
  uint64_t findings[5] = {};  // audited findings by core::Severity (info .. critical)
};

class Processor {
public:
  Processor(Session& session, FilterChain& chain, audit::AuditLog* audit, alert::Alerter* alerter,
            const util::Clock& clock, codec::Limits limits);
  ~Processor();

  // One line from the client (c2s) or the server (s2c), without its newline.
  // `padded`: simdjson::SIMDJSON_PADDING readable bytes follow the line.
  void on_line(core::Direction from, std::string_view line, bool padded, Output& out);
  // The same for a line the caller has already decoded with a Decoder of the same limits (the
  // HTTP gateway reads a POST's request ids first and does not decode the body twice).
  // `failed_id` is that decoder's failed_id() when `decoded` is an error.
  void on_decoded(core::Direction from, std::string_view line, const Result<codec::Decoded>& decoded,
                  const codec::Id& failed_id, Output& out);
  // A line longer than the message limit, discarded while reading.
  void on_oversized(core::Direction from, size_t bytes, Output& out);
  // The server has gone: every request it did not answer gets an error saying so.
  void on_server_exit(const std::string& how, Output& out);
  // Requests the server has not answered for `timeout_us` (monotonic `now_us`): each gets an
  // error saying so, and the server a notifications/cancelled for it. Returns how many expired.
  size_t expire_requests(int64_t now_us, int64_t timeout_us, Output& out);
  // Lifecycle events (start, stop, configuration warnings) for the audit log.
  void lifecycle(std::string_view event, std::string_view detail_json = {},
                 std::vector<core::Finding> findings = {});

  const ProcessorStats& stats() const { return m_stats; }
  // Records go out with the log's next flush() (audit::AuditLog::append_deferred): for a caller
  // that flushes before it forwards any output (the HTTP gateway, once per event-loop turn).
  void set_defer_audit(bool defer) { m_defer_audit = defer; }

private:
  void on_message(core::Direction from, const codec::Message& m, bool in_batch,
                  std::string& forward_batch, std::string& reply_batch, bool& modified,
                  Output& out);
  void refuse_line(core::Direction from, std::string_view line, const Error& err,
                   const codec::Id& id, Output& out);
  // An error for a request the server will not answer, audited as its response.
  void answer_unanswered(const PendingRequest& req, int code, const std::string& msg, const char* detector,
                         core::Severity severity, std::optional<int64_t> latency_us, Output& out);
  uint64_t record(const audit::Record& r);
  void alert(const std::vector<core::Finding>& findings, const std::string& tool,
             const std::string& method, uint64_t seq);

  Session& m_session;
  FilterChain& m_chain;
  audit::AuditLog* m_audit;
  alert::Alerter* m_alerter;
  const util::Clock& m_clock;
  codec::Decoder m_decoder;
  ProcessorStats m_stats;
  bool m_defer_audit = false;
};

// A JSON excerpt of a message for the audit `detail`: small params/results as JSON, large ones as
// a string prefix cut at a UTF-8 boundary.
std::string detail_excerpt(const codec::Message& m, size_t cap = 4096);
// A printable, valid-UTF-8 excerpt of arbitrary bytes (invalid bytes become \xNN).
std::string safe_excerpt(std::string_view bytes, size_t cap = 512);

}  // namespace warden::gateway
