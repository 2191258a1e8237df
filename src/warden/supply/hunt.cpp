#include "warden/util/strings.h"
#include "warden/supply/hunt.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <fmt/format.h>
#include <re2/re2.h>
#include <simdjson.h>

namespace warden::supply {

namespace {

std::string lower(std::string_view s) { return util::to_lower(s); }

bool host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// True if `ioc` occurs in `text` (both lower case) as a whole token: a domain IOC also matches its
// subdomains ("x.giftshop.club") and addresses at it ("phan@giftshop.club"), not "notgiftshop.club".
bool contains_ioc(std::string_view text, std::string_view ioc, size_t& at) {
  size_t pos = 0;
  while ((pos = text.find(ioc, pos)) != std::string_view::npos) {
    char before = pos == 0 ? ' ' : text[pos - 1];
    char after = pos + ioc.size() < text.size() ? text[pos + ioc.size()] : ' ';
    bool left_ok = !host_char(before) || before == '.' || ioc.find('@') != std::string_view::npos;
    if (before == '.' && ioc.find('.') == std::string_view::npos) left_ok = false;
    bool right_ok = !(std::isalnum(static_cast<unsigned char>(after)) || after == '-' || after == '_');
    if (left_ok && right_ok) {
      at = pos;
      return true;
    }
    ++pos;
  }
  return false;
}

std::string excerpt(std::string_view line, size_t at, size_t len) {
  size_t start = at > 80 ? at - 80 : 0;
  size_t end = std::min(line.size(), at + len + 80);
  std::string out;
  for (char c : line.substr(start, end - start))
    out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  return (start > 0 ? "..." : "") + out + (end < line.size() ? "..." : "");
}

bool to_key(std::string_view k) {
  std::string l = lower(k);
  return l == "to" || l == "recipient" || l == "torecipients";
}

std::string time_of(simdjson::dom::element root) {
  for (const char* k : {"ts", "ReceivedAt", "SubmittedAt", "timestamp", "date", "time"}) {
    std::string_view v;
    if (root.is_object() && !root[k].get(v)) return std::string(v);
  }
  return {};
}

std::vector<std::string> emails_in(std::string_view text) {
  static const re2::RE2 re(R"(([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}))");
  std::vector<std::string> out;
  re2::StringPiece in(text.data(), text.size());
  std::string e;
  while (re2::RE2::FindAndConsume(&in, re, &e)) out.push_back(lower(e));
  return out;
}

std::string domain_of(const std::string& email) { return email.substr(email.find('@') + 1); }

bool recipient_key(std::string_view k) {
  std::string l = lower(k);
  return l == "bcc" || l == "cc" || l == "blindcopy" || l == "forward" || l == "forwardto" ||
         l == "forward_to";
}

void walk(simdjson::dom::element el, std::vector<std::pair<std::string, std::string>>& found,
          std::vector<std::string>& to) {
  simdjson::dom::object obj;
  simdjson::dom::array arr;
  if (!el.get_object().get(obj)) {
    for (auto f : obj) {
      if (to_key(f.key)) {
        std::string v = f.value.is_string() ? std::string(f.value.get_string().value_unsafe()) : simdjson::minify(f.value);
        for (auto& e : emails_in(v)) to.push_back(e);
      }
      if (recipient_key(f.key) && !f.value.is_null()) {
        std::string v = f.value.is_string() ? std::string(f.value.get_string().value_unsafe())
                                            : simdjson::minify(f.value);
        if (!v.empty() && v != "[]" && v != "\"\"") found.emplace_back(std::string(f.key), v);
      }
      walk(f.value, found, to);
    }
  } else if (!el.get_array().get(arr)) {
    for (auto v : arr) walk(v, found, to);
  } else if (el.is_string()) {
    // Logged payloads are often JSON inside a string (the audit detail of an HTTP body).
    std::string_view s = el.get_string().value_unsafe();
    if (s.size() > 2 && (s[0] == '{' || s[0] == '[')) {
      simdjson::dom::parser inner;
      simdjson::dom::element e;
      if (!inner.parse(std::string(s)).get(e)) walk(e, found, to);
    }
  }
}

}  // namespace

void Hunter::add_ioc(std::string ioc) {
  ioc = lower(ioc);
  while (!ioc.empty() && std::isspace(static_cast<unsigned char>(ioc.back()))) ioc.pop_back();
  while (!ioc.empty() && std::isspace(static_cast<unsigned char>(ioc.front()))) ioc.erase(0, 1);
  if (!ioc.empty()) m_iocs.push_back(ioc);
}

Status Hunter::add_ioc_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{2, fmt::format("cannot read IOC file {}", path)};
  for (std::string line; std::getline(in, line);) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    add_ioc(line);
  }
  return Ok{};
}

void Hunter::add_org_domain(std::string domain) {
  domain = lower(domain);
  if (!domain.empty() && domain[0] == '@') domain.erase(0, 1);
  if (!domain.empty()) m_org.push_back(domain);
}

Status Hunter::hunt_file(const std::string& path, std::vector<HuntHit>& hits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{2, fmt::format("cannot read {}", path)};
  simdjson::dom::parser parser;
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    std::string l = lower(line);
    for (const auto& ioc : m_iocs) {
      size_t at = 0;
      if (contains_ioc(l, ioc, at))
        hits.push_back({"supply.hunt.ioc", core::Severity::high, path, line_no, ioc, excerpt(line, at, ioc.size())});
    }
    if (l.find("cc") == std::string::npos && l.find("forward") == std::string::npos &&
        l.find("blindcopy") == std::string::npos)
      continue;
    simdjson::dom::element root;
    if (line.empty() || (line[0] != '{' && line[0] != '[') || parser.parse(line).get(root)) continue;
    std::vector<std::pair<std::string, std::string>> found;
    std::vector<std::string> to;
    walk(root, found, to);
    std::string when = time_of(root);
    if (when.empty()) when = fmt::format("{}:{}", path, line_no);
    for (const auto& [key, value] : found) {
      for (const auto& addr : emails_in(value)) {
        auto& g = m_recipients[addr];
        if (g.count++ == 0) {
          g.address = addr;
          g.field = key;
          g.first_seen = when;
        }
        g.last_seen = when;
        std::string dom = domain_of(addr);
        auto inside = [&](const std::string& d) { return dom == d || (dom.size() > d.size() && dom.compare(dom.size() - d.size() - 1, d.size() + 1, "." + d) == 0); };
        bool outside = !m_org.empty()
                           ? std::none_of(m_org.begin(), m_org.end(), inside)
                           : std::none_of(to.begin(), to.end(), [&](const std::string& t) { return inside(domain_of(t)); });
        g.outside = g.outside || outside;
      }
    }
    for (const auto& [key, value] : found)
      hits.push_back({"supply.hunt.hidden_recipient", core::Severity::medium, path, line_no, key,
                      fmt::format("{}: {}", key, value.size() > 200 ? value.substr(0, 200) + "..." : value)});
  }
  return Ok{};
}

}  // namespace warden::supply
