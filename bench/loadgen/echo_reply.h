// The echo MCP server's answers, shared by warden_echo_server (stdio) and warden_http_echo_server
// (Streamable HTTP) so that both baselines answer byte for byte the same.
#pragma once

#include <string>
#include <string_view>

#include <simdjson.h>

#include "warden/util/json_writer.h"

namespace warden::bench {

// Appends the result object for request `m` (method `method`): initialize, tools/list, tools/call
// `echo` (arguments.text back as text content); anything else gets {}.
inline void append_echo_result(std::string& out, std::string_view method, simdjson::dom::element m) {
  if (method == "initialize") {
    out += R"({"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"echo","version":"1"}})";
  } else if (method == "tools/list") {
    out += R"({"tools":[{"name":"echo","description":"Echo text","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}]})";
  } else if (method == "tools/call") {
    std::string_view text;
    if (m["params"]["arguments"]["text"].get(text) != simdjson::SUCCESS) text = "";
    out += R"({"content":[{"type":"text","text":)";
    util::append_json_string(out, text);
    out += "}]}";
  } else {
    out += "{}";
  }
}

}  // namespace warden::bench
