#include "warden/supply/wrap.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "warden/supply/jsonc.h"
#include "warden/util/json_writer.h"

namespace warden::supply {

const std::vector<ClientInfo>& known_clients() {
  static const std::vector<ClientInfo> k{
      {"claude-desktop", ".config/Claude/claude_desktop_config.json"},
      {"claude-code", ".claude.json"},
      {"cursor", ".cursor/mcp.json"},
      {"vscode", ".config/Code/User/mcp.json"},
      {"windsurf", ".codeium/windsurf/mcp_config.json"},
      {"gemini", ".gemini/settings.json"},
      {"cline", ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"},
  };
  return k;
}

const ClientInfo* find_client(std::string_view name) {
  for (const auto& c : known_clients())
    if (c.name == name) return &c;
  return nullptr;
}

std::string backup_path_for(const std::string& config_path) { return config_path + ".mcp-warden-backup"; }

namespace {

struct Edit {
  size_t begin, end;
  std::string text;
};

std::string json_str(std::string_view s) {
  std::string out;
  util::append_json_string(out, s);
  return out;
}

}  // namespace

void collect_server_maps(const JsoncValue& root, std::vector<const JsoncValue*>& out) {
  for (const char* key : {"mcpServers", "servers", "context_servers"})
    if (const auto* m = root.get(key); m && m->type == JsoncValue::Type::object) out.push_back(m);
  if (const auto* mcp = root.get("mcp"); mcp && mcp->type == JsoncValue::Type::object)
    if (const auto* m = mcp->get("servers"); m && m->type == JsoncValue::Type::object) out.push_back(m);
  if (const auto* projects = root.get("projects"); projects && projects->type == JsoncValue::Type::object)
    for (const auto& [name, p] : projects->members)
      if (p->type == JsoncValue::Type::object)
        if (const auto* m = p->get("mcpServers"); m && m->type == JsoncValue::Type::object) out.push_back(m);
}

Result<WrapOutcome> wrap_config(std::string_view text, const std::string& warden_path,
                                const std::string& policy_path) {
  auto root = parse_jsonc(text);
  if (!root) return Error{2, "not valid JSON/JSONC: " + root.error().message};
  if ((*root)->type != JsoncValue::Type::object) return Error{2, "the config is not a JSON object"};
  std::vector<const JsoncValue*> maps;
  collect_server_maps(**root, maps);
  WrapOutcome out;
  std::vector<Edit> edits;
  for (const auto* map : maps) {
    for (const auto& [name, server] : map->members) {
      if (server->type != JsoncValue::Type::object) continue;
      const auto* command = server->get("command");
      if (!command || command->type != JsoncValue::Type::string) {
        ++out.skipped;
        out.notes.push_back(fmt::format("{}: skipped (no command: a remote server)", name));
        continue;
      }
      std::string cmd_base = std::filesystem::path(command->string).filename().string();
      if (cmd_base == "mcp-warden") {
        ++out.already;
        out.notes.push_back(fmt::format("{}: already under mcp-warden", name));
        continue;
      }
      const auto* args = server->get("args");
      if (args && args->type != JsoncValue::Type::array) {
        ++out.skipped;
        out.notes.push_back(fmt::format("{}: skipped (args is not an array)", name));
        continue;
      }
      std::string new_args = "[\"run\"";
      if (!policy_path.empty()) new_args += ", \"--policy\", " + json_str(policy_path);
      new_args += ", \"--server\", " + json_str(name) + ", \"--\", " + json_str(command->string);
      if (args)
        for (const auto& item : args->items) new_args += ", " + std::string(text.substr(item->begin, item->end - item->begin));
      new_args += "]";
      edits.push_back({command->begin, command->end, json_str(warden_path)});
      if (args) edits.push_back({args->begin, args->end, new_args});
      else edits.push_back({command->end, command->end, ", \"args\": " + new_args});
      ++out.wrapped;
      out.notes.push_back(fmt::format("{}: wrapped ({} now runs under mcp-warden run)", name, command->string));
    }
  }
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin > b.begin; });
  out.text = std::string(text);
  for (const auto& e : edits) out.text.replace(e.begin, e.end - e.begin, e.text);
  return out;
}

}  // namespace warden::supply
