#include "warden/codec/json_edit.h"

#include <algorithm>
#include <vector>

#include "warden/codec/codec.h"
#include "warden/util/json_writer.h"

namespace warden::codec {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr int k_max_depth = 1024;  // the codec refuses deeper trees before they get here

// Compact JSON of `el`: keys sorted when `sort`, strings through `edit` when given.
void write(element el, std::string_view key, const StringEdit* edit, bool sort, std::string& out,
           int depth) {
  switch (el.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object obj;
      if (el.get(obj) != simdjson::SUCCESS || depth > k_max_depth) {
        out += "{}";
        return;
      }
      std::vector<std::pair<std::string_view, element>> members;
      for (auto [k, v] : obj) members.emplace_back(k, v);
      if (sort)
        std::sort(members.begin(), members.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        util::append_json_string(out, members[i].first);
        out += ':';
        write(members[i].second, members[i].first, edit, sort, out, depth + 1);
      }
      out += '}';
      return;
    }
    case element_type::ARRAY: {
      simdjson::dom::array arr;
      if (el.get(arr) != simdjson::SUCCESS || depth > k_max_depth) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (element x : arr) {
        if (!first) out += ',';
        first = false;
        write(x, key, edit, sort, out, depth + 1);
      }
      out += ']';
      return;
    }
    case element_type::STRING: {
      std::string_view s;
      if (el.get(s) != simdjson::SUCCESS) s = {};
      std::optional<std::string> r;
      if (edit) r = (*edit)(key, s);
      util::append_json_string(out, r ? std::string_view(*r) : s);
      return;
    }
    default:
      out += serialize(el);
  }
}

// Calls `edit` for every string value in the order write() meets them; the replacements, by
// position, go to `out` (false if there were none).
bool visit_strings(element el, std::string_view key, const StringEdit& edit,
                   std::vector<std::optional<std::string>>& out, int depth) {
  bool any = false;
  switch (el.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object obj;
      if (el.get(obj) != simdjson::SUCCESS || depth > k_max_depth) return false;
      for (auto [k, v] : obj) any = visit_strings(v, k, edit, out, depth + 1) || any;
      return any;
    }
    case element_type::ARRAY: {
      simdjson::dom::array arr;
      if (el.get(arr) != simdjson::SUCCESS || depth > k_max_depth) return false;
      for (element x : arr) any = visit_strings(x, key, edit, out, depth + 1) || any;
      return any;
    }
    case element_type::STRING: {
      std::string_view s;
      if (el.get(s) != simdjson::SUCCESS) s = {};
      out.push_back(edit(key, s));
      return out.back().has_value();
    }
    default: return false;
  }
}

}  // namespace

std::optional<std::string> serialize_if_edited(element el, const StringEdit& edit) {
  std::vector<std::optional<std::string>> replaced;
  if (!visit_strings(el, {}, edit, replaced, 0)) return std::nullopt;
  size_t next = 0;
  StringEdit stored = [&](std::string_view, std::string_view) -> std::optional<std::string> {
    return next < replaced.size() ? std::move(replaced[next++]) : std::nullopt;
  };
  std::string out;
  write(el, {}, &stored, false, out, 0);
  return out;
}

std::string canonical_json(element el) {
  std::string out;
  write(el, {}, nullptr, true, out, 0);
  return out;
}

std::string serialize_edited(element el, const StringEdit& edit) {
  std::string out;
  write(el, {}, &edit, false, out, 0);
  return out;
}

std::string with_result(const Message& m, std::string_view result_json) {
  std::string out = "{";
  simdjson::dom::object obj;
  if (m.root.get(obj) != simdjson::SUCCESS) return out + "}";
  bool first = true;
  for (auto [k, v] : obj) {
    if (!first) out += ',';
    first = false;
    util::append_json_string(out, k);
    out += ':';
    if (k == "result") out += result_json;
    else out += serialize(v);
  }
  return out + "}";
}

}  // namespace warden::codec

namespace warden::codec {

namespace {

void pretty(simdjson::dom::element el, int indent, std::string& out) {
  std::string pad(static_cast<size_t>(indent + 1) * 2, ' ');
  std::string close(static_cast<size_t>(indent) * 2, ' ');
  simdjson::dom::object obj;
  simdjson::dom::array arr;
  if (el.get(obj) == simdjson::SUCCESS && indent < k_max_depth) {
    if (obj.size() == 0) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (auto [k, v] : obj) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      util::append_json_string(out, k);
      out += ": ";
      pretty(v, indent + 1, out);
    }
    out += "\n" + close + "}";
  } else if (el.get(arr) == simdjson::SUCCESS && indent < k_max_depth) {
    if (arr.size() == 0) {
      out += "[]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (simdjson::dom::element x : arr) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      pretty(x, indent + 1, out);
    }
    out += "\n" + close + "]";
  } else {
    out += serialize(el);
  }
}

}  // namespace

std::string pretty_json(simdjson::dom::element el) {
  std::string out;
  pretty(el, 0, out);
  return out;
}

}  // namespace warden::codec
