#include "warden/detect/shadowing.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "warden/detect/text_checks.h"

namespace warden::detect {

using core::Severity;

namespace {

bool distinctive(std::string_view name) {
  if (name.size() < 5) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '_' || c == '-' || c == '.') return true;
    if (i > 0 && std::isupper(static_cast<unsigned char>(c)) &&
        std::islower(static_cast<unsigned char>(name[i - 1])))
      return true;
  }
  return false;
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

// `name` occurs in `text` as a whole word (ASCII case-insensitive).
bool mentions(std::string_view text, std::string_view name) {
  if (name.empty() || text.size() < name.size()) return false;
  for (size_t i = 0; i + name.size() <= text.size(); ++i) {
    bool same = true;
    for (size_t k = 0; k < name.size() && same; ++k)
      same = std::tolower(static_cast<unsigned char>(text[i + k])) ==
             std::tolower(static_cast<unsigned char>(name[k]));
    if (!same) continue;
    bool left = i == 0 || !word_char(text[i - 1]);
    bool right = i + name.size() == text.size() || !word_char(text[i + name.size()]);
    if (left && right) return true;
  }
  return false;
}

}  // namespace

std::vector<ToolRef> tool_refs(simdjson::dom::element doc) {
  simdjson::dom::element el = doc;
  if (doc.is_object()) {
    simdjson::dom::element inner;
    if (doc["result"].get(inner) == simdjson::SUCCESS) el = inner;
    if (el.is_object() && el["tools"].get(inner) == simdjson::SUCCESS) el = inner;
  }
  std::vector<ToolRef> out;
  simdjson::dom::array arr;
  if (el.get(arr) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element t : arr) {
    std::string_view name, description;
    if (!t.is_object() || t["name"].get(name) != simdjson::SUCCESS) continue;
    if (t["description"].get(description) != simdjson::SUCCESS) description = {};
    out.push_back({std::string(name), std::string(description)});
  }
  return out;
}

std::vector<CrossServerFinding> cross_server_findings(const std::vector<ServerTools>& servers) {
  std::vector<CrossServerFinding> out;
  // Skeletons once per tool.
  std::vector<std::vector<std::string>> skeletons(servers.size());
  for (size_t s = 0; s < servers.size(); ++s)
    for (const auto& t : servers[s].tools) skeletons[s].push_back(name_shape(t.name).skeleton);

  auto add = [&](size_t s, size_t i, const char* rule, Severity sev, std::string reason,
                 const char* field, const std::string& text) {
    const ToolRef& t = servers[s].tools[i];
    out.push_back({servers[s].server, t.name,
                   Finding{rule, sev, std::move(reason), fmt::format("tools[{}].{}", i, field), 0,
                           text.size(), text}});
  };
  for (size_t a = 0; a < servers.size(); ++a) {
    for (size_t i = 0; i < servers[a].tools.size(); ++i) {
      const ToolRef& t = servers[a].tools[i];
      for (size_t b = 0; b < servers.size(); ++b) {
        if (b == a) continue;
        const std::string& other_server = servers[b].server;
        for (size_t j = 0; j < servers[b].tools.size(); ++j) {
          const ToolRef& o = servers[b].tools[j];
          if (o.name == t.name) {
            add(a, i, "shadow.duplicate_name", Severity::medium,
                fmt::format("server '{}' has a tool with the same name: without namespacing, "
                            "calls may reach the wrong server", other_server),
                "name", t.name);
          } else if (!skeletons[a][i].empty() && skeletons[a][i] == skeletons[b][j]) {
            add(a, i, "shadow.confusable_name", Severity::high,
                fmt::format("looks like '{}' of server '{}': a look-alike name can capture its "
                            "calls", printable(o.name), other_server),
                "name", t.name);
          }
          // A description naming a tool its own server also has (filesystem's read_file pointing
          // to its read_text_file) is about that tool, not the other server's.
          bool own = std::any_of(servers[a].tools.begin(), servers[a].tools.end(),
                                 [&](const ToolRef& mine) { return mine.name == o.name; });
          if (distinctive(o.name) && o.name != t.name && !own && mentions(t.description, o.name))
            add(a, i, "shadow.cross_reference", Severity::high,
                fmt::format("the description refers to '{}' of server '{}': a tool that talks "
                            "about another server's tools can redirect them", o.name, other_server),
                "description", o.name);
        }
      }
    }
  }
  return out;
}

}  // namespace warden::detect
