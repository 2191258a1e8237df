#include "warden/util/strings.h"
#include "warden/supply/hunt.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <fmt/format.h>
#include <re2/re2.h>
#include <re2/set.h>
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

struct Hunter::IocMatcher {
  re2::RE2::Options options() {
    re2::RE2::Options o;
    o.set_case_sensitive(false);
    o.set_log_errors(false);
    o.set_max_mem(256 << 20);
    return o;
  }
  re2::RE2::Set set{options(), re2::RE2::UNANCHORED};
  bool ok = false;
};

// After the IOCs (ids 0..n-1), the words that make a line worth a closer look.
constexpr const char* k_line_keywords[] = {"postfix", "cc", "forward", "blindcopy"};

const Hunter::IocMatcher& Hunter::matcher() {
  if (!m_matcher) {
    m_matcher = std::make_shared<IocMatcher>();
    for (const auto& ioc : m_iocs) m_matcher->set.Add(re2::RE2::QuoteMeta(ioc), nullptr);
    for (const char* k : k_line_keywords) m_matcher->set.Add(k, nullptr);
    m_matcher->ok = m_matcher->set.Compile();
  }
  return *m_matcher;
}

void Hunter::add_ioc(std::string ioc) {
  m_matcher.reset();
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

bool Hunter::outside(const std::string& dom, const std::vector<std::string>& to_domains) const {
  auto inside = [&](const std::string& d) {
    return dom == d || (dom.size() > d.size() && dom.compare(dom.size() - d.size() - 1, d.size() + 1, "." + d) == 0);
  };
  return !m_org.empty() ? std::none_of(m_org.begin(), m_org.end(), inside)
                        : std::none_of(to_domains.begin(), to_domains.end(), inside);
}

void Hunter::note_recipients(const std::vector<std::pair<std::string, std::string>>& found,
                             const std::vector<std::string>& to, const std::string& when) {
  std::vector<std::string> to_domains;
  for (const auto& t : to) to_domains.push_back(domain_of(t));
  for (const auto& [key, value] : found)
    for (const auto& addr : emails_in(value)) {
      auto& g = m_recipients[addr];
      if (g.count++ == 0) {
        g.address = addr;
        g.field = key;
        g.first_seen = when;
      }
      g.last_seen = when;
      g.outside = g.outside || outside(domain_of(addr), to_domains);
    }
}

namespace {

void add_recipient_hits(const std::vector<std::pair<std::string, std::string>>& found, const std::string& path,
                        size_t line, std::vector<HuntHit>& hits) {
  for (const auto& [key, value] : found)
    hits.push_back({"supply.hunt.hidden_recipient", core::Severity::medium, path, line, key,
                    fmt::format("{}: {}", key, value.size() > 200 ? value.substr(0, 200) + "..." : value)});
}

std::string_view angle_address(std::string_view s) {  // "<a@b>, ..." -> a@b
  size_t close = s.find('>');
  return close == std::string_view::npos ? std::string_view{} : s.substr(1, close - 1);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// RFC 4180 rows (quoted fields may hold commas, quotes and newlines), with the line each starts on.
std::vector<std::pair<size_t, std::vector<std::string>>> csv_rows(std::string_view text) {
  std::vector<std::pair<size_t, std::vector<std::string>>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  size_t line = 1, row_line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      rows.emplace_back(row_line, std::move(row));
      row.clear();
      row_line = ++line;
    } else {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.emplace_back(row_line, std::move(row));
  }
  return rows;
}

}  // namespace

void Hunter::postfix_line(std::string_view line) {
  size_t tag = line.find("]: ");
  if (tag == std::string_view::npos) return;
  std::string_view rest = line.substr(tag + 3);
  size_t colon = rest.find(": ");
  if (colon == std::string_view::npos || colon < 5 || colon > 20) return;
  std::string qid(rest.substr(0, colon));
  for (char c : qid)
    if (!std::isalnum(static_cast<unsigned char>(c))) return;
  rest = rest.substr(colon + 2);
  if (rest == "removed") {
    auto it = m_queue.find(qid);
    if (it != m_queue.end()) {
      finish_message(it->second);
      m_queue.erase(it);
    }
    return;
  }
  bool from = rest.rfind("from=<", 0) == 0, to = rest.rfind("to=<", 0) == 0;
  if (!from && !to) return;
  std::string addr = lower(angle_address(rest.substr(from ? 5 : 3)));
  // The time: an ISO stamp as the first token, else the classic "Mmm dd hh:mm:ss".
  std::string when = !line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))
                         ? std::string(line.substr(0, line.find(' ')))
                         : std::string(line.substr(0, std::min<size_t>(15, line.size())));
  auto& m = m_queue[qid];
  if (m.first_seen.empty()) m.first_seen = when;
  m.last_seen = when;
  if (from) m.from = addr;
  else if (!addr.empty() && std::find(m.to.begin(), m.to.end(), addr) == m.to.end()) m.to.push_back(addr);
}

// Postfix logs every recipient alike (To, Cc and Bcc all become `to=<...>`), so a hidden recipient
// shows as an address that gets a copy of mail sent to different people: flagged when outside
// --org, or, without --org, outside the sender's domain and seen beside two or more different
// recipients.
void Hunter::finish_message(Message& m) {
  constexpr size_t k_max_peers = 64;
  for (const auto& r : m.to) {
    auto& g = m_recipients[r];
    if (g.count++ == 0) {
      g.address = r;
      g.field = "postfix to";
      g.first_seen = m.first_seen;
    }
    g.last_seen = m.last_seen;
    auto& peers = m_peers[r];
    for (const auto& other : m.to)
      if (other != r && peers.size() < k_max_peers && std::find(peers.begin(), peers.end(), other) == peers.end())
        peers.push_back(other);
    std::string dom = domain_of(r);
    bool flagged = !m_org.empty() ? outside(dom, {})
                                  : (m.to.size() >= 2 && peers.size() >= 2 &&
                                     (m.from.empty() || dom != domain_of(m.from)));
    g.outside = g.outside || flagged;
  }
}

void Hunter::hunt_json_document(const std::string& path, std::vector<HuntHit>& hits) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::padded_string text;
  if (simdjson::padded_string::load(path).get(text) || parser.parse(text).get(root)) return;
  simdjson::dom::array records;
  if (root["Messages"].get_array().get(records) && root.get_array().get(records)) return;
  std::string_view view(text.data(), text.size());
  size_t from = 0;
  for (auto record : records) {
    size_t line = 0;
    if (size_t at = view.find("\"MessageID\"", from); at != std::string_view::npos) {
      line = 1 + static_cast<size_t>(std::count(view.begin(), view.begin() + static_cast<long>(at), '\n'));
      from = at + 1;
    }
    std::vector<std::pair<std::string, std::string>> found;
    std::vector<std::string> to;
    walk(record, found, to);
    std::string when = time_of(record);
    if (when.empty()) when = fmt::format("{}:{}", path, line);
    note_recipients(found, to, when);
    add_recipient_hits(found, path, line, hits);
  }
}

void Hunter::hunt_csv(const std::string& path, std::vector<HuntHit>& hits) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rows = csv_rows(text);
  if (rows.empty()) return;
  int to_col = -1, time_col = -1;
  std::vector<std::pair<int, std::string>> recipient_cols;
  const auto& header = rows[0].second;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h = lower(header[i]);
    if (to_key(h)) to_col = static_cast<int>(i);
    else if (recipient_key(h)) recipient_cols.emplace_back(static_cast<int>(i), header[i]);
    else if (time_col < 0 && (h == "receivedat" || h == "submittedat" || h == "date" || h == "timestamp" || h == "ts"))
      time_col = static_cast<int>(i);
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& [line, row] = rows[r];
    auto cell = [&](int c) { return c >= 0 && static_cast<size_t>(c) < row.size() ? row[static_cast<size_t>(c)] : std::string(); };
    std::vector<std::pair<std::string, std::string>> found;
    for (const auto& [c, name] : recipient_cols)
      if (!cell(c).empty()) found.emplace_back(name, cell(c));
    std::string when = cell(time_col).empty() ? fmt::format("{}:{}", path, line) : cell(time_col);
    note_recipients(found, emails_in(cell(to_col)), when);
    add_recipient_hits(found, path, line, hits);
  }
}

Status Hunter::hunt_file(const std::string& path, std::vector<HuntHit>& hits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{2, fmt::format("cannot read {}", path)};
  simdjson::dom::parser parser;
  // A whole JSON document (a Postmark export) or a CSV export: records are read after the lines.
  bool csv = ends_with(path, ".csv"), document = false;
  {
    std::string first;
    std::getline(in, first);
    simdjson::dom::element e;
    size_t nonspace = first.find_first_not_of(" \t\r");
    document = !csv && nonspace != std::string::npos && (first[nonspace] == '{' || first[nonspace] == '[') &&
               parser.parse(first).get(e) != simdjson::SUCCESS;
    in.clear();
    in.seekg(0);
  }
  size_t line_no = 0;
  std::vector<int> candidates;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    // One multi-pattern pass says which IOCs and keywords occur; only those lines are lowered and
    // checked further. (Should the set not compile, e.g. out of memory, everything is checked.)
    const IocMatcher& mm = matcher();
    candidates.clear();
    if (mm.ok) {
      mm.set.Match(line, &candidates);
      std::sort(candidates.begin(), candidates.end());
    } else {
      for (size_t i = 0; i < m_iocs.size() + std::size(k_line_keywords); ++i) candidates.push_back(static_cast<int>(i));
    }
    if (candidates.empty()) continue;
    const std::string l = lower(line);
    bool postfix = false, recipients = false;
    for (int c : candidates) {
      auto i = static_cast<size_t>(c);
      if (i >= m_iocs.size()) {
        (i == m_iocs.size() ? postfix : recipients) = true;
        continue;
      }
      size_t at = 0;
      if (contains_ioc(l, m_iocs[i], at))
        hits.push_back({"supply.hunt.ioc", core::Severity::high, path, line_no, m_iocs[i], excerpt(line, at, m_iocs[i].size())});
    }
    if (document || csv) continue;
    if (postfix && l.find("]: ") != std::string::npos) {
      postfix_line(line);
      continue;
    }
    if (!recipients) continue;
    simdjson::dom::element root;
    if (line.empty() || (line[0] != '{' && line[0] != '[') || parser.parse(line).get(root)) continue;
    std::vector<std::pair<std::string, std::string>> found;
    std::vector<std::string> to;
    walk(root, found, to);
    std::string when = time_of(root);
    if (when.empty()) when = fmt::format("{}:{}", path, line_no);
    note_recipients(found, to, when);
    add_recipient_hits(found, path, line_no, hits);
  }
  for (auto& [qid, m] : m_queue) finish_message(m);  // messages still queued when the log ends
  m_queue.clear();
  if (document) hunt_json_document(path, hits);
  if (csv) hunt_csv(path, hits);
  return Ok{};
}

}  // namespace warden::supply
