#include "warden/audit/show.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <simdjson.h>
#include <string_view>

#include <fmt/format.h>

#include "warden/audit/line_reader.h"
#include "warden/audit/record.h"
#include "warden/core/verdict.h"
#include "warden/util/clock.h"

namespace warden::audit {
namespace {

constexpr size_t k_columns = 9;
using Row = std::array<std::string, k_columns>;

std::string get_str(simdjson::dom::object& o, const char* k) {
  std::string_view v;
  if (o[k].get_string().get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

// Control bytes (ANSI escapes from a hostile peer) must not reach a terminal.
std::string printable(std::string s, size_t max = 48) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (s.size() > max) {
    size_t cut = max - 3;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
      --cut;
    s.resize(cut);
    s += "...";
  }
  return s.empty() ? "-" : s;
}

std::string findings_summary(simdjson::dom::object& o) {
  simdjson::dom::array arr;
  if (o["findings"].get_array().get(arr) != simdjson::SUCCESS) return "-";
  std::string out;
  size_t n = 0, shown = 0;
  for (auto f : arr) {
    ++n;
    if (shown == 3) continue;
    std::string_view sev, det;
    if (f["severity"].get_string().get(sev) != simdjson::SUCCESS) sev = "?";
    if (f["detector"].get_string().get(det) != simdjson::SUCCESS) det = "?";
    if (!out.empty()) out += ", ";
    out += fmt::format("{}:{}", sev, det);
    ++shown;
  }
  if (n > shown) out += fmt::format(" +{}", n - shown);
  return out.empty() ? "-" : printable(out, 120);
}

size_t display_width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

} // namespace

Result<std::vector<std::string>> show(const std::string& path, const ShowFilter& filter,
                                      ShowFormat format) {
  int64_t since_us = 0;
  const bool has_since = !filter.since.empty();
  if (has_since && !util::parse_rfc3339_us(filter.since, since_us))
    return Error{0, fmt::format("invalid --since '{}': use RFC 3339 (2026-01-31T12:00:00Z) or a "
                                "date (2026-01-31)",
                                filter.since)};
  if (!filter.decision.empty() && !core::parse_decision(filter.decision))
    return Error{0, fmt::format("invalid decision '{}': use allow, block, strip, redact, approve "
                                "or quarantine",
                                filter.decision)};
  if (!filter.kind.empty() && !parse_kind(filter.kind))
    return Error{0, fmt::format("invalid kind '{}': use request, response, notification, egress, "
                                "lifecycle or alert",
                                filter.kind)};
  detail::LineReader reader(path);
  if (!reader.is_open())
    return Error{0, fmt::format("cannot open {}: {}", path, std::strerror(errno))};

  simdjson::dom::parser parser;
  std::deque<std::string> raw; // json format
  std::deque<Row> rows;        // table format
  std::string line;
  while (reader.next(line)) {
    simdjson::dom::object o;
    if (parser.parse(line).get(o) != simdjson::SUCCESS) continue;
    if (!filter.server.empty() && get_str(o, "server") != filter.server) continue;
    if (!filter.tool.empty() && get_str(o, "tool") != filter.tool) continue;
    if (!filter.decision.empty() && get_str(o, "decision") != filter.decision) continue;
    if (!filter.kind.empty() && get_str(o, "kind") != filter.kind) continue;
    const std::string ts = get_str(o, "ts");
    if (has_since) {
      int64_t ts_us = 0;
      if (!util::parse_rfc3339_us(ts, ts_us) || ts_us < since_us) continue;
    }
    if (format == ShowFormat::json) {
      raw.push_back(line);
      if (filter.limit && raw.size() > filter.limit) raw.pop_front();
      continue;
    }
    uint64_t seq = 0;
    if (o["seq"].get_uint64().get(seq) != simdjson::SUCCESS) seq = 0;
    // Egress records: METHOD is the HTTP method (or DNS), TOOL the host and path.
    std::string method(get_str(o, "method")), target(get_str(o, "tool"));
    if (get_str(o, "kind") == "egress") {
      method = get_str(o, "http_method");
      target = get_str(o, "host") + get_str(o, "path");
    }
    rows.push_back(Row{std::to_string(seq), printable(ts), printable(get_str(o, "server"), 24),
                       printable(get_str(o, "kind")), printable(get_str(o, "direction")),
                       printable(method, 32), printable(target, 40),
                       printable(get_str(o, "decision")), findings_summary(o)});
    if (filter.limit && rows.size() > filter.limit) rows.pop_front();
  }
  std::vector<std::string> out;
  if (format == ShowFormat::json) {
    out.assign(std::make_move_iterator(raw.begin()), std::make_move_iterator(raw.end()));
    return out;
  }
  const Row header{"SEQ", "TS", "SERVER", "KIND", "DIR", "METHOD", "TOOL", "DECISION", "FINDINGS"};
  std::array<size_t, k_columns> width{};
  auto measure = [&](const Row& r) {
    for (size_t i = 0; i < k_columns; ++i)
      width[i] = std::max(width[i], display_width(r[i]));
  };
  measure(header);
  for (const auto& r : rows)
    measure(r);
  auto render = [&](const Row& r) {
    std::string s;
    for (size_t i = 0; i < k_columns; ++i) {
      s += r[i];
      if (i + 1 < k_columns) s.append(width[i] - display_width(r[i]) + 2, ' ');
    }
    return s;
  };
  out.push_back(render(header));
  for (const auto& r : rows)
    out.push_back(render(r));
  return out;
}

} // namespace warden::audit
