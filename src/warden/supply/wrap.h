// `mcp-warden wrap --client NAME`: put every stdio server of a client's MCP config behind
// `mcp-warden run`, editing the file in place (comments, formatting and unknown keys kept), with
// a backup first; `unwrap` puts the backup back, byte for byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warden/supply/clients.h"
#include "warden/util/result.h"

namespace warden::supply {

struct ClientInfo {
  std::string name;         // claude-desktop, claude-code, cursor, vscode, windsurf, gemini, cline,
                            // zed, continue, codex
  std::string config_path;  // Linux default, relative to $HOME
  std::vector<std::string> other_paths;  // macOS and Windows defaults, relative to $HOME
  // Every default path, Linux first.
  std::vector<std::string> paths() const;
};
const std::vector<ClientInfo>& known_clients();
const ClientInfo* find_client(std::string_view name);

struct WrapOutcome {
  std::string text;  // the edited config
  int wrapped = 0, already = 0, skipped = 0;
  std::vector<std::string> notes;  // one line per server
};

// Edits a config's text (the servers of clients.h, in the given format). Servers already running
// mcp-warden are left alone (idempotent); remote (url) entries are skipped.
Result<WrapOutcome> wrap_config(ConfigFormat format, std::string_view text, const std::string& warden_path,
                                const std::string& policy_path);
inline Result<WrapOutcome> wrap_config(std::string_view text, const std::string& warden_path,
                                       const std::string& policy_path) {
  return wrap_config(ConfigFormat::json, text, warden_path, policy_path);
}

std::string backup_path_for(const std::string& config_path);  // PATH.mcp-warden-backup

}  // namespace warden::supply
