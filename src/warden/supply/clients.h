// The MCP servers of a client config, read from any of the three formats clients use, with the
// byte ranges `wrap` edits in place:
//  - JSON/JSONC: mcpServers, servers, mcp.servers (VS Code settings), projects.*.mcpServers
//    (Claude Code) and context_servers (Zed, whose command may be {"path", "args", "env"});
//  - YAML: Continue's `mcpServers` list (~/.continue/config.yaml, .continue/mcpServers/*.yaml);
//  - TOML: Codex's [mcp_servers.NAME] tables (~/.codex/config.toml).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warden/util/result.h"

namespace warden::supply {

enum class ConfigFormat { json, yaml, toml };
// By extension: .yaml/.yml -> yaml, .toml -> toml, anything else json.
ConfigFormat config_format_for(std::string_view path);

struct ConfigEnv {
  std::string key, value;
  int line = 0;
};

struct ConfigServer {
  std::string name;
  int line = 0;             // where the server's entry starts
  std::string command;      // empty for a remote (url) server
  std::vector<std::string> args;
  std::vector<ConfigEnv> env;
  // For wrap: the bytes of the command value, and of the args value (args_begin == npos when
  // the entry has none; then `args_insert` + the new array go right after the command value).
  size_t command_begin = 0, command_end = 0;
  size_t args_begin = std::string::npos, args_end = std::string::npos;
  std::string args_insert;
  std::vector<std::string> arg_texts;  // each arg as it may be written back into the new array
  std::string problem;                 // why this entry cannot be wrapped (empty when it can)
};

// Every server entry of a config (remote ones included, with an empty command). A config that does
// not parse is an error with line and column.
Result<std::vector<ConfigServer>> read_config_servers(ConfigFormat format, std::string_view text);

// Whether the text names MCP servers at all (a cheap test before parsing a file found by name).
bool mentions_servers(std::string_view text);

}  // namespace warden::supply
