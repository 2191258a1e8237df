#include "warden/detect/metadata_scanner.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/format.h>

#include "warden/detect/text_checks.h"
#include "warden/util/json_writer.h"

namespace warden::detect {

using core::Severity;
using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr int k_max_schema_depth = 32;
constexpr int k_max_decode_depth = 2;
constexpr size_t k_max_findings_per_item = 64;
constexpr size_t k_max_text_bytes = 1u << 20;  // longer strings are checked on their first MiB

// Hiding a text behind an encoding makes whatever it says one level more serious.
Severity raise(Severity s) { return s == Severity::critical ? s : static_cast<Severity>(static_cast<int>(s) + 1); }

bool is_identifier(std::string_view k) {
  if (k.empty() || std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  return std::all_of(k.begin(), k.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string member_path(const std::string& base, std::string_view key) {
  if (is_identifier(key)) return base.empty() ? std::string(key) : base + "." + std::string(key);
  std::string out = base + "[";
  util::append_json_string(out, key);
  return out + "]";
}

// By value: a dom::array/object is a small handle into the parser's tape. (value_unsafe() on the
// temporary simdjson_result would dangle inside a range-for.)
simdjson::dom::array as_array(element el) {
  simdjson::dom::array a;
  if (el.get(a) != simdjson::SUCCESS) return {};
  return a;
}
simdjson::dom::object as_object(element el) {
  simdjson::dom::object o;
  if (el.get(o) != simdjson::SUCCESS) return {};
  return o;
}
std::string_view as_string(element el) {
  std::string_view s;
  if (el.get(s) != simdjson::SUCCESS) return {};
  return s;
}

std::string index_path(const std::string& base, size_t i) { return fmt::format("{}[{}]", base, i); }

// Walks one document, item by item, handing every string to the scanner with its field kind.
class Walker {
public:
  Walker(const MetadataScanner& scanner, Report& report) : m_scanner(scanner), m_report(report) {}

  Status document(element doc) {
    if (doc.is_array()) return list(doc, "tools", "tool");
    if (!doc.is_object()) return Error{0, "expected a JSON object or array of tools"};
    simdjson::dom::object obj = as_object(doc);
    element v;
    if (obj["error"].get(v) == simdjson::SUCCESS && (obj["id"].error() == simdjson::SUCCESS || obj["jsonrpc"].error() == simdjson::SUCCESS)) {
      std::string_view msg;
      if (v.is_object() && v["message"].get(msg) == simdjson::SUCCESS)
        return Error{0, fmt::format("the input is a JSON-RPC error response ({}), not a list", msg)};
      return Error{0, "the input is a JSON-RPC error response, not a list"};
    }
    if (obj["result"].get(v) == simdjson::SUCCESS) return document(v);
    bool any = false;
    for (auto [key, value] : obj) {
      const char* kind = key == "tools" ? "tool"
                         : key == "prompts" ? "prompt"
                         : key == "resources" ? "resource"
                         : key == "resourceTemplates" ? "resource_template"
                                                      : nullptr;
      if (kind) {
        any = true;
        WARDEN_TRY(list(value, key, kind));
      } else if (key == "instructions") {
        any = true;
        std::string_view s;
        if (value.get(s) != simdjson::SUCCESS) return Error{0, "`instructions` is not a string"};
        begin_item("instructions", "instructions", "instructions");
        text(s, Field::instructions, "instructions");
      }
    }
    if (any) return Ok{};
    if (obj["name"].error() == simdjson::SUCCESS &&
        (obj["inputSchema"].error() == simdjson::SUCCESS || obj["description"].error() == simdjson::SUCCESS)) {
      begin_item("tool", "", "tool");
      item(obj, "tool", "tool");
      return Ok{};
    }
    return Error{0, "found no tools, prompts, resources, resourceTemplates or instructions in the input"};
  }

private:
  Status list(element arr, std::string_view key, std::string_view kind) {
    if (!arr.is_array()) return Error{0, fmt::format("`{}` is not an array", key)};
    size_t i = 0;
    for (element el : as_array(arr)) {
      std::string path = index_path(std::string(key), i++);
      if (!el.is_object()) return Error{0, fmt::format("{} is not an object", path)};
      begin_item(kind, "", path);
      item(as_object(el), kind, path);
    }
    return Ok{};
  }

  void begin_item(std::string_view kind, std::string_view name, const std::string& path) {
    m_report.items.push_back(ItemReport{std::string(kind), std::string(name), path, {}});
  }
  ItemReport& current() { return m_report.items.back(); }

  void text(std::string_view s, Field f, const std::string& path) {
    ++m_report.texts;
    if (s.size() > k_max_text_bytes) s = s.substr(0, k_max_text_bytes);
    auto& out = current().findings;
    if (out.size() >= k_max_findings_per_item) return;
    m_scanner.scan_text(s, f, path, out);
  }

  void item(simdjson::dom::object obj, std::string_view kind, const std::string& path) {
    bool prompt = kind == "prompt";
    for (auto [key, value] : obj) {
      std::string p = member_path(path, key);
      std::string_view s;
      if (key == "name" && value.get(s) == simdjson::SUCCESS) {
        current().name = std::string(s);
        text(s, Field::name, p);
      } else if (key == "title" && value.get(s) == simdjson::SUCCESS) {
        text(s, Field::title, p);
      } else if (key == "description" && value.get(s) == simdjson::SUCCESS) {
        text(s, Field::description, p);
      } else if ((key == "uri" || key == "uriTemplate") && value.get(s) == simdjson::SUCCESS) {
        text(s, Field::uri, p);
      } else if (key == "inputSchema" || key == "outputSchema") {
        schema(value, p, 0);
      } else if (prompt && key == "arguments" && value.is_array()) {
        size_t i = 0;
        for (element arg : as_array(value)) argument(arg, index_path(p, i++));
      } else if (key == "annotations" && value.is_object()) {
        for (auto [ak, av] : as_object(value))
          strings(av, ak == "title" ? Field::title : Field::value, member_path(p, ak), 0);
      } else if (key == "mimeType" || key == "icons") {
        continue;
      } else {
        strings(value, Field::value, p, 0);
      }
    }
  }

  void argument(element arg, const std::string& path) {
    if (!arg.is_object()) return strings(arg, Field::value, path, 0);
    for (auto [key, value] : as_object(arg)) {
      std::string p = member_path(path, key);
      Field f = key == "name" ? Field::param_name
                : (key == "description" || key == "title") ? Field::param_description
                                                            : Field::value;
      strings(value, f, p, 0);
    }
  }

  void schema(element el, const std::string& path, int depth) {
    if (depth > k_max_schema_depth) return;
    if (el.is_array()) {  // anyOf/oneOf/allOf/prefixItems
      size_t i = 0;
      for (element x : as_array(el)) schema(x, index_path(path, i++), depth + 1);
      return;
    }
    if (!el.is_object()) return strings(el, Field::value, path, depth);
    for (auto [key, value] : as_object(el)) {
      std::string p = member_path(path, key);
      if ((key == "properties" || key == "patternProperties") && value.is_object()) {
        for (auto [pname, pschema] : as_object(value)) {
          std::string pp = member_path(p, pname);
          text(pname, Field::param_name, pp);
          schema(pschema, pp, depth + 1);
        }
      } else if ((key == "$defs" || key == "definitions" || key == "dependentSchemas") && value.is_object()) {
        for (auto [dname, dschema] : as_object(value)) schema(dschema, member_path(p, dname), depth + 1);
      } else if (key == "description" || key == "title") {
        strings(value, Field::param_description, p, depth);
      } else if (key == "items" || key == "additionalProperties" || key == "not" || key == "if" || key == "then" ||
                 key == "else" || key == "contains" || key == "anyOf" || key == "oneOf" || key == "allOf" ||
                 key == "prefixItems" || key == "propertyNames") {
        schema(value, p, depth + 1);
      } else if (key == "type" || key == "format" || key == "$schema" || key == "$ref" || key == "$id" ||
                 key == "required") {
        continue;
      } else {
        strings(value, Field::value, p, depth);
      }
    }
  }

  // Every string under `el` (object keys included, as values), as field kind `f`.
  void strings(element el, Field f, const std::string& path, int depth) {
    if (depth > k_max_schema_depth) return;
    switch (el.type()) {
      case element_type::STRING:
        text(as_string(el), f, path);
        break;
      case element_type::ARRAY: {
        size_t i = 0;
        for (element x : as_array(el)) strings(x, f, index_path(path, i++), depth + 1);
        break;
      }
      case element_type::OBJECT:
        for (auto [k, v] : as_object(el)) {
          std::string p = member_path(path, k);
          text(k, Field::value, p);
          strings(v, f, p, depth + 1);
        }
        break;
      default:
        break;
    }
  }

  const MetadataScanner& m_scanner;
  Report& m_report;
};

// Look-alike, mixed-script and duplicate names across the document's tools and prompts.
void check_names(Report& report) {
  std::map<std::string, size_t> by_skeleton;
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < report.items.size(); ++i) {
    auto& it = report.items[i];
    if (it.kind != "tool" && it.kind != "prompt") continue;
    if (it.name.empty()) continue;
    std::string path = it.path + ".name";
    NameShape s = name_shape(it.name);
    auto add = [&](const char* rule, Severity sev, std::string reason) {
      it.findings.push_back({rule, sev, std::move(reason), path, 0, it.name.size(), it.name});
    };
    if (s.mixed_script) add("name.mixed_script", Severity::high, "the name mixes Latin with look-alike letters of another script");
    else if (s.non_ascii) add("name.non_ascii", Severity::medium, "the name has non-ASCII characters (MCP names are ASCII letters, digits, _ - .)");
    if (s.invalid_chars) add("name.invalid_chars", Severity::low, "the name has characters outside the MCP tool-name set");
    std::string key = it.kind + ":" + it.name;
    auto [dup, fresh] = by_name.emplace(key, i);
    if (!fresh) {
      add("name.duplicate", Severity::medium, fmt::format("another {} has the same name ({})", it.kind, report.items[dup->second].path));
      continue;
    }
    auto [other, first] = by_skeleton.emplace(s.skeleton, i);
    if (!first && report.items[other->second].name != it.name)
      add("name.confusable", Severity::high,
          fmt::format("looks like '{}' ({}): a look-alike name can capture its calls", printable(report.items[other->second].name),
                      report.items[other->second].path));
  }
}

}  // namespace

core::Finding Finding::to_core() const {
  return core::Finding{rule, severity, fmt::format("{} ({})", reason, path), printable(text)};
}

core::Severity ItemReport::max_severity() const {
  Severity s = Severity::info;
  for (const auto& f : findings) s = std::max(s, f.severity);
  return s;
}

size_t Report::finding_count() const {
  size_t n = 0;
  for (const auto& i : items) n += i.findings.size();
  return n;
}

MetadataScanner::MetadataScanner(std::shared_ptr<const RuleSet> rules) : m_rules(std::move(rules)) {}

Result<MetadataScanner> MetadataScanner::with_default_rules(const std::vector<std::string>& extra_rule_files) {
  auto rules = default_rules();
  if (!rules) return rules.error();
  for (const auto& f : extra_rule_files) {
    auto more = load_rules_file(f);
    if (!more) return more.error();
    for (auto& r : *more) rules->push_back(std::move(r));
  }
  auto compiled = RuleSet::compile(std::move(*rules));
  if (!compiled) return compiled.error();
  return MetadataScanner(std::move(*compiled));
}

Result<Report> MetadataScanner::scan(element doc) const {
  Report report;
  Walker w(*this, report);
  WARDEN_TRY(w.document(doc));
  check_names(report);
  for (auto& it : report.items)
    std::stable_sort(it.findings.begin(), it.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return report;
}

Result<Report> MetadataScanner::scan_json(std::string_view json) const {
  simdjson::dom::parser parser;
  element doc;
  if (auto err = parser.parse(json.data(), json.size()).get(doc); err != simdjson::SUCCESS)
    return Error{0, fmt::format("invalid JSON: {}", simdjson::error_message(err))};
  return scan(doc);
}

void MetadataScanner::scan_text(std::string_view text, Field field, const std::string& path,
                                std::vector<Finding>& out) const {
  CharScan cs = scan_characters(text);
  for (const auto& is : cs.issues) {
    std::string reason = is.count > 1 ? fmt::format("{} x{}", is.what, is.count) : is.what;
    if (cs.tag_text.size() > 0 && std::string_view(is.rule) == "unicode.tag_chars")
      out.push_back({is.rule, is.severity, reason + " spelling the text shown", path, cs.tag_begin, cs.tag_end, cs.tag_text});
    else
      out.push_back({is.rule, is.severity, reason, path, is.begin, is.end, std::string(text.substr(is.begin, is.end - is.begin))});
  }
  std::string_view view = cs.stripped.empty() ? text : std::string_view(cs.stripped);
  auto to_original = [&](size_t off) -> size_t { return cs.stripped.empty() ? off : cs.offsets[off]; };

  thread_local std::vector<RuleHit> hits;
  hits.clear();
  m_rules->match(view, field, false, hits);
  for (const auto& h : hits) {
    const Rule& r = m_rules->rules()[h.rule];
    size_t b = to_original(h.begin), e = to_original(h.end);
    out.push_back({r.id, r.severity, r.reason, path, b, e, std::string(text.substr(b, e - b))});
  }
  if (!cs.tag_text.empty())
    scan_decoded(cs.tag_text, field, path, "Unicode tag characters", cs.tag_begin, cs.tag_end, 1, out);
  for (auto& p : find_payloads(view)) {
    size_t b = to_original(p.begin), e = to_original(p.end);
    scan_decoded(p.decoded, field, path, p.kind, b, e, 1, out);
  }
}

void MetadataScanner::scan_decoded(std::string_view decoded, Field field, const std::string& path,
                                   std::string_view kind, size_t begin, size_t end, int depth,
                                   std::vector<Finding>& out) const {
  std::vector<RuleHit> hits;
  m_rules->match(decoded, field, true, hits);
  bool tag = kind == "Unicode tag characters";
  if (tag) {
    for (const auto& h : hits) {
      const Rule& r = m_rules->rules()[h.rule];
      out.push_back({r.id, raise(r.severity), fmt::format("{} (hidden in Unicode tag characters)", r.reason), path,
                     begin, end, std::string(decoded)});
    }
    return;
  }
  if (!hits.empty()) {
    // One finding per payload: the strongest inner rule explains it, the others are listed.
    const Rule* top = nullptr;
    std::string ids;
    for (const auto& h : hits) {
      const Rule& r = m_rules->rules()[h.rule];
      if (!top || r.severity > top->severity) top = &r;
      ids += (ids.empty() ? "" : ", ") + r.id;
    }
    out.push_back({fmt::format("encoded.{}", kind), raise(top->severity),
                   fmt::format("{} payload decodes to text matching {}: {}", kind, ids, top->reason), path, begin,
                   end, std::string(decoded)});
  }
  if (hits.empty())
    out.push_back({fmt::format("encoded.{}", kind), Severity::low, fmt::format("{} payload decodes to readable text", kind),
                   path, begin, end, std::string(decoded)});
  if (depth < k_max_decode_depth)
    for (auto& p : find_payloads(decoded)) scan_decoded(p.decoded, field, path, p.kind, begin, end, depth + 1, out);
}

std::string printable(std::string_view text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    size_t len = 1;
    uint32_t cp = decode_utf8(text, i, len);
    bool hidden = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) ||
                  (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xFEFF ||
                  (cp >= 0xE0000 && cp <= 0xE01EF) || cp == 0xFFFD;
    if (cp == '\n') out += "\\n";
    else if (cp == '\t') out += "\\t";
    else if (hidden) out += fmt::format("\\u{{{:04X}}}", cp);
    else out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace warden::detect
