#include "warden/supply/lockfiles.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <simdjson.h>

#include "warden/supply/toml.h"

namespace warden::supply {

namespace {

// Maps byte offsets to 1-based lines.
class LineIndex {
public:
  explicit LineIndex(std::string_view text) {
    m_starts.push_back(0);
    for (size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') m_starts.push_back(i + 1);
  }
  int line_of(size_t offset) const {
    return static_cast<int>(std::upper_bound(m_starts.begin(), m_starts.end(), offset) - m_starts.begin());
  }

private:
  std::vector<size_t> m_starts;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    s = s.substr(1, s.size() - 2);
  return s;
}

// Lines of a text with their numbers, without copying.
template <class F> void for_each_line(std::string_view text, F&& f) {
  int n = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!f(line, ++n)) return;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
}

size_t indent_of(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i;
}

// Finds `"key"` followed by ':' and '{' at or after `from` (an object member), so the lines of
// lockfile entries come out without a parser that keeps offsets. npos when absent.
size_t find_object_key(std::string_view text, std::string_view key, size_t from) {
  std::string needle = fmt::format("\"{}\"", key);
  for (size_t at = text.find(needle, from); at != std::string_view::npos; at = text.find(needle, at + 1)) {
    size_t i = at + needle.size();
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size() || text[i] != ':') continue;
    ++i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i < text.size() && text[i] == '{') return at;
  }
  return std::string_view::npos;
}

class JsonLines {
public:
  explicit JsonLines(std::string_view text) : m_text(text), m_index(text) {}
  // The line of the next object member named `key`, searching on from the last one found.
  int next(std::string_view key) {
    size_t at = find_object_key(m_text, key, m_from);
    if (at == std::string_view::npos) return 0;
    m_from = at + 1;
    return m_index.line_of(at);
  }

private:
  std::string_view m_text;
  LineIndex m_index;
  size_t m_from = 0;
};

void npm_v1_dependencies(simdjson::dom::object deps, JsonLines& lines, PackageParse& out, int depth) {
  if (depth > 64) return;
  for (auto f : deps) {
    simdjson::dom::object entry;
    if (f.value.get_object().get(entry)) continue;
    int line = lines.next(f.key);
    std::string_view version;
    if (!entry["version"].get(version))
      out.packages.push_back({Ecosystem::npm, std::string(f.key), std::string(version), line});
    simdjson::dom::object nested;
    if (!entry["dependencies"].get_object().get(nested)) npm_v1_dependencies(nested, lines, out, depth + 1);
  }
}

PackageParse parse_package_lock(std::string_view text) {
  PackageParse out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(text.data(), text.size()).get(root)) {
    out.problems.push_back(fmt::format("not valid JSON ({})", simdjson::error_message(err)));
    return out;
  }
  JsonLines lines(text);
  simdjson::dom::object packages;
  if (!root["packages"].get_object().get(packages)) {  // lockfileVersion 2 and 3
    for (auto f : packages) {
      std::string_view key = f.key;
      auto at = key.rfind("node_modules/");
      if (at == std::string_view::npos) continue;
      int line = lines.next(key);
      bool link = false;
      if (!f.value["link"].get(link) && link) continue;
      std::string_view version;
      if (f.value["version"].get(version)) continue;
      out.packages.push_back({Ecosystem::npm, std::string(key.substr(at + 13)), std::string(version), line});
    }
    return out;
  }
  simdjson::dom::object deps;
  if (!root["dependencies"].get_object().get(deps)) npm_v1_dependencies(deps, lines, out, 0);
  return out;
}

PackageParse parse_node_package(std::string_view text) {
  PackageParse out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view name, version;
  if (auto err = parser.parse(text.data(), text.size()).get(root)) {
    out.problems.push_back(fmt::format("not valid JSON ({})", simdjson::error_message(err)));
    return out;
  }
  if (root["name"].get(name) || root["version"].get(version)) return out;  // private or partial
  size_t at = text.find("\"version\"");
  out.packages.push_back({Ecosystem::npm, std::string(name), std::string(version),
                          at == std::string_view::npos ? 0 : LineIndex(text).line_of(at)});
  return out;
}

// "name@range" (yarn v1), "name@npm:range" (berry), "@scope/name@..." -> name.
std::string_view spec_name(std::string_view spec) {
  size_t at = spec.find('@', 1);
  return at == std::string_view::npos ? spec : spec.substr(0, at);
}

PackageParse parse_yarn_lock(std::string_view text) {
  PackageParse out;
  LockedPackage current;
  bool in_entry = false, local = false;
  auto flush = [&] {
    if (in_entry && !local && !current.name.empty()) out.packages.push_back(current);
    in_entry = false;
    local = false;
  };
  for_each_line(text, [&](std::string_view line, int n) {
    if (trim(line).empty() || line[0] == '#') return true;
    if (line[0] != ' ') {
      flush();
      std::string_view header = trim(line);
      if (header.back() != ':') {
        out.problems.push_back(fmt::format("line {}: expected an entry header ending with ':'", n));
        return false;
      }
      header.remove_suffix(1);
      std::string_view first = header.substr(0, header.find(','));
      first = trim(first);
      if (!first.empty() && first.front() == '"') first.remove_prefix(1);
      if (!first.empty() && first.back() == '"') first.remove_suffix(1);
      if (first == "__metadata") return true;
      current = {Ecosystem::npm, std::string(spec_name(first)), "", n};
      in_entry = true;
      return true;
    }
    if (!in_entry || indent_of(line) != 2) return true;
    std::string_view body = line.substr(2);
    if (body.rfind("version", 0) == 0 && body.size() > 8 && (body[7] == ' ' || body[7] == ':')) {
      current.version = std::string(unquote(body.substr(8)));
    } else if (body.rfind("resolution:", 0) == 0) {
      std::string_view r = unquote(body.substr(11));
      for (const char* proto : {"@workspace:", "@link:", "@portal:", "@file:"})
        if (r.find(proto) != std::string_view::npos) local = true;
    }
    return true;
  });
  if (out.problems.empty()) flush();
  else out.packages.clear();
  return out;
}

PackageParse parse_pnpm_lock(std::string_view text) {
  PackageParse out;
  bool in_packages = false, saw_version = false;
  int major = 9;
  for_each_line(text, [&](std::string_view line, int n) {
    if (trim(line).empty() || trim(line)[0] == '#') return true;
    if (line[0] != ' ') {
      in_packages = line.rfind("packages:", 0) == 0;
      if (line.rfind("lockfileVersion:", 0) == 0) {
        saw_version = true;
        std::string_view v = unquote(line.substr(16));
        major = v.empty() || !std::isdigit(static_cast<unsigned char>(v[0])) ? 9 : v[0] - '0';
      }
      return true;
    }
    if (!in_packages || indent_of(line) != 2) return true;
    std::string_view key = trim(line);
    if (key.back() != ':') {
      out.problems.push_back(fmt::format("line {}: expected a package key ending with ':'", n));
      return false;
    }
    key = unquote(key.substr(0, key.size() - 1));
    if (!key.empty() && key[0] == '/') key.remove_prefix(1);
    key = key.substr(0, key.find('('));  // peer suffix (v6+)
    std::string_view name, version;
    if (major < 6) {  // /name/1.2.3_peer@1 or /@scope/name/1.2.3
      size_t slash = key.find('/', key.empty() || key[0] != '@' ? 0 : key.find('/') + 1);
      if (slash == std::string_view::npos) return true;
      name = key.substr(0, slash);
      version = key.substr(slash + 1);
      version = version.substr(0, version.find('_'));
    } else {
      size_t at = key.rfind('@');
      if (at == 0 || at == std::string_view::npos) return true;
      name = key.substr(0, at);
      version = key.substr(at + 1);
    }
    if (version.find(':') != std::string_view::npos) version = {};  // file:, link:, https: (not a registry version)
    out.packages.push_back({Ecosystem::npm, std::string(name), std::string(version), n});
    return true;
  });
  if (!saw_version && out.problems.empty()) out.problems.push_back("not a pnpm lockfile (no lockfileVersion)");
  if (!out.problems.empty()) out.packages.clear();
  return out;
}

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; }

PackageParse parse_requirements(std::string_view text) {
  PackageParse out;
  std::string logical;
  int start = 0;
  for_each_line(text, [&](std::string_view line, int n) {
    if (logical.empty()) start = n;
    if (!line.empty() && line.back() == '\\') {  // continuation
      logical.append(line.substr(0, line.size() - 1));
      return true;
    }
    logical.append(line);
    std::string_view l = trim(logical);
    if (size_t hash = l.find(" #"); hash != std::string_view::npos) l = trim(l.substr(0, hash));
    if (!l.empty() && l[0] != '#' && l[0] != '-') {  // options (-r, -e, --hash, -c) are not packages
      std::string name, version;
      if (parse_requirement(l, name, version)) out.packages.push_back({Ecosystem::pypi, name, version, start});
      else if (l.find("://") == std::string_view::npos && l.find('/') == std::string_view::npos)
        out.problems.push_back(fmt::format("line {}: not a requirement: {}", start, l.substr(0, 80)));
    }
    logical.clear();
    return true;
  });
  return out;
}

// Poetry constraints: "1.2.3" and "==1.2.3" pin a version; ^, ~, >=, * and ranges do not.
std::string poetry_exact(std::string_view c) {
  c = trim(c);
  if (c.rfind("==", 0) == 0) c = trim(c.substr(2));
  if (c.empty() || !std::isdigit(static_cast<unsigned char>(c[0]))) return {};
  for (char ch : c)
    if (ch == '*' || ch == ',' || ch == ' ' || ch == '<' || ch == '>') return {};
  return std::string(c);
}

void pep508_array(const TomlValue* arr, PackageParse& out) {
  if (!arr || arr->type != TomlValue::Type::array) return;
  for (const auto* s : arr->strings()) {
    std::string name, version;
    if (parse_requirement(s->string, name, version)) out.packages.push_back({Ecosystem::pypi, name, version, s->line});
    else out.problems.push_back(fmt::format("line {}: not a PEP 508 requirement: {}", s->line, s->string.substr(0, 80)));
  }
}

void poetry_table(const TomlValue* t, PackageParse& out) {
  if (!t || t->type != TomlValue::Type::table) return;
  for (const auto& [name, v] : t->members) {
    if (name == "python") continue;
    std::string version;
    if (v->type == TomlValue::Type::string) version = poetry_exact(v->string);
    else if (v->type == TomlValue::Type::table)
      if (const auto* ver = v->get("version"); ver && ver->type == TomlValue::Type::string) version = poetry_exact(ver->string);
    out.packages.push_back({Ecosystem::pypi, name, version, v->line});
  }
}

// Parses TOML text and hands the root to `read`; a parse error is the file's one problem.
template <class F> PackageParse from_toml(std::string_view text, F&& read) {
  PackageParse out;
  auto doc = parse_toml(text);
  if (!doc) out.problems.push_back("not valid TOML: " + doc.error().message);
  else read(**doc, out);
  return out;
}

void read_pyproject(const TomlValue& root, PackageParse& out) {
  if (const auto* project = root.get("project")) {
    pep508_array(project->get("dependencies"), out);
    if (const auto* opt = project->get("optional-dependencies"); opt && opt->type == TomlValue::Type::table)
      for (const auto& [extra, arr] : opt->members) pep508_array(arr.get(), out);
  }
  if (const auto* groups = root.get("dependency-groups"); groups && groups->type == TomlValue::Type::table)
    for (const auto& [group, arr] : groups->members) pep508_array(arr.get(), out);
  if (const auto* tool = root.get("tool"))
    if (const auto* poetry = tool->get("poetry")) {
      poetry_table(poetry->get("dependencies"), out);
      poetry_table(poetry->get("dev-dependencies"), out);
      if (const auto* groups = poetry->get("group"); groups && groups->type == TomlValue::Type::table)
        for (const auto& [group, g] : groups->members)
          if (g->type == TomlValue::Type::table) poetry_table(g->get("dependencies"), out);
    }
}

void read_uv_lock(const TomlValue& root, PackageParse& out) {
  const auto* packages = root.get("package");
  if (!packages || packages->type != TomlValue::Type::array) return;
  for (const auto& p : packages->items) {
    const auto* name = p->get("name");
    const auto* version = p->get("version");
    if (!name || name->type != TomlValue::Type::string) continue;
    if (const auto* source = p->get("source"); source && source->type == TomlValue::Type::table &&
                                                (source->get("editable") || source->get("virtual") ||
                                                 source->get("directory") || source->get("path")))
      continue;  // the project itself and local packages
    out.packages.push_back({Ecosystem::pypi, name->string,
                            version && version->type == TomlValue::Type::string ? version->string : "", p->line});
  }
}

PackageParse parse_dist_info(std::string_view text) {
  PackageParse out;
  LockedPackage ref{Ecosystem::pypi, "", "", 0};
  for_each_line(text, [&](std::string_view line, int n) {
    if (line.empty()) return false;  // the headers end at the first blank line
    if (line.rfind("Name:", 0) == 0) {
      ref.name = std::string(trim(line.substr(5)));
      ref.line = n;
    } else if (line.rfind("Version:", 0) == 0) {
      ref.version = std::string(trim(line.substr(8)));
    }
    return true;
  });
  if (ref.name.empty()) out.problems.push_back("no Name: header (not a package's METADATA)");
  else out.packages.push_back(std::move(ref));
  return out;
}

}  // namespace

bool parse_requirement(std::string_view text, std::string& name, std::string& exact_version) {
  std::string_view s = trim(text);
  s = s.substr(0, s.find(';'));  // environment markers
  size_t i = 0;
  while (i < s.size() && name_char(s[i])) ++i;
  if (i == 0 || !std::isalnum(static_cast<unsigned char>(s[0])) || !std::isalnum(static_cast<unsigned char>(s[i - 1])))
    return false;
  name = std::string(s.substr(0, i));
  exact_version.clear();
  std::string_view rest = trim(s.substr(i));
  if (!rest.empty() && rest[0] == '[') {  // extras
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return false;
    rest = trim(rest.substr(close + 1));
  }
  if (rest.empty()) return true;
  if (rest[0] == '@') return true;  // a direct reference (URL): no registry version
  if (rest.front() == '(' && rest.back() == ')') rest = trim(rest.substr(1, rest.size() - 2));
  if (rest.find_first_of("=<>!~") != 0) return false;
  if (rest.find(',') == std::string_view::npos && rest.rfind("==", 0) == 0) {
    std::string_view v = trim(rest.substr(rest.rfind("===", 0) == 0 ? 3 : 2));
    if (v.find('*') == std::string_view::npos && !v.empty()) exact_version = std::string(v);
  }
  return true;
}

PackageFile package_file_kind(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view file = slash == std::string_view::npos ? path : path.substr(slash + 1);
  std::string_view dir = slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
  size_t dslash = dir.rfind('/');
  std::string_view parent = dslash == std::string_view::npos ? dir : dir.substr(dslash + 1);
  std::string_view above = dslash == std::string_view::npos ? std::string_view{} : dir.substr(0, dslash);
  size_t aslash = above.rfind('/');
  std::string_view grand = aslash == std::string_view::npos ? above : above.substr(aslash + 1);
  auto ends_with = [](std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  bool in_nm = path.find("node_modules/") != std::string_view::npos;
  if (file == "package.json") {
    if (grand == "node_modules") return PackageFile::node_package;
    if (!grand.empty() && grand[0] == '@') {
      std::string_view above2 = aslash == std::string_view::npos ? std::string_view{} : above.substr(0, aslash);
      if (ends_with(above2, "node_modules")) return PackageFile::node_package;
    }
    return PackageFile::none;
  }
  if (file == "METADATA" && ends_with(parent, ".dist-info")) return PackageFile::dist_info;
  if (file == "PKG-INFO" && ends_with(parent, ".egg-info")) return PackageFile::dist_info;
  if (in_nm) return PackageFile::none;  // packages ship their own lockfiles; node_modules is read itself
  if (file == "package-lock.json" || file == "npm-shrinkwrap.json") return PackageFile::package_lock;
  if (file == "yarn.lock") return PackageFile::yarn_lock;
  if (file == "pnpm-lock.yaml") return PackageFile::pnpm_lock;
  if (file == "uv.lock") return PackageFile::uv_lock;
  if (file == "pyproject.toml") return PackageFile::pyproject;
  if (ends_with(file, ".txt") && (file.rfind("requirements", 0) == 0 || ends_with(file, "-requirements.txt") ||
                                  ends_with(file, "_requirements.txt")))
    return PackageFile::requirements;
  return PackageFile::none;
}

PackageParse parse_package_file(PackageFile kind, std::string_view text) {
  switch (kind) {
    case PackageFile::package_lock: return parse_package_lock(text);
    case PackageFile::node_package: return parse_node_package(text);
    case PackageFile::yarn_lock: return parse_yarn_lock(text);
    case PackageFile::pnpm_lock: return parse_pnpm_lock(text);
    case PackageFile::requirements: return parse_requirements(text);
    case PackageFile::pyproject: return from_toml(text, read_pyproject);
    case PackageFile::uv_lock: return from_toml(text, read_uv_lock);
    case PackageFile::dist_info: return parse_dist_info(text);
    case PackageFile::none: break;
  }
  return {};
}

}  // namespace warden::supply
