#include "warden/audit/verify.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <simdjson.h>
#include <string_view>

#include <fmt/format.h>

#include "warden/audit/audit_log.h"
#include "warden/audit/line_reader.h"
#include "warden/audit/record.h"
#include "warden/core/verdict.h"
#include "warden/util/clock.h"
#include "warden/util/json_writer.h"
#include "warden/util/sha256.h"

namespace warden::audit {
namespace {

int key_index(std::string_view k) {
  const auto& keys = record_keys();
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == k) return static_cast<int>(i);
  return -1;
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string removed_range(uint64_t from, uint64_t to) {
  return from == to ? fmt::format("record {} removed", from)
                    : fmt::format("records {}..{} removed", from, to);
}

class Verifier {
public:
  explicit Verifier(VerifyReport& r) : m_r(r) {}

  // Checks one complete line; false (and the report filled in) at the first failure.
  bool check(const std::string& line, uint64_t line_no) {
    const uint64_t want = m_r.last_seq + 1;
    auto fail = [&](const std::string& why) {
      m_r.status = VerifyStatus::failed;
      m_r.first_bad_seq = want;
      m_r.error = fmt::format("seq {}: {}", want, why);
      return false;
    };
    if (line.empty())
      return fail(fmt::format("line {} is empty (record removed or corrupted)", line_no));
    simdjson::dom::object obj;
    if (m_parser.parse(line).get(obj) != simdjson::SUCCESS)
      return fail(
          fmt::format("line {} is not a valid JSON object (record edited or corrupted)", line_no));
    uint64_t seq = 0;
    if (obj["seq"].get_uint64().get(seq) != simdjson::SUCCESS)
      return fail(
          fmt::format("line {} has no valid \"seq\" (record edited or corrupted)", line_no));
    if (seq != want)
      return fail(fmt::format("expected seq {}, found {} ({})", want, seq,
                              seq > want ? "record removed or reordered"
                                         : "record duplicated or reordered"));
    // Only contract keys, each once, in contract order.
    std::array<bool, 20> have{};
    int last = -1;
    for (auto field : obj) {
      int idx = key_index(field.key);
      if (idx < 0)
        return fail(fmt::format("unexpected key \"{}\" (record edited)", std::string(field.key)));
      if (idx <= last)
        return fail(fmt::format("key \"{}\" duplicated or out of order (record edited)",
                                std::string(field.key)));
      last = idx;
      have[static_cast<size_t>(idx)] = true;
    }
    for (int required : {0, 1, 2, 3, 6, 7, 11, 12, 19})
      if (!have[static_cast<size_t>(required)])
        return fail(fmt::format("missing \"{}\" (record edited)",
                                record_keys()[static_cast<size_t>(required)]));
    std::string canonical;
    std::string_view hash;
    if (!split_sealed_line(line, canonical, hash))
      return fail("\"hash\" is not the last member or not 64 lowercase hex digits (record edited)");
    if (util::sha256_hex(canonical) != hash) return fail("hash mismatch (record edited)");
    std::string_view prev;
    if (obj["prev"].get_string().get(prev) != simdjson::SUCCESS || !is_hex64(prev))
      return fail("\"prev\" is not 64 lowercase hex digits (record edited)");
    if (prev != m_prev_hash) {
      if (want == 1)
        return fail("prev is not 64 zeros: the log does not start at its first record "
                    "(leading records removed)");
      return fail(fmt::format("prev does not match the hash of seq {} (that record was edited and "
                              "rehashed, or records were removed and renumbered)",
                              want - 1));
    }
    std::string_view ts;
    int64_t ts_us = 0;
    if (obj["ts"].get_string().get(ts) != simdjson::SUCCESS ||
        !util::parse_rfc3339_us(std::string(ts), ts_us))
      return fail("\"ts\" is not an RFC 3339 timestamp");
    std::string_view kind, decision;
    if (obj["kind"].get_string().get(kind) != simdjson::SUCCESS || !parse_kind(kind))
      return fail("\"kind\" is not one of request|response|notification|egress|lifecycle|alert");
    if (obj["decision"].get_string().get(decision) != simdjson::SUCCESS ||
        !core::parse_decision(decision))
      return fail("\"decision\" is not one of allow|block|strip|redact|approve|quarantine");
    simdjson::dom::array findings;
    if (obj["findings"].get_array().get(findings) != simdjson::SUCCESS)
      return fail("\"findings\" is not an array");
    if (kind == "lifecycle") {
      // What AuditLog::open recorded about the state it found the log in.
      for (auto f : findings) {
        std::string_view detector, message;
        if (f["detector"].get_string().get(detector) != simdjson::SUCCESS) continue;
        if (f["message"].get_string().get(message) != simdjson::SUCCESS) message = detector;
        if (detector == "audit.truncated" || detector == "audit.head_mismatch" ||
            detector == "audit.head_unreadable")
          return fail(fmt::format("tampering recorded when the log was reopened: {}",
                                  std::string(message)));
        if (detector == "audit.partial_record_dropped" || detector == "audit.head_missing")
          m_r.warnings.push_back(fmt::format("seq {}: {}", want, std::string(message)));
      }
    }
    m_prev_hash.assign(hash);
    m_r.last_seq = seq;
    m_r.last_hash.assign(hash);
    ++m_r.verified;
    return true;
  }

  const std::string& prev_hash() const { return m_prev_hash; }

private:
  VerifyReport& m_r;
  simdjson::dom::parser m_parser;
  std::string m_prev_hash{k_zero_hash};
};

} // namespace

VerifyReport verify_file(const std::string& path) {
  VerifyReport r;
  const std::string head_path = head_path_for(path);
  // The head first: a writer updates it after the log, so head <= log when read in this order.
  auto head = read_head_file(head_path);
  detail::LineReader reader(path);
  if (!reader.is_open()) {
    r.status = VerifyStatus::unreadable;
    r.error = fmt::format("cannot open {}: {}", path, std::strerror(errno));
    return r;
  }
  r.status = VerifyStatus::ok;
  Verifier v(r);
  std::string line;
  std::optional<std::string> hash_at_head;
  uint64_t line_no = 0;
  while (reader.next(line)) {
    ++line_no;
    if (!v.check(line, line_no)) return r;
    if (head.ok() && *head && (*head)->seq == r.last_seq) hash_at_head = r.last_hash;
  }
  if (reader.read_error()) {
    r.status = VerifyStatus::unreadable;
    r.error = fmt::format("read error in {} after seq {}", path, r.last_seq);
    return r;
  }
  const bool partial = !reader.partial().empty();
  if (!head.ok()) {
    r.status = VerifyStatus::failed;
    r.first_bad_seq = r.last_seq + 1;
    r.error = head.error().message + " (head file edited or corrupted)";
    return r;
  }
  if (!*head) {
    r.warnings.push_back(
        fmt::format("no {}: removal of trailing records cannot be detected", head_path));
  } else {
    const Head& h = **head;
    if (h.seq > r.last_seq) {
      r.status = VerifyStatus::failed;
      r.first_bad_seq = r.last_seq + 1;
      r.error = fmt::format("truncated: log ends at seq {} but {} says {} ({}{})", r.last_seq,
                            head_path, h.seq, removed_range(r.last_seq + 1, h.seq),
                            partial ? ", the last one cut mid-line" : "");
      return r;
    }
    if (h.seq > 0 && (!hash_at_head || *hash_at_head != h.hash)) {
      r.status = VerifyStatus::failed;
      r.first_bad_seq = h.seq;
      r.error = fmt::format("seq {}: hash differs from {} (records rewritten)", h.seq, head_path);
      return r;
    }
  }
  if (partial)
    r.warnings.push_back(fmt::format(
        "partial last line after seq {} ({} bytes, no newline): ignored; an interrupted write "
        "(e.g. kill -9) leaves this and the next open drops it",
        r.last_seq, reader.partial().size()));
  return r;
}

std::string VerifyReport::to_text() const {
  std::string out;
  switch (status) {
  case VerifyStatus::ok:
    out = fmt::format("OK: {} record{} verified", verified, verified == 1 ? "" : "s");
    if (verified > 0) out += fmt::format(" (last seq {})", last_seq);
    out += '\n';
    break;
  case VerifyStatus::failed:
    out = fmt::format("FAILED: {}\n{} record{} verified before it\n", error, verified,
                      verified == 1 ? "" : "s");
    break;
  case VerifyStatus::unreadable: out = fmt::format("ERROR: {}\n", error); break;
  }
  for (const auto& w : warnings)
    out += "warning: " + w + '\n';
  return out;
}

std::string VerifyReport::to_json() const {
  std::string out;
  util::JsonWriter w(out);
  const char* s = status == VerifyStatus::ok       ? "ok"
                  : status == VerifyStatus::failed ? "failed"
                                                   : "unreadable";
  w.begin_object().key("ok").boolean(ok()).key("status").string(s);
  w.key("verified").integer(static_cast<int64_t>(verified));
  w.key("last_seq").integer(static_cast<int64_t>(last_seq));
  w.key("first_bad_seq");
  if (first_bad_seq)
    w.integer(static_cast<int64_t>(first_bad_seq));
  else
    w.null();
  w.key("error");
  if (error.empty())
    w.null();
  else
    w.string(error);
  w.key("warnings").begin_array();
  for (const auto& x : warnings)
    w.string(x);
  w.end_array().end_object();
  return out;
}

} // namespace warden::audit
