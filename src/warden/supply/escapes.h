// Sandbox and host escapes in the way a client config starts a server: a container run with
// the host's privileges, network, namespaces or file system; a server started as root; a warden
// wrapper that only records; a policy entry whose sandbox opens the host network or lets the
// server write to / or the home directory. Pure functions over argv and a loaded policy, so
// `scan` and the tests call them alike. Rules and severities: docs/supply.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warden/core/verdict.h"
#include "warden/policy/model.h"

namespace warden::supply {

struct EscapeFinding {
  std::string rule;  // supply.scan.privileged_container, supply.scan.host_network, ...
  core::Severity severity;
  std::string message;  // what, and what to do
};

// The options `mcp-warden run` was given in a wrapped entry (the words before `--`).
struct WardenRunArgs {
  std::string policy, server, mode;
};
WardenRunArgs warden_run_args(const std::vector<std::string>& argv);

// The server's own command line (already looked through `mcp-warden run`): `sudo`/`doas`/
// `pkexec`/`su` in front, and `docker|podman|nerdctl run` options before the image.
std::vector<EscapeFinding> command_escapes(const std::vector<std::string>& argv);

// A wrapper's options: `--mode monitor`.
std::vector<EscapeFinding> wrapper_escapes(const WardenRunArgs& run);

// A policy's mode and one of its server entries' sandbox. `home` expands `~` in fs paths.
std::vector<EscapeFinding> policy_escapes(const policy::Policy& pol, const policy::ServerPolicy& server,
                                          std::string_view home);

}  // namespace warden::supply
