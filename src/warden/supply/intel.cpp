#include "warden/supply/intel.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <simdjson.h>

#include "warden/util/embedded.h"

namespace warden::supply {

namespace fs = std::filesystem;
using simdjson::dom::element;

bool Advisory::affects(const Version& v) const {
  for (const auto& listed : versions)
    if (auto lv = Version::parse(ecosystem, listed); lv && *lv == v) return true;
  // OSV range semantics: walk the events in version order; `introduced` opens an affected
  // interval, `fixed` / `limit` close it before the version, `last_affected` after it.
  for (const auto& range : ranges) {
    std::vector<RangeEvent> events = range.events;
    std::stable_sort(events.begin(), events.end(), [](const RangeEvent& a, const RangeEvent& b) {
      if (!a.version || !b.version) return !a.version && b.version.has_value();
      return *a.version < *b.version;
    });
    bool affected = false;
    for (const auto& e : events) {
      int c = e.version ? v.compare(*e.version) : 1;  // introduced "0": v is past it
      switch (e.kind) {
      case RangeEvent::Kind::introduced:
        if (c >= 0) affected = true;
        break;
      case RangeEvent::Kind::fixed:
      case RangeEvent::Kind::limit:
        if (c >= 0) affected = false;
        break;
      case RangeEvent::Kind::last_affected:
        if (c > 0) affected = false;
        break;
      }
    }
    if (affected) return true;
  }
  return false;
}

std::string IntelDb::key(Ecosystem eco, std::string_view name) {
  std::string k = ecosystem_name(eco);
  k += ':';
  if (eco == Ecosystem::npm) {
    k += name;
    return k;
  }
  bool sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      sep = true;
      continue;
    }
    if (sep && k.back() != ':') k += '-';
    sep = false;
    k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return k;
}

Status IntelDb::add_osv_json(std::string_view json, const std::string& source) {
  simdjson::dom::parser parser;
  element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root))
    return Error{2, fmt::format("{}: not valid JSON ({})", source, simdjson::error_message(err))};
  std::vector<element> records;
  simdjson::dom::array list;
  if (!root.get_array().get(list)) {
    for (element r : list) records.push_back(r);
  } else {
    records.push_back(root);
  }
  for (element rec : records) {
    std::string_view id;
    if (!rec.is_object() || rec["id"].get(id))
      return Error{2, fmt::format("{}: an OSV record needs a string \"id\"", source)};
    std::string_view summary;
    if (rec["summary"].get(summary)) summary = "";
    simdjson::dom::array affected;
    if (rec["affected"].get(affected)) continue;  // withdrawn or empty records affect nothing
    for (element a : affected) {
      std::string_view eco_name, pkg;
      if (a["package"]["ecosystem"].get(eco_name) || a["package"]["name"].get(pkg))
        return Error{2, fmt::format("{}: {}: affected[] needs package.ecosystem and package.name", source, id)};
      auto eco = parse_ecosystem(eco_name);
      if (!eco) continue;  // other ecosystems: not ours to judge
      Advisory adv;
      adv.id = std::string(id);
      adv.summary = std::string(summary);
      adv.source = source;
      adv.malicious = adv.id.rfind("MAL-", 0) == 0;
      adv.ecosystem = *eco;
      adv.package = std::string(pkg);
      simdjson::dom::array versions;
      if (!a["versions"].get(versions))
        for (element v : versions)
          if (v.is_string()) adv.versions.emplace_back(v.get_string().value_unsafe());
      simdjson::dom::array ranges;
      if (!a["ranges"].get(ranges)) {
        for (element r : ranges) {
          std::string_view type;
          if (r["type"].get(type)) type = "";
          if (type == "GIT") continue;
          AffectedRange range;
          simdjson::dom::array events;
          if (r["events"].get(events))
            return Error{2, fmt::format("{}: {}: a range needs events", source, id)};
          for (element e : events) {
            simdjson::dom::object obj;
            if (e.get_object().get(obj) || obj.size() != 1)
              return Error{2, fmt::format("{}: {}: each range event has exactly one key", source, id)};
            auto field = *obj.begin();
            std::string_view value;
            if (field.value.get(value))
              return Error{2, fmt::format("{}: {}: range event values are strings", source, id)};
            RangeEvent ev{};
            if (field.key == "introduced") ev.kind = RangeEvent::Kind::introduced;
            else if (field.key == "fixed") ev.kind = RangeEvent::Kind::fixed;
            else if (field.key == "last_affected") ev.kind = RangeEvent::Kind::last_affected;
            else if (field.key == "limit") ev.kind = RangeEvent::Kind::limit;
            else return Error{2, fmt::format("{}: {}: unknown range event '{}'", source, id, field.key)};
            if (!(ev.kind == RangeEvent::Kind::introduced && value == "0")) {
              ev.version = Version::parse(*eco, value);
              if (!ev.version)
                return Error{2, fmt::format("{}: {}: '{}' is not a valid {} version", source, id,
                                            value, ecosystem_name(*eco))};
            }
            range.events.push_back(std::move(ev));
          }
          adv.ranges.push_back(std::move(range));
        }
      }
      m_by_package[key(*eco, pkg)].push_back(std::move(adv));
      ++m_count;
    }
  }
  return Ok{};
}

Status IntelDb::add_bundled() {
  for (auto path : util::embedded_files("intel/")) {
    if (path.size() < 5 || path.substr(path.size() - 5) != ".json") continue;
    auto st = add_osv_json(util::embedded_file(path), "bundled:" + std::string(path));
    if (!st.ok()) return st;
  }
  return Ok{};
}

Status IntelDb::add_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Ok{};
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto st = add_osv_json(ss.str(), f.string());
    if (!st.ok()) return st;
  }
  return Ok{};
}

std::vector<const Advisory*> IntelDb::advisories_for(Ecosystem eco, const std::string& name) const {
  std::vector<const Advisory*> out;
  auto it = m_by_package.find(key(eco, name));
  if (it != m_by_package.end())
    for (const auto& a : it->second) out.push_back(&a);
  return out;
}

std::vector<const Advisory*> IntelDb::check(Ecosystem eco, const std::string& name,
                                            const Version& v) const {
  std::vector<const Advisory*> out;
  for (const auto* a : advisories_for(eco, name)) {
    bool seen = std::any_of(out.begin(), out.end(), [&](const Advisory* o) { return o->id == a->id; });
    if (!seen && a->affects(v)) out.push_back(a);  // the same record from two feeds counts once
  }
  return out;
}

std::string default_intel_dir() {
  if (const char* s = std::getenv("MCP_WARDEN_STATE_DIR"); s && *s) return std::string(s) + "/intel";
  if (const char* s = std::getenv("XDG_STATE_HOME"); s && *s) return std::string(s) + "/mcp-warden/intel";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/mcp-warden/intel";
}

bool split_package_spec(std::string_view spec, std::string& name, std::string& version) {
  if (auto eq = spec.find("=="); eq != std::string_view::npos) {
    name = std::string(spec.substr(0, eq));
    version = std::string(spec.substr(eq + 2));
  } else {
    auto at = spec.rfind('@');
    if (at == std::string_view::npos || at == 0) return false;  // "@scope/x" alone has no version
    name = std::string(spec.substr(0, at));
    version = std::string(spec.substr(at + 1));
  }
  return !name.empty() && !version.empty();
}

}  // namespace warden::supply
