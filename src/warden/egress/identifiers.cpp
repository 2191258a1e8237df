#include "warden/egress/identifiers.h"

#include <algorithm>
#include <cctype>

#include <simdjson.h>

#include "warden/codec/codec.h"
#include "warden/policy/matchers.h"
#include "warden/util/json_writer.h"
#include "warden/util/strings.h"

namespace warden::egress {

namespace {

bool local_char(unsigned char c) { return std::isalnum(c) || std::strchr("._%+-'", c) != nullptr; }
bool domain_char(unsigned char c) { return std::isalnum(c) || c == '.' || c == '-'; }

std::string lower_key(std::string_view k) {
  std::string out;
  for (char c : k)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool recipient_key(std::string_view key) {
  static const std::set<std::string, std::less<>> keys{
      "to", "cc", "bcc", "replyto", "recipient", "recipients", "forward", "forwardto",
      "toaddresses", "ccaddresses", "bccaddresses", "toaddress", "ccaddress", "bccaddress",
      "destination", "destinations", "personalizations", "emailaddress", "addresses"};
  return keys.count(lower_key(key)) > 0;
}

void walk(simdjson::dom::element el, const std::string& path, bool emails, bool hosts,
          std::vector<Identifier>& out, int depth) {
  if (depth > 128) return;
  switch (el.type()) {
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object obj = el.get_object().value_unsafe();
      for (auto field : obj) {
        std::string p = path + "." + std::string(field.key);
        scan_text(field.key, p, emails, hosts, out);
        walk(field.value, p, emails, hosts, out, depth + 1);
      }
      break;
    }
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array arr = el.get_array().value_unsafe();
      size_t i = 0;
      for (auto v : arr) walk(v, path + "[" + std::to_string(i++) + "]", emails, hosts, out, depth + 1);
      break;
    }
    case simdjson::dom::element_type::STRING:
      scan_text(el.get_string().value_unsafe(), path, emails, hosts, out);
      break;
    default:
      break;
  }
}

}  // namespace

const char* id_kind_name(IdKind k) { return k == IdKind::email ? "email" : "host"; }

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

void scan_text(std::string_view text, const std::string& where, bool emails, bool hosts,
               std::vector<Identifier>& out) {
  if (emails) {
    for (size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
      size_t b = at;
      while (b > 0 && local_char(static_cast<unsigned char>(text[b - 1]))) --b;
      size_t e = at + 1;
      while (e < text.size() && domain_char(static_cast<unsigned char>(text[e]))) ++e;
      while (e > at + 1 && (text[e - 1] == '.' || text[e - 1] == '-')) --e;
      while (b < at && text[b] == '.') ++b;
      std::string_view local = text.substr(b, at - b), domain = text.substr(at + 1, e - at - 1);
      size_t dot = domain.rfind('.');
      if (local.empty() || dot == std::string_view::npos || dot == 0 || domain.size() - dot < 3) continue;
      bool tld_alpha = std::all_of(domain.begin() + static_cast<long>(dot) + 1, domain.end(),
                                   [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
      if (!tld_alpha) continue;
      out.push_back({IdKind::email, util::to_lower(text.substr(b, e - b)), where});
    }
  }
  if (hosts) {
    for (std::string_view scheme : {"http://", "https://", "ws://", "wss://"}) {
      for (size_t i = 0; (i = text.find(scheme, i)) != std::string_view::npos; i += scheme.size()) {
        size_t e = i;
        while (e < text.size() && !std::isspace(static_cast<unsigned char>(text[e])) &&
               text[e] != '"' && text[e] != '\'' && text[e] != '<' && text[e] != '>')
          ++e;
        std::string host;
        const char* why = nullptr;
        if (policy::extract_url_host(text.substr(i, e - i), host, why))
          out.push_back({IdKind::host, host, where});
      }
    }
  }
}

void scan_json(std::string_view json, const std::string& where, bool emails, bool hosts,
               std::vector<Identifier>& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    scan_text(json, where, emails, hosts, out);
    return;
  }
  walk(root, where, emails, hosts, out, 0);
}

namespace {

void scan_pairs(std::string_view s, const std::string& where, bool emails, bool hosts,
                std::vector<Identifier>& out) {
  size_t i = 0;
  while (i <= s.size()) {
    size_t amp = s.find('&', i);
    if (amp == std::string_view::npos) amp = s.size();
    std::string_view pair = s.substr(i, amp - i);
    size_t eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
    scan_text(key, where + "." + key, emails, hosts, out);
    scan_text(value, where + "." + key, emails, hosts, out);
    i = amp + 1;
  }
}

std::string header_value(const RequestView& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (util::to_lower(k) == util::to_lower(name)) return v;
  return "";
}

void scan_multipart(std::string_view body, std::string_view boundary, bool emails, bool hosts,
                    std::vector<Identifier>& out) {
  std::string delim = "--" + std::string(boundary);
  size_t pos = body.find(delim);
  int part = 0;
  while (pos != std::string_view::npos) {
    size_t start = pos + delim.size();
    if (body.substr(start, 2) == "--") break;
    size_t next = body.find(delim, start);
    std::string_view chunk = body.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    size_t hdr_end = chunk.find("\r\n\r\n");
    std::string_view headers = hdr_end == std::string_view::npos ? std::string_view{} : chunk.substr(0, hdr_end);
    std::string_view content = hdr_end == std::string_view::npos ? chunk : chunk.substr(hdr_end + 4);
    std::string name = "part" + std::to_string(part++);
    if (auto n = headers.find("name=\""); n != std::string_view::npos) {
      size_t q = headers.find('"', n + 6);
      if (q != std::string_view::npos) name = std::string(headers.substr(n + 6, q - n - 6));
    }
    if (util::to_lower(headers).find("application/json") != std::string::npos)
      scan_json(content, "body." + name, emails, hosts, out);
    else
      scan_text(content, "body." + name, emails, hosts, out);
    pos = next;
  }
}

}  // namespace

std::vector<Identifier> extract_identifiers(const RequestView& r, bool emails, bool hosts,
                                            std::string_view skip_header) {
  std::vector<Identifier> out;
  if (auto q = r.target.find('?'); q != std::string_view::npos) {
    scan_text(percent_decode(r.target.substr(0, q), false), "path", emails, hosts, out);
    scan_pairs(r.target.substr(q + 1), "query", emails, hosts, out);
  } else {
    scan_text(percent_decode(r.target, false), "path", emails, hosts, out);
  }
  std::string skip = util::to_lower(skip_header);
  for (const auto& [k, v] : r.headers) {
    std::string lk = util::to_lower(k);
    if (lk == "authorization" || lk == "proxy-authorization" || lk == "cookie" || lk == "host" ||
        lk == skip)
      continue;
    scan_text(v, "header." + k, emails, hosts, out);
  }
  if (r.body.empty()) return out;
  std::string ct = util::to_lower(header_value(r, "content-type"));
  if (ct.find("json") != std::string::npos) {
    scan_json(r.body, "body", emails, hosts, out);
  } else if (ct.find("application/x-www-form-urlencoded") != std::string::npos) {
    scan_pairs(r.body, "body", emails, hosts, out);
  } else if (ct.find("multipart/") != std::string::npos && ct.find("boundary=") != std::string::npos) {
    std::string ct_raw = header_value(r, "content-type");
    std::string boundary = ct_raw.substr(util::to_lower(ct_raw).find("boundary=") + 9);
    if (auto semi = boundary.find(';'); semi != std::string::npos) boundary.resize(semi);
    if (boundary.size() >= 2 && boundary.front() == '"') boundary = boundary.substr(1, boundary.size() - 2);
    scan_multipart(r.body, boundary, emails, hosts, out);
  } else {
    // Unknown or missing type: JSON if it parses, text otherwise (a server can lie about types).
    scan_json(r.body, "body", emails, hosts, out);
  }
  return out;
}

// ---- strip ----------------------------------------------------------------------------------

namespace {

bool holds_offending(std::string_view s, const std::set<std::string>& offending) {
  std::vector<Identifier> ids;
  scan_text(s, "", true, false, ids);
  return std::any_of(ids.begin(), ids.end(), [&](const Identifier& i) { return offending.count(i.value) > 0; });
}

struct Stripper {
  const std::set<std::string>& offending;
  StripResult& result;

  // A comma/semicolon separated address list without the offending addresses.
  std::string clean_list(std::string_view s) {
    std::string out;
    size_t i = 0;
    while (i <= s.size()) {
      size_t sep = s.find_first_of(",;", i);
      if (sep == std::string_view::npos) sep = s.size();
      std::string_view part = s.substr(i, sep - i);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
      if (!part.empty()) {
        if (holds_offending(part, offending)) {
          result.removed.emplace_back(part);
        } else {
          if (!out.empty()) out += ", ";
          out += part;
        }
      }
      i = sep + 1;
    }
    return out;
  }

  // Writes el unless, inside a recipient field, it is emptied by the strip. Returns false when the
  // element is dropped.
  bool write(simdjson::dom::element el, bool in_recipients, const std::string& path,
             util::JsonWriter& w, int depth) {
    using T = simdjson::dom::element_type;
    if (depth > 128) {
      w.raw(codec::serialize(el));
      return true;
    }
    switch (el.type()) {
      case T::OBJECT: {
        simdjson::dom::object obj = el.get_object().value_unsafe();
        if (in_recipients) {  // {"Email": "x", "Name": "y"}: the whole entry goes
          for (auto field : obj) {
            std::string_view v;
            if (field.value.get_string().get(v) == simdjson::SUCCESS && holds_offending(v, offending)) {
              result.removed.push_back(codec::serialize(el));
              return false;
            }
          }
        }
        w.begin_object();
        for (auto field : obj) {
          bool rec = in_recipients || recipient_key(field.key);
          std::string sub;
          util::JsonWriter sw(sub);
          if (write(field.value, rec, path + "." + std::string(field.key), sw, depth + 1)) {
            w.key(field.key);
            w.raw(sub);
          }
        }
        w.end_object();
        return true;
      }
      case T::ARRAY: {
        simdjson::dom::array arr = el.get_array().value_unsafe();
        w.begin_array();
        size_t i = 0;
        for (auto v : arr) {
          std::string sub;
          util::JsonWriter sw(sub);
          if (write(v, in_recipients, path + "[" + std::to_string(i++) + "]", sw, depth + 1)) w.raw(sub);
        }
        w.end_array();
        return true;
      }
      case T::STRING: {
        std::string_view s = el.get_string().value_unsafe();
        if (in_recipients && holds_offending(s, offending)) {
          std::string kept = clean_list(s);
          if (kept.empty()) return false;
          w.string(kept);
          return true;
        }
        if (holds_offending(s, offending)) scan_text(s, path, true, false, result.remaining);
        w.string(s);
        return true;
      }
      default:
        w.raw(codec::serialize(el));
        return true;
    }
  }
};

}  // namespace

std::optional<StripResult> strip_json_recipients(std::string_view body,
                                                 const std::set<std::string>& offending) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  StripResult r;
  Stripper s{offending, r};
  util::JsonWriter w(r.body);
  if (!s.write(root, false, "body", w, 0)) r.body = "null";
  // Only the offending ones count as remaining.
  std::erase_if(r.remaining, [&](const Identifier& i) { return offending.count(i.value) == 0; });
  return r;
}

}  // namespace warden::egress
