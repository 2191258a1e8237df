// `scan --connect`: each stdio server of the scanned client configs is started in the warden's
// sandbox (network none: loopback only; the default file rules; config env with secret-like
// values replaced by a placeholder), spoken to as an MCP client (initialize, initialized, then
// tools/list, prompts/list, resources/list and resources/templates/list for the capabilities it
// declares, following nextCursor), and stopped. What it lists, and its initialize
// `instructions`, go through the tool-metadata detectors; the tools of every server connected in
// the same scan go through cross-server shadowing. A server that does not start, exits or does
// not answer in time is a warning and the scan goes on.
#pragma once

#include <string>
#include <vector>

#include "warden/supply/clients.h"
#include "warden/supply/scan.h"
#include "warden/util/result.h"

namespace warden::supply {

struct ConnectOptions {
  int timeout_ms = 10000;  // for each answer
  std::string state_dir;   // the warden's state (hidden from the server); default: default_state_dir()
};

// What one server said about itself.
struct ServerListing {
  std::string server_name, server_version;  // initialize serverInfo
  // {"tools":[...],"prompts":[...],"resources":[...],"resourceTemplates":[...],"instructions":"..."}
  // in the shape MetadataScanner::scan_json takes.
  std::string document;
  size_t tools = 0, prompts = 0, resources = 0, templates = 0;
  std::vector<std::string> notes;  // sandbox weaknesses, lists the server refused
};

// Starts `command` in the sandbox, lists everything, stops it. An error says what went wrong
// ("did not answer initialize within 10000 ms; its last output: ...").
Result<ServerListing> list_server(const std::string& name, const std::vector<std::string>& command,
                                  const std::vector<ConfigEnv>& env, const ConnectOptions& options);

// One distinct server that answered, and the first config entry that starts it.
struct ConnectedServer {
  const ScanServer* entry = nullptr;
  std::string display;  // its name, or config:name when two different servers share a name
  ServerListing listing;
};

// The metadata detectors' findings on each listing (rule ids as in check-tools: instruction.*,
// unicode.*, ...), and cross-server shadowing (shadow.duplicate_name, shadow.confusable_name,
// shadow.cross_reference) across all of them, at each server's config entry.
Status connect_findings(const std::vector<ConnectedServer>& servers, std::vector<ScanFinding>& out);

// --connect over every server of the report: the same command line with the same env is started
// once (a server configured in two clients is one server); the entries get their Connect summary,
// failures become warnings, findings are added.
void connect_servers(ScanReport& r, const ConnectOptions& options);

// The value --connect gives an env entry of the config: secret-like values become a placeholder.
std::string connect_env_value(const ConfigEnv& e);

}  // namespace warden::supply
