#include "warden/supply/wrap.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "warden/util/json_writer.h"

namespace warden::supply {

std::vector<std::string> ClientInfo::paths() const {
  std::vector<std::string> out{config_path};
  out.insert(out.end(), other_paths.begin(), other_paths.end());
  return out;
}

const std::vector<ClientInfo>& known_clients() {
  static const std::string k_mac = "Library/Application Support/";
  static const std::string k_win = "AppData/Roaming/";
  static const std::string k_cline = "Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json";
  static const std::vector<ClientInfo> k{
      {"claude-desktop", ".config/Claude/claude_desktop_config.json",
       {k_mac + "Claude/claude_desktop_config.json", k_win + "Claude/claude_desktop_config.json"}},
      {"claude-code", ".claude.json", {}},
      {"cursor", ".cursor/mcp.json", {}},
      {"vscode", ".config/Code/User/mcp.json", {k_mac + "Code/User/mcp.json", k_win + "Code/User/mcp.json"}},
      {"windsurf", ".codeium/windsurf/mcp_config.json", {}},
      {"gemini", ".gemini/settings.json", {}},
      {"cline", ".config/" + k_cline, {k_mac + k_cline, k_win + k_cline}},
      {"zed", ".config/zed/settings.json", {k_win + "Zed/settings.json"}},  // macOS uses ~/.config/zed too
      {"continue", ".continue/config.yaml", {}},
      {"codex", ".codex/config.toml", {}},
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

Result<WrapOutcome> wrap_config(ConfigFormat format, std::string_view text, const std::string& warden_path,
                                const std::string& policy_path) {
  auto servers = read_config_servers(format, text);
  if (!servers) return servers.error();
  WrapOutcome out;
  std::vector<Edit> edits;
  for (const auto& s : *servers) {
    if (s.command.empty()) {
      ++out.skipped;
      out.notes.push_back(fmt::format("{}: skipped (no command: a remote server)", s.name));
      continue;
    }
    if (std::filesystem::path(s.command).filename() == "mcp-warden") {
      ++out.already;
      out.notes.push_back(fmt::format("{}: already under mcp-warden", s.name));
      continue;
    }
    if (!s.problem.empty()) {
      ++out.skipped;
      out.notes.push_back(fmt::format("{}: skipped ({})", s.name, s.problem));
      continue;
    }
    // Strings are written in JSON syntax, which JSON, YAML flow sequences and TOML basic strings
    // all read the same way.
    std::string new_args = "[\"run\"";
    if (!policy_path.empty()) new_args += ", \"--policy\", " + json_str(policy_path);
    new_args += ", \"--server\", " + json_str(s.name) + ", \"--\", " + json_str(s.command);
    for (const auto& a : s.arg_texts) new_args += ", " + a;
    new_args += "]";
    edits.push_back({s.command_begin, s.command_end, json_str(warden_path)});
    if (s.args_begin != std::string::npos) edits.push_back({s.args_begin, s.args_end, new_args});
    else edits.push_back({s.command_end, s.command_end, s.args_insert + new_args});
    ++out.wrapped;
    out.notes.push_back(fmt::format("{}: wrapped ({} now runs under mcp-warden run)", s.name, s.command));
  }
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin > b.begin; });
  out.text = std::string(text);
  for (const auto& e : edits) out.text.replace(e.begin, e.end - e.begin, e.text);
  return out;
}

}  // namespace warden::supply
