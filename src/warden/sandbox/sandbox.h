// The sandbox for a server process, without root (DESIGN.md section 2).
//
// launch() starts `mcp-warden __sandbox-init ... -- CMD` as the child. That init process unshares
// user, mount and network namespaces, brings up loopback (the only interface inside), opens the
// egress listeners inside the namespace (DNS on 127.0.0.1:53 UDP and TCP, TCP on 80, 443 and the
// policy's ports, an HTTP proxy port), hands their descriptors to the parent over a Unix socket
// (SCM_RIGHTS), bind-mounts resolv.conf and the CA bundle, sets rlimits, no_new_privs and the
// Landlock filesystem rules, and execs the server. The parent serves the listeners from the host
// namespace (egress/guard.h) and is the only way out.
//
// What could not be set up is never claimed: `Launched::achieved` lists what is in force and
// `warnings` says, loudly, what is weaker than asked (no user namespaces -> proxy-env, advisory;
// no Landlock -> no filesystem rules).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "warden/transport/child_process.h"
#include "warden/util/fd.h"
#include "warden/util/result.h"

namespace warden::sandbox {

enum class Network { transparent, proxy_env, none, host };
const char* network_name(Network n);

inline constexpr uint16_t k_proxy_port = 3128;  // inside the namespace

struct Spec {
  Network network = Network::transparent;
  std::vector<uint16_t> tcp_ports{80, 443};  // transparent listeners (plus the policy's ports)
  // Filesystem (Landlock). `read_everywhere`: everything readable except `deny` (the default when
  // the policy has no fs.read); otherwise only `read` (plus the system directories the command
  // needs). Writes only to `write`.
  bool filesystem = true;
  bool read_everywhere = true;
  std::vector<std::string> read, write, deny;
  std::vector<std::pair<std::string, std::string>> binds;  // host file -> path inside (mount ns)
  std::optional<uint64_t> memory_mb, processes, open_files;
  std::vector<std::string> env;    // NAME=VALUE for the server (proxy variables are added here)
  std::vector<std::string> unset;  // names removed from the inherited environment (real secrets)
  std::string init_binary;       // the mcp-warden binary that runs __sandbox-init (default: this one)
};

struct Listener {
  std::string name;  // "dns-udp", "dns-tcp", "proxy", "tcp:443"; "proxy" on the host in fallback
  util::UniqueFd fd;
};

struct Launched {
  std::unique_ptr<transport::ChildProcess> child;
  std::vector<Listener> listeners;
  Network network = Network::transparent;  // what is in force (may be weaker than asked)
  std::vector<std::string> achieved;       // "user namespace", "network namespace", "landlock abi 7"...
  std::vector<std::string> warnings;       // what is weaker than asked, one line each
  int64_t startup_us = 0;                  // from launch() to the server's exec
};

// Starts the sandboxed server. Fails (with a reason) only when the server cannot be started at
// all; weaker protection is reported in `warnings`.
Result<Launched> launch(const Spec& spec, const std::vector<std::string>& command);

// The secrets the default filesystem rule hides under `home` (~/.ssh, ~/.aws, ...), plus `extra`.
std::vector<std::string> default_denied_paths(const std::string& home,
                                              const std::vector<std::string>& extra = {});

// Landlock "read everywhere except": the smallest set of paths under `root` whose union is
// everything except `deny` (each denied path's siblings, recursively up to `root`).
std::vector<std::string> read_everywhere_except(const std::string& root,
                                                const std::vector<std::string>& deny);

// The hidden `__sandbox-init` entry point (argv after the subcommand word).
int init_main(const std::vector<std::string>& args);

}  // namespace warden::sandbox
