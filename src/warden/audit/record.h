// The audit record (DESIGN.md section 5, CONTRACT) and its canonical serialization.
//
// One compact JSON object per line, keys in this fixed order:
//   seq, ts, prev, server, session, agent, kind, direction, method, tool, id, decision, findings,
//   latency_us, host, port, http_method, path, detail, hash
// seq, ts, prev, server, kind, direction, decision, findings and hash are always present; the
// others are omitted when empty. `hash` is the lowercase hex SHA-256 of the line's bytes without
// the `,"hash":"..."` member, i.e. the record closed by `}` right after its last other member.
// `prev` is the `hash` of the previous record (64 zeros for seq 1). See docs/audit.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "warden/core/verdict.h"

namespace warden::audit {

enum class Kind { request, response, notification, egress, lifecycle, alert };
const char* kind_name(Kind k);
std::optional<Kind> parse_kind(std::string_view s);

// What the caller logs. The log adds seq, ts, prev and hash.
struct Record {
  std::string server;  // policy server name; always written (may be "")
  std::string session; // omitted when empty
  std::string agent;   // omitted when empty
  Kind kind = Kind::request;
  core::Direction direction = core::Direction::c2s;
  std::string method; // JSON-RPC method (after unescaping)
  std::string tool;   // tool / prompt / resource the message targets
  std::string id;     // the JSON-RPC id as serialized JSON text (`7`, `"abc"`), or empty
  core::Decision decision = core::Decision::allow;
  std::vector<core::Finding> findings; // message and evidence are redacted; evidence is capped
  std::optional<int64_t> latency_us;
  // Egress (kind egress, direction out).
  std::string host;
  std::optional<uint16_t> port;
  std::string http_method;
  std::string path; // redacted (query strings carry keys)
  // Already-serialized JSON (tool arguments, a result excerpt, a message such as the text of a
  // dropped non-JSON line as a JSON string). Redacted, then capped: see RenderOptions.
  std::string detail;
};

inline constexpr std::string_view k_zero_hash =
    "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr size_t k_default_detail_cap = 4096;
inline constexpr size_t k_evidence_cap = 1024;

// The contract key order, `seq` first and `hash` last.
const std::array<std::string_view, 20>& record_keys();

struct RenderOptions {
  // `detail` longer than this (after redaction) is replaced by a JSON string holding its first
  // `detail_cap` bytes and a note of the full size: "<excerpt>… [truncated: 4096 of 9000 bytes]".
  size_t detail_cap = k_default_detail_cap;
};

// The members from `server` to `detail` as they appear in the line, starting with `,"server":`.
// Applies redaction, the caps, and UTF-8 repair; `id` or `detail` text that is not valid JSON is
// stored as a JSON string instead. Pure and thread-safe: the log calls it outside its lock.
std::string render_record_body(const Record& r, const RenderOptions& opt = {});

// The complete line for a record (no trailing newline) and its hash.
struct SealedLine {
  std::string line;
  std::string hash;
};
SealedLine seal_record(uint64_t seq, std::string_view ts, std::string_view prev,
                       std::string_view body);

// Splits a stored line into its canonical bytes (the record without the hash member) and the hash
// it claims. Returns false unless the line ends with `,"hash":"<64 lowercase hex>"}`.
bool split_sealed_line(std::string_view line, std::string& canonical, std::string_view& hash);

// SHA-256 of the canonical bytes of `line`, or "" if the line is not a sealed record.
std::string recompute_hash(std::string_view line);

} // namespace warden::audit
