#include "warden/util/strings.h"
#include "warden/supply/diff.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <re2/re2.h>
#include <simdjson.h>

namespace warden::supply {

namespace fs = std::filesystem;
using core::Severity;

namespace {

constexpr size_t k_max_file = 4u << 20;

bool is_text(std::string_view s) { return s.find('\0') == std::string_view::npos; }

bool skip_path(const std::string& rel) {
  return rel.rfind("node_modules/", 0) == 0 || rel.find("/node_modules/") != std::string::npos ||
         rel.rfind(".git/", 0) == 0;
}

Result<PackageTree> load_dir(const fs::path& root) {
  PackageTree tree;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) return Error{2, fmt::format("cannot read {}: {}", root.string(), ec.message())};
    if (!it->is_regular_file()) continue;
    std::string rel = fs::relative(it->path(), root).generic_string();
    if (skip_path(rel) || it->file_size() > k_max_file) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string content = ss.str();
    if (is_text(content)) tree[rel] = std::move(content);
  }
  return tree;
}

Result<PackageTree> load_tar(const std::string& path) {
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    std::string why = archive_error_string(a) ? archive_error_string(a) : "unknown error";
    archive_read_free(a);
    return Error{2, fmt::format("cannot open {}: {}", path, why)};
  }
  PackageTree tree;
  struct archive_entry* entry;
  int rc;
  while ((rc = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    std::string name = archive_entry_pathname(entry);
    auto slash = name.find('/');  // npm tarballs put everything under one top folder
    std::string rel = slash == std::string::npos ? name : name.substr(slash + 1);
    int64_t size = archive_entry_size(entry);
    if (rel.empty() || skip_path(rel) || size < 0 || static_cast<size_t>(size) > k_max_file) continue;
    std::string content(static_cast<size_t>(size), '\0');
    la_ssize_t got = archive_read_data(a, content.data(), content.size());
    if (got < 0) break;
    content.resize(static_cast<size_t>(got));
    if (is_text(content)) tree[rel] = std::move(content);
  }
  std::string why = rc == ARCHIVE_EOF ? "" : (archive_error_string(a) ? archive_error_string(a) : "read error");
  archive_read_free(a);
  if (!why.empty()) return Error{2, fmt::format("cannot read {}: {}", path, why)};
  return tree;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_js(std::string_view path) {
  for (auto ext : {".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx"})
    if (ends_with(path, ext) && !ends_with(path, ".d.ts")) return true;
  return false;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    out.emplace_back(s.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string cap(std::string s, size_t n = 200) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

double entropy(std::string_view s) {
  int counts[256] = {};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  for (int c : counts)
    if (c) {
      double p = static_cast<double>(c) / static_cast<double>(s.size());
      h -= p * std::log2(p);
    }
  return h;
}

const re2::RE2& email_re() {
  static const re2::RE2 re(R"(([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}))");
  return re;
}
const re2::RE2& url_re() {
  static const re2::RE2 re(R"((?i)\b((?:https?|wss?)://[^\s'"`/$]+))");
  return re;
}
const re2::RE2& ip_re() {
  static const re2::RE2 re(R"(\b((?:\d{1,3}\.){3}\d{1,3})\b)");
  return re;
}
const re2::RE2& sensitive_re() {
  static const re2::RE2 re(
      R"((?i)(\.ssh|id_rsa|id_ed25519|\.aws/credentials|\.npmrc|\.pypirc|/etc/passwd|/etc/shadow|\.kube/config|\.config/gcloud|\.gnupg|claude_desktop_config|\bmcp\.json|\.env\b|keychain|wallet\.dat|Login Data|Cookies))");
  return re;
}
const re2::RE2& encoded_re() {
  static const re2::RE2 re(R"(^(?:[A-Za-z0-9+/]{80,}={0,2}|[A-Za-z0-9_-]{100,}|(?:[0-9a-fA-F]{2}){40,})$)");
  return re;
}

const std::set<std::string, std::less<>>& recipient_keys() {
  static const std::set<std::string, std::less<>> k{"bcc", "cc", "forward", "forwardto", "forward_to",
                                                    "webhook", "webhookurl", "webhook_url",
                                                    "recipients", "blindcopy", "replyto", "reply_to"};
  return k;
}
const std::set<std::string, std::less<>>& network_apis() {
  static const std::set<std::string, std::less<>> k{"fetch", "axios", "XMLHttpRequest", "WebSocket",
                                                    "request", "got", "undici", "createConnection",
                                                    "connect", "sendBeacon", "dgram", "net", "http2"};
  return k;
}
const std::set<std::string, std::less<>>& exec_apis() {
  static const std::set<std::string, std::less<>> k{"eval", "Function", "execSync", "exec", "spawn",
                                                    "spawnSync", "execFile", "execFileSync", "fork",
                                                    "runInNewContext", "runInThisContext", "Script"};
  return k;
}

std::string lower(std::string_view s) { return util::to_lower(s); }

// What the OLD package already contains: its strings, identifiers, lines and env reads.
struct Baseline {
  std::unordered_map<std::string, int> lines;  // trimmed line -> count, across all JS files
  std::set<std::string, std::less<>> strings_lower, identifiers, env_reads;
};

void collect_env_reads(const std::vector<JsToken>& t, std::set<std::string, std::less<>>& out,
                       std::vector<std::pair<std::string, int>>* located = nullptr) {
  for (size_t i = 0; i + 3 < t.size(); ++i) {
    if (t[i].text == "process" && t[i + 1].text == "." && t[i + 2].text == "env") {
      std::string name = "*";
      if (t[i + 3].text == "." && i + 4 < t.size()) name = t[i + 4].text;
      else if (t[i + 3].text == "[" && i + 4 < t.size() && t[i + 4].kind == JsToken::Kind::string)
        name = t[i + 4].text;
      out.insert(name);
      if (located) located->emplace_back(name, t[i].line);
    }
  }
}

Baseline baseline_of(const PackageTree& tree) {
  Baseline b;
  for (const auto& [path, content] : tree) {
    if (!is_js(path)) continue;
    for (const auto& l : split_lines(content)) ++b.lines[trim(l)];
    auto toks = tokenize_js(content);
    for (const auto& t : toks) {
      if (t.kind == JsToken::Kind::string) b.strings_lower.insert(lower(t.text));
      else if (t.kind == JsToken::Kind::identifier) b.identifiers.insert(t.text);
    }
    collect_env_reads(toks, b.env_reads);
  }
  return b;
}

bool old_strings_contain(const Baseline& b, std::string_view needle) {
  std::string n = lower(needle);
  return std::any_of(b.strings_lower.begin(), b.strings_lower.end(),
                     [&](const std::string& s) { return s.find(n) != std::string::npos; });
}

void analyse_js(const std::string& path, const std::string& content, const Baseline& old,
                std::vector<DiffFinding>& out) {
  auto lines = split_lines(content);
  // Added lines: a trimmed line that occurs more often here than anywhere in the old package.
  std::unordered_map<std::string, int> budget = old.lines;
  std::vector<bool> added(lines.size() + 2, false);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string t = trim(lines[i]);
    if (t.empty()) continue;
    auto it = budget.find(t);
    if (it != budget.end() && it->second > 0) --it->second;
    else added[i + 1] = true;
  }
  auto evidence = [&](int line) { return cap(trim(lines[static_cast<size_t>(line - 1)])); };
  auto add = [&](const char* rule, Severity sev, int line, std::string message) {
    out.push_back({rule, sev, path, line, std::move(message), line > 0 ? evidence(line) : ""});
  };

  auto toks = tokenize_js(content);
  // Keys and identifiers per added line, for the recipient rule.
  std::unordered_map<int, std::vector<std::string>> line_keys;
  for (size_t i = 0; i < toks.size(); ++i) {
    const auto& t = toks[i];
    if (!added[static_cast<size_t>(t.line)]) continue;
    bool is_key = (t.kind == JsToken::Kind::identifier || t.kind == JsToken::Kind::string) &&
                  i + 1 < toks.size() && toks[i + 1].text == ":";
    if (is_key || t.kind == JsToken::Kind::identifier) line_keys[t.line].push_back(lower(t.text));
    if (is_key && recipient_keys().count(lower(t.text)) && !old.identifiers.count(t.text) &&
        !old_strings_contain(old, t.text)) {
      add("supply.diff.recipient_field", Severity::high, t.line,
          fmt::format("new '{}' field in an object (a recipient or forwarding field added to a payload?)", t.text));
    }
  }
  auto near_recipient_key = [&](int line) {
    for (int l = line - 2; l <= line + 2; ++l) {
      auto it = line_keys.find(l);
      if (it == line_keys.end()) continue;
      for (const auto& k : it->second)
        if (recipient_keys().count(k)) return k;
    }
    return std::string();
  };

  std::set<std::string> reported;
  for (size_t i = 0; i < toks.size(); ++i) {
    const auto& t = toks[i];
    if (!added[static_cast<size_t>(t.line)]) continue;
    if (t.kind == JsToken::Kind::string) {
      re2::StringPiece in(t.text);
      std::string email;
      while (re2::RE2::FindAndConsume(&in, email_re(), &email)) {
        if (old_strings_contain(old, email) || !reported.insert("e" + email).second) continue;
        std::string key = near_recipient_key(t.line);
        if (!key.empty())
          add("supply.diff.hidden_recipient", Severity::critical, t.line,
              fmt::format("hard-coded address {} added next to a '{}' field: every message may go to it too", email, key));
        else
          add("supply.diff.new_email", Severity::high, t.line, fmt::format("new hard-coded email address {}", email));
      }
      in = re2::StringPiece(t.text);
      std::string url;
      while (re2::RE2::FindAndConsume(&in, url_re(), &url))
        if (!old_strings_contain(old, url) && reported.insert("u" + url).second)
          add("supply.diff.new_url", Severity::medium, t.line, fmt::format("new hard-coded URL {}", url));
      in = re2::StringPiece(t.text);
      std::string ip;
      while (re2::RE2::FindAndConsume(&in, ip_re(), &ip))
        if (!old_strings_contain(old, ip) && reported.insert("i" + ip).second)
          add("supply.diff.new_ip", Severity::medium, t.line, fmt::format("new hard-coded IP address {}", ip));
      std::string what;
      if (re2::RE2::PartialMatch(t.text, sensitive_re(), &what) && !old_strings_contain(old, what) &&
          reported.insert("s" + what).second)
        add("supply.diff.sensitive_file", Severity::high, t.line,
            fmt::format("new reference to a sensitive file or credential store ({})", what));
      if (t.text.find("child_process") != std::string::npos && !old_strings_contain(old, "child_process"))
        add("supply.diff.child_process", Severity::high, t.line, "child_process imported: the package can now run programs");
      if (t.text.size() >= 80 && (re2::RE2::FullMatch(t.text, encoded_re()) ||
                                  (t.text.size() >= 120 && entropy(t.text) > 5.0)))
        add("supply.diff.encoded_blob", Severity::medium, t.line,
            fmt::format("new {}-character encoded or high-entropy string (obfuscation?)", t.text.size()));
    } else if (t.kind == JsToken::Kind::identifier) {
      bool called = i + 1 < toks.size() && toks[i + 1].text == "(";
      if (exec_apis().count(t.text) && (called || t.text == "Function") && !old.identifiers.count(t.text) &&
          reported.insert("x" + t.text).second)
        add("supply.diff.dynamic_code", Severity::high, t.line,
            fmt::format("new use of {}: code execution the old version did not have", t.text));
      if (network_apis().count(t.text) && !old.identifiers.count(t.text) && reported.insert("n" + t.text).second)
        add("supply.diff.new_network_call", Severity::medium, t.line,
            fmt::format("new network API {}: the old version made no such calls", t.text));
    }
  }
  std::set<std::string, std::less<>> env_now;
  std::vector<std::pair<std::string, int>> env_located;
  collect_env_reads(toks, env_now, &env_located);
  for (const auto& [name, line] : env_located) {
    if (!added[static_cast<size_t>(line)] || old.env_reads.count(name) || !reported.insert("v" + name).second) continue;
    bool secretish = re2::RE2::PartialMatch(name, R"((?i)(token|secret|key|pass|cred|aws|auth))") || name == "*";
    add("supply.diff.env_read", secretish ? Severity::medium : Severity::low, line,
        name == "*" ? "reads the whole environment (process.env enumerated)" : fmt::format("new environment read {}", name));
  }
  for (size_t i = 1; i <= lines.size(); ++i)
    if (added[i] && lines[i - 1].size() > 500)
      add("supply.diff.minified_addition", Severity::medium, static_cast<int>(i),
          fmt::format("a {}-character line was added (minified or generated code hides what it does)", lines[i - 1].size()));
}

std::map<std::string, std::string> json_string_map(simdjson::dom::element root, const char* key) {
  std::map<std::string, std::string> out;
  simdjson::dom::object obj;
  if (root[key].get(obj)) return out;
  for (auto f : obj) out[std::string(f.key)] = f.value.is_string() ? std::string(f.value.get_string().value_unsafe()) : simdjson::minify(f.value);
  return out;
}

std::string json_field(simdjson::dom::element root, const char* key) {
  simdjson::dom::element e;
  if (root[key].get(e)) return {};
  return e.is_string() ? std::string(e.get_string().value_unsafe()) : simdjson::minify(e);
}

void analyse_package_json(const std::string& path, const std::string& old_text, const std::string& new_text,
                          std::vector<DiffFinding>& out) {
  simdjson::dom::parser p1, p2;
  simdjson::dom::element a, b;
  if (p2.parse(new_text).get(b)) {
    out.push_back({"supply.diff.package_json_invalid", Severity::medium, path, 0, "package.json does not parse", ""});
    return;
  }
  bool have_old = !old_text.empty() && !p1.parse(old_text).get(a);
  auto old_scripts = have_old ? json_string_map(a, "scripts") : std::map<std::string, std::string>{};
  for (const auto& [name, cmd] : json_string_map(b, "scripts")) {
    bool install = name == "preinstall" || name == "install" || name == "postinstall" || name == "prepare";
    auto it = old_scripts.find(name);
    if (install && (it == old_scripts.end() || it->second != cmd))
      out.push_back({"supply.diff.install_script", Severity::high, path, 0,
                     fmt::format("install script '{}' {}: runs on every npm install", name,
                                 it == old_scripts.end() ? "added" : "changed"), cap(cmd)});
  }
  for (const char* section : {"dependencies", "optionalDependencies"}) {
    auto old_deps = have_old ? json_string_map(a, section) : std::map<std::string, std::string>{};
    for (const auto& [name, spec] : json_string_map(b, section))
      if (!old_deps.count(name))
        out.push_back({"supply.diff.new_dependency", Severity::low, path, 0,
                       fmt::format("new {} entry {}@{}", section, name, spec), ""});
  }
  if (!have_old) return;
  for (const char* field : {"author", "maintainers", "contributors", "repository", "homepage", "bugs", "publishConfig"}) {
    std::string before = json_field(a, field), after = json_field(b, field);
    if (before != after)
      out.push_back({"supply.diff.metadata_change", Severity::medium, path, 0,
                     fmt::format("package.json {} changed", field), cap(before + " -> " + after)});
  }
}

}  // namespace

std::vector<JsToken> tokenize_js(std::string_view s) {
  std::vector<JsToken> out;
  int line = 1;
  size_t i = 0;
  auto ident_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || (static_cast<unsigned char>(c) & 0x80);
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == '\n') { ++line; ++i; continue; }
    if (std::isspace(static_cast<unsigned char>(c))) { ++i; continue; }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '/') {
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      i += 2;
      while (i + 1 < s.size() && !(s[i] == '*' && s[i + 1] == '/')) { if (s[i] == '\n') ++line; ++i; }
      i += 2;
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') {
      int start_line = line;
      size_t j = i + 1;
      while (j < s.size() && s[j] != c) {
        if (s[j] == '\\') ++j;
        else if (s[j] == '\n') { if (c != '`') break; ++line; }
        ++j;
      }
      out.push_back({JsToken::Kind::string, std::string(s.substr(i + 1, std::min(j, s.size()) - i - 1)), start_line});
      i = j + 1;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == '_')) ++j;
      out.push_back({JsToken::Kind::number, std::string(s.substr(i, j - i)), line});
      i = j;
      continue;
    }
    if (ident_char(c)) {
      size_t j = i;
      while (j < s.size() && ident_char(s[j])) ++j;
      out.push_back({JsToken::Kind::identifier, std::string(s.substr(i, j - i)), line});
      i = j;
      continue;
    }
    out.push_back({JsToken::Kind::punct, std::string(1, c), line});
    ++i;
  }
  return out;
}

Result<PackageTree> load_package(const std::string& spec) {
  std::error_code ec;
  if (fs::is_directory(spec, ec)) return load_dir(spec);
  if (fs::is_regular_file(spec, ec)) return load_tar(spec);
  auto at = spec.rfind('@');
  if (at == std::string::npos || at == 0)
    return Error{2, fmt::format("{}: not a directory, a tarball, or NAME@VERSION", spec)};
  // npm pack NAME@VERSION into a private temporary directory (argv, no shell interpretation of
  // the spec: it is passed through an environment variable).
  char dir_template[] = "/tmp/mcp-warden-pack-XXXXXX";
  if (!mkdtemp(dir_template)) return Error{2, "cannot create a temporary directory"};
  std::string dir = dir_template;
  setenv("WARDEN_PACK_SPEC", spec.c_str(), 1);
  std::string cmd = "cd '" + dir + "' && npm pack --silent \"$WARDEN_PACK_SPEC\" >/dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  unsetenv("WARDEN_PACK_SPEC");
  Result<PackageTree> result = Error{2, fmt::format("npm pack {} failed (offline, or no such version?)", spec)};
  if (rc == 0) {
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".tgz") result = load_tar(e.path().string());
  }
  fs::remove_all(dir, ec);
  return result;
}

DiffReport diff_packages(const PackageTree& old_tree, const PackageTree& new_tree) {
  DiffReport r;
  Baseline old = baseline_of(old_tree);
  for (const auto& [path, content] : new_tree) {
    auto it = old_tree.find(path);
    if (it == old_tree.end()) ++r.files_added;
    else if (it->second != content) ++r.files_changed;
    else continue;
    std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    if (base == "package.json")
      analyse_package_json(path, it == old_tree.end() ? std::string() : it->second, content, r.findings);
    else if (is_js(path))
      analyse_js(path, content, old, r.findings);
  }
  for (const auto& [path, content] : old_tree)
    if (!new_tree.count(path)) ++r.files_removed;
  std::stable_sort(r.findings.begin(), r.findings.end(), [](const DiffFinding& a, const DiffFinding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.file != b.file) return a.file < b.file;
    return a.line < b.line;
  });
  return r;
}

}  // namespace warden::supply
