#include "warden/audit/record.h"

#include <simdjson.h>
#include <utility>

#include "warden/audit/redact.h"
#include "warden/audit/text.h"
#include "warden/util/json_writer.h"
#include "warden/util/sha256.h"

namespace warden::audit {
namespace {

constexpr std::string_view k_hash_prefix = R"(,"hash":")";
constexpr size_t k_hash_suffix_len = k_hash_prefix.size() + 64 + 2; // ,"hash":"<64>"}

bool is_valid_json(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  return parser.parse(text.data(), text.size(), true).get(doc) == simdjson::SUCCESS;
}

// Redacted, valid-UTF-8 text for a string member.
std::string clean(std::string_view s) {
  if (s.empty()) return {};
  return to_valid_utf8(redact_secrets(s));
}

// Cuts `s` to at most `cap` bytes on a UTF-8 boundary and notes the full size.
std::string cap_text(std::string s, size_t cap) {
  if (s.size() <= cap) return s;
  const size_t full = s.size();
  s.resize(utf8_prefix_len(s, cap));
  const size_t shown = s.size();
  s += "\xE2\x80\xA6 [truncated: " + std::to_string(shown) + " of " + std::to_string(full) +
       " bytes]";
  return s;
}

// Appends serialized JSON `text` (redacted). Oversized text becomes a JSON string excerpt; text
// that is not valid JSON becomes a JSON string, so the line always stays valid JSON.
void put_json_text(std::string& out, std::string_view text, size_t cap) {
  std::string red = redact_secrets(text);
  if (red.size() > cap)
    util::append_json_string(out, to_valid_utf8(cap_text(std::move(red), cap)));
  else if (is_valid_json(red))
    out += red;
  else
    util::append_json_string(out, to_valid_utf8(red));
}

} // namespace

const char* kind_name(Kind k) {
  switch (k) {
  case Kind::request: return "request";
  case Kind::response: return "response";
  case Kind::notification: return "notification";
  case Kind::egress: return "egress";
  case Kind::lifecycle: return "lifecycle";
  case Kind::alert: return "alert";
  }
  return "lifecycle";
}

std::optional<Kind> parse_kind(std::string_view s) {
  for (auto k : {Kind::request, Kind::response, Kind::notification, Kind::egress, Kind::lifecycle,
                 Kind::alert})
    if (s == kind_name(k)) return k;
  return std::nullopt;
}

const std::array<std::string_view, 20>& record_keys() {
  static constexpr std::array<std::string_view, 20> k_keys = {
      "seq",       "ts",     "prev",        "server", "session",  "agent",    "kind",
      "direction", "method", "tool",        "id",     "decision", "findings", "latency_us",
      "host",      "port",   "http_method", "path",   "detail",   "hash"};
  return k_keys;
}

std::string render_record_body(const Record& r, const RenderOptions& opt) {
  std::string out;
  out.reserve(256 + r.detail.size());
  // The body continues an object that already has members, so every key needs its comma.
  auto key = [&](std::string_view k) {
    out += ',';
    util::append_json_string(out, k);
    out += ':';
  };
  auto opt_string = [&](std::string_view k, std::string_view v) {
    if (v.empty()) return;
    key(k);
    util::append_json_string(out, to_valid_utf8(v));
  };
  key("server");
  util::append_json_string(out, to_valid_utf8(r.server));
  opt_string("session", r.session);
  opt_string("agent", r.agent);
  key("kind");
  util::append_json_string(out, kind_name(r.kind));
  key("direction");
  util::append_json_string(out, core::direction_name(r.direction));
  opt_string("method", r.method);
  opt_string("tool", r.tool);
  if (!r.id.empty()) {
    key("id");
    put_json_text(out, r.id, 256);
  }
  key("decision");
  util::append_json_string(out, core::decision_name(r.decision));
  key("findings");
  out += '[';
  bool first = true;
  for (const auto& f : r.findings) {
    if (!first) out += ',';
    first = false;
    util::JsonWriter fw(out);
    fw.begin_object()
        .key("detector")
        .string(to_valid_utf8(f.detector))
        .key("severity")
        .string(core::severity_name(f.severity))
        .key("message")
        .string(clean(f.message))
        .key("evidence")
        .string(to_valid_utf8(cap_text(redact_secrets(f.evidence), k_evidence_cap)))
        .end_object();
  }
  out += ']';
  if (r.latency_us) {
    key("latency_us");
    out += std::to_string(*r.latency_us);
  }
  opt_string("host", r.host);
  if (r.port) {
    key("port");
    out += std::to_string(*r.port);
  }
  opt_string("http_method", r.http_method);
  if (!r.path.empty()) {
    key("path");
    util::append_json_string(out, clean(r.path));
  }
  if (!r.detail.empty()) {
    key("detail");
    put_json_text(out, r.detail, opt.detail_cap);
  }
  return out;
}

SealedLine seal_record(uint64_t seq, std::string_view ts, std::string_view prev,
                       std::string_view body) {
  SealedLine s;
  std::string& line = s.line;
  line.reserve(body.size() + 200);
  line += R"({"seq":)";
  line += std::to_string(seq);
  line += R"(,"ts":")";
  line += ts;
  line += R"(","prev":")";
  line += prev;
  line += '"';
  line += body;
  line += '}';
  s.hash = util::sha256_hex(line);
  line.pop_back();
  line += k_hash_prefix;
  line += s.hash;
  line += "\"}";
  return s;
}

bool split_sealed_line(std::string_view line, std::string& canonical, std::string_view& hash) {
  if (line.size() < k_hash_suffix_len + 2) return false;
  size_t at = line.size() - k_hash_suffix_len;
  if (line.substr(at, k_hash_prefix.size()) != k_hash_prefix) return false;
  if (line.substr(line.size() - 2) != "\"}") return false;
  hash = line.substr(at + k_hash_prefix.size(), 64);
  for (char c : hash)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  canonical.assign(line.substr(0, at));
  canonical += '}';
  return true;
}

std::string recompute_hash(std::string_view line) {
  std::string canonical;
  std::string_view hash;
  if (!split_sealed_line(line, canonical, hash)) return {};
  return util::sha256_hex(canonical);
}

} // namespace warden::audit
