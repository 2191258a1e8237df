#include "warden/codec/codec.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "warden/codec/duplicate_keys.h"
#include "warden/util/json_writer.h"

namespace warden::codec {

using simdjson::dom::element;
using simdjson::dom::element_type;

const char* kind_name(Kind k) {
  switch (k) {
  case Kind::request: return "request";
  case Kind::notification: return "notification";
  case Kind::response: return "response";
  case Kind::error_response: return "response";
  }
  return "request";
}

std::string Id::to_json() const {
  switch (type) {
  case Type::integer: return std::to_string(integer);
  case Type::string: {
    std::string s;
    util::append_json_string(s, string);
    return s;
  }
  case Type::none:
  case Type::null: return "null";
  }
  return "null";
}

std::string Id::key() const {
  switch (type) {
  case Type::integer: return "i" + std::to_string(integer);
  case Type::string: return "s" + string;
  default: return "n";
  }
}

// Walks the tree and refuses any object with a repeated key (compared after unescaping, so
// {"a":1,"\u0061":2} is a duplicate too). Depth is already bounded by the parser.
bool find_duplicate_key(element el, std::string& dup) {
  switch (el.type()) {
  case element_type::OBJECT: {
    simdjson::dom::object obj;
    if (el.get_object().get(obj)) return false;
    size_t n = obj.size();
    if (n > 1) {
      if (n <= 16) {
        std::string_view keys[16];
        size_t i = 0;
        for (auto field : obj) {
          for (size_t j = 0; j < i; ++j) {
            if (keys[j] == field.key) {
              dup = std::string(field.key);
              return true;
            }
          }
          keys[i++] = field.key;
        }
      } else {
        std::vector<std::string_view> keys;
        keys.reserve(n);
        for (auto field : obj) keys.push_back(field.key);
        std::sort(keys.begin(), keys.end());
        auto it = std::adjacent_find(keys.begin(), keys.end());
        if (it != keys.end()) {
          dup = std::string(*it);
          return true;
        }
      }
    }
    for (auto field : obj)
      if (find_duplicate_key(field.value, dup)) return true;
    return false;
  }
  case element_type::ARRAY: {
    simdjson::dom::array arr;
    if (el.get_array().get(arr)) return false;
    for (auto child : arr)
      if (find_duplicate_key(child, dup)) return true;
    return false;
  }
  default: return false;
  }
}

namespace {

Error invalid(std::string msg) { return Error{k_invalid_request, std::move(msg)}; }

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Reads an id member. Returns false with `why` set if it is present but not string or integer.
bool read_id(element el, Id& id, std::string& why) {
  switch (el.type()) {
  case element_type::STRING:
    id.type = Id::Type::string;
    id.string = std::string(el.get_string().value_unsafe());
    return true;
  case element_type::INT64:
    id.type = Id::Type::integer;
    id.integer = el.get_int64().value_unsafe();
    return true;
  case element_type::NULL_VALUE: id.type = Id::Type::null; return true;
  case element_type::UINT64: why = "id does not fit a signed 64-bit integer"; return false;
  case element_type::DOUBLE: why = "id is a number with a fraction or exponent"; return false;
  default: why = "id must be a string or an integer"; return false;
  }
}

// The 2026-07-28 revision carries the protocol version in params._meta; accept the documented
// key and its reverse-DNS-prefixed spelling.
std::string meta_protocol_version(element params) {
  element meta;
  if (params.type() != element_type::OBJECT || params["_meta"].get(meta) ||
      meta.type() != element_type::OBJECT)
    return {};
  simdjson::dom::object meta_obj;
  if (meta.get_object().get(meta_obj)) return {};
  for (auto field : meta_obj) {
    std::string_view k = field.key;
    if ((k == "protocolVersion" || k == "io.modelcontextprotocol/protocolVersion" ||
         k == "modelcontextprotocol.io/protocolVersion") &&
        field.value.is_string())
      return std::string(field.value.get_string().value_unsafe());
  }
  return {};
}

// For a line the parser refused (bad UTF-8, a lone surrogate, too deep): find the top-level "id"
// by a plain scan, so the error can be addressed to the request and the client does not wait
// forever. Only an unambiguous integer or escape-free ASCII string id is taken; this decides
// nothing but where the refusal goes.
Id recover_id(std::string_view s) {
  Id none;
  none.type = Id::Type::null;
  int depth = 0;
  bool in_string = false;
  size_t string_start = 0;
  std::optional<Id> found;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') {
        in_string = false;
        std::string_view key = s.substr(string_start, i - string_start);
        if (depth != 1 || key != "id") continue;
        size_t j = i + 1;
        while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n')) ++j;
        if (j >= s.size() || s[j] != ':') continue;
        ++j;
        while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n')) ++j;
        Id id;
        if (j < s.size() && s[j] == '"') {
          size_t end = s.find('"', j + 1);
          if (end == std::string_view::npos) return none;
          std::string_view v = s.substr(j + 1, end - j - 1);
          if (std::any_of(v.begin(), v.end(), [](char ch) {
                auto u = static_cast<unsigned char>(ch);
                return ch == '\\' || u < 0x20 || u >= 0x80;
              }))
            return none;
          id.type = Id::Type::string;
          id.string = std::string(v);
        } else {
          size_t k = j;
          if (k < s.size() && s[k] == '-') ++k;
          size_t digits = k;
          while (k < s.size() && s[k] >= '0' && s[k] <= '9') ++k;
          if (k == digits || k - digits > 18 || (k < s.size() && (s[k] == '.' || s[k] == 'e' || s[k] == 'E')))
            return none;
          id.type = Id::Type::integer;
          id.integer = std::stoll(std::string(s.substr(j, k - j)));
        }
        if (found) return none;  // two ids: ambiguous
        found = id;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      string_start = i + 1;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return found.value_or(none);
}

}  // namespace

Decoder::Decoder(Limits limits) : m_limits(limits) {
  // Capacity grows on demand up to the message limit; depth is fixed here.
  if (m_parser.allocate(64 * 1024, m_limits.max_depth) != simdjson::SUCCESS) std::abort();
  // (The size limit is checked before parsing: simdjson 3.0's set_max_capacity is unusable.)
}

Decoder::~Decoder() = default;

Result<Decoded> Decoder::decode(std::string_view line, bool padded) {
  m_failed_id = Id{};
  m_failed_id.type = Id::Type::null;
  if (line.size() > m_limits.max_message_bytes) {
    return invalid(fmt::format("message of {} bytes exceeds the limit of {} bytes "
                               "(raise it with --max-message-bytes)",
                               line.size(), m_limits.max_message_bytes));
  }
  element root;
  auto err = m_parser.parse(line.data(), line.size(), !padded).get(root);
  if (err) {
    m_failed_id = recover_id(line);
    switch (err) {
    case simdjson::DEPTH_ERROR:
      return invalid(fmt::format("JSON nested deeper than the limit of {}", m_limits.max_depth));
    case simdjson::UTF8_ERROR: return Error{k_parse_error, "message is not valid UTF-8"};
    case simdjson::STRING_ERROR:
      return Error{k_parse_error, "invalid string (bad escape or lone surrogate)"};
    case simdjson::NUMBER_ERROR:
      return Error{k_parse_error, "number out of range (numbers must fit 64 bits)"};
    default:
      return Error{k_parse_error, fmt::format("invalid JSON: {}", simdjson::error_message(err))};
    }
  }
  // Read the id first so that even a refused request gets its error under its own id.
  if (root.type() == element_type::OBJECT) {
    element id_el;
    Id id;
    std::string why;
    if (!root["id"].get(id_el) && read_id(id_el, id, why)) m_failed_id = id;
  }
  std::string dup;
  if (find_duplicate_key(root, dup)) {
    return invalid(fmt::format("duplicate key \"{}\" (refused: peers could read it differently)",
                               dup));
  }
  Decoded out;
  if (root.type() == element_type::ARRAY) {
    simdjson::dom::array arr;
    if (root.get_array().get(arr)) return invalid("unreadable batch");
    if (arr.size() == 0) return invalid("empty batch");
    out.is_batch = true;
    m_member_raw.clear();
    m_member_raw.reserve(arr.size());
    for (auto member : arr) m_member_raw.push_back(simdjson::minify(member));
    size_t i = 0;
    for (auto member : arr) {
      auto msg = check_message(member, m_member_raw[i++]);
      if (!msg) return msg.error();
      out.messages.push_back(std::move(*msg));
    }
    return out;
  }
  auto msg = check_message(root, line);
  if (!msg) return msg.error();
  out.messages.push_back(std::move(*msg));
  return out;
}

Result<Message> Decoder::check_message(element el, std::string_view raw) {
  if (el.type() != element_type::OBJECT) return invalid("a JSON-RPC message must be an object");
  Message m;
  m.raw = raw;
  m.root = el;
  std::string_view version;
  if (el["jsonrpc"].get(version) || version != "2.0")
    return invalid("\"jsonrpc\" must be \"2.0\"");

  element id_el;
  bool has_id = !el["id"].get(id_el);
  if (has_id) {
    std::string why;
    if (!read_id(id_el, m.id, why)) return invalid(why);
  }
  element method_el;
  bool has_method = !el["method"].get(method_el);
  m.has_params = !el["params"].get(m.params);
  m.has_result = !el["result"].get(m.result);
  m.has_error = !el["error"].get(m.error);

  if (has_method) {
    if (!method_el.is_string()) return invalid("\"method\" must be a string");
    m.method = std::string(method_el.get_string().value_unsafe());
    if (m.method.empty() || has_control_char(m.method))
      return invalid("\"method\" is empty or contains control characters");
    if (m.has_result || m.has_error) return invalid("a request cannot carry result or error");
    if (has_id && m.id.type == Id::Type::null) return invalid("a request id must not be null");
    m.kind = has_id ? Kind::request : Kind::notification;
    if (m.has_params && !m.params.is_object() && !m.params.is_array())
      return invalid("\"params\" must be an object or an array");
  } else {
    if (!has_id) return invalid("message has neither \"method\" nor \"id\"");
    if (m.has_result == m.has_error)
      return invalid("a response must carry exactly one of \"result\" and \"error\"");
    if (m.has_params) return invalid("a response cannot carry params");
    if (m.has_error) {
      int64_t code = 0;
      std::string_view message;
      if (!m.error.is_object() || m.error["code"].get(code) || m.error["message"].get(message))
        return invalid("\"error\" must be an object with an integer code and a string message");
      m.kind = Kind::error_response;
    } else {
      if (m.id.type == Id::Type::null) return invalid("a result response must have an id");
      m.kind = Kind::response;
    }
  }

  // What policy rules are keyed on, unescaped.
  if (m.kind == Kind::request || m.kind == Kind::notification) {
    const char* target_key = nullptr;
    if (m.method == "tools/call" || m.method == "prompts/get") target_key = "name";
    else if (m.method == "resources/read" || m.method == "resources/subscribe" ||
             m.method == "resources/unsubscribe")
      target_key = "uri";
    if (target_key) {
      std::string_view target;
      if (!m.has_params || !m.params.is_object() || m.params[target_key].get(target))
        return Error{k_invalid_params, fmt::format("{} needs a string params.{}", m.method,
                                                   target_key)};
      if (target.empty() || has_control_char(target))
        return Error{k_invalid_params,
                     fmt::format("params.{} is empty or contains control characters", target_key)};
      m.target = std::string(target);
    }
    if (m.method == "initialize" && m.has_params && m.params.is_object()) {
      std::string_view pv;
      if (!m.params["protocolVersion"].get(pv)) m.protocol_version = std::string(pv);
    }
    if (m.protocol_version.empty() && m.has_params) m.protocol_version = meta_protocol_version(m.params);
  } else if (m.kind == Kind::response && m.result.is_object()) {
    std::string_view pv;
    if (!m.result["protocolVersion"].get(pv)) m.protocol_version = std::string(pv);
    else m.protocol_version = meta_protocol_version(m.result);  // 2026-07-28 result `_meta`
  }
  return m;
}

Era era_of(std::string_view v) {
  if (v.size() != 10) return Era::unknown;
  return v >= "2026-07-28" ? Era::sessionless : Era::sessioned;
}

bool batches_allowed(std::string_view v) { return v == "2025-03-26"; }

std::string make_error_response(const Id& id, int code, std::string_view message,
                                std::string_view data_json) {
  std::string out;
  out.reserve(96 + message.size() + data_json.size());
  util::JsonWriter w(out);
  w.begin_object();
  w.key("jsonrpc").string("2.0");
  w.key("id").raw(id.to_json());
  w.key("error").begin_object();
  w.key("code").integer(code);
  w.key("message").string(message);
  if (!data_json.empty()) w.key("data").raw(data_json);
  w.end_object();
  w.end_object();
  return out;
}

std::string serialize(element el) { return simdjson::minify(el); }

}  // namespace warden::codec
