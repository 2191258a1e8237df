// `mcp-warden __sandbox-init`: runs in the child between launch() and the server's exec.
// See sandbox.h for the sequence. Everything here happens in a fresh single-threaded process, so
// ordinary library calls are safe. Messages to the parent go over fd 3 (the control socket):
// one datagram of text lines plus the listener descriptors, then, if exec fails, one `error` line.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <string_view>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "warden/sandbox/sandbox.h"

namespace warden::sandbox {

namespace {

constexpr int k_control_fd = 3;

struct InitArgs {
  Network network = Network::transparent;
  std::vector<uint16_t> ports;
  bool filesystem = false, read_everywhere = false;
  std::vector<std::string> read, write, deny, env, unset;
  std::vector<std::pair<std::string, std::string>> binds;
  long memory_mb = 0, processes = 0, open_files = 0;
  std::vector<std::string> command;
};

struct Report {
  std::string text;  // "net MODE", "ok ITEM", "warn TEXT", "listen NAME" lines
  std::vector<int> fds;
  void line(std::string_view kind, std::string_view value) {
    text += kind;
    text += ' ';
    for (char c : value) text += c == '\n' ? ' ' : c;
    text += '\n';
  }
};

bool send_report(const Report& r) {
  iovec iov{const_cast<char*>(r.text.data()), r.text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * (r.fds.empty() ? 1 : r.fds.size())));
  if (!r.fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * r.fds.size());
    std::memcpy(CMSG_DATA(c), r.fds.data(), sizeof(int) * r.fds.size());
  }
  return ::sendmsg(k_control_fd, &msg, MSG_NOSIGNAL) >= 0;
}

[[noreturn]] void fail(const std::string& why) {
  Report r;
  r.line("error", why);
  (void)send_report(r);
  _exit(127);
}

bool write_file(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

bool loopback_up() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  ok = ok && ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  ::close(s);
  return ok;
}

// A listener bound to ADDR:PORT (port 0: any). Returns -1 with errno set.
int open_listener(int type, const char* addr, uint16_t port) {
  int s = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, addr, &sa.sin_addr);
  if (::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      (type == SOCK_STREAM && ::listen(s, 256) != 0)) {
    int e = errno;
    ::close(s);
    errno = e;
    return -1;
  }
  return s;
}

uint16_t bound_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

// ---- Landlock -------------------------------------------------------------------------------

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

int landlock_abi() {
  long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : static_cast<int>(v);
}

// Restricts this process (and the server it becomes) to the rules. Returns "" or why not.
std::string apply_landlock(int abi, const std::vector<std::pair<std::string, uint64_t>>& rules,
                           Report& report) {
  uint64_t handled = (1ULL << 13) - 1;  // ABI 1: execute .. make_sym
  if (abi >= 2) handled |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
  const uint64_t file_rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                               LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = handled;
  int rs = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
  if (rs < 0) return fmt::format("landlock_create_ruleset: {}", std::strerror(errno));
  for (const auto& [path, access] : rules) {
    int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) continue;  // an allowed path that does not exist allows nothing
    struct stat st {};
    ::fstat(fd, &st);
    landlock_path_beneath_attr pb{};
    pb.allowed_access = access & handled & (S_ISDIR(st.st_mode) ? ~0ULL : file_rights);
    pb.parent_fd = fd;
    if (::syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
      report.line("warn", fmt::format("landlock rule for {} not added: {}", path, std::strerror(errno)));
    ::close(fd);
  }
  if (::syscall(SYS_landlock_restrict_self, rs, 0) != 0) {
    int e = errno;
    ::close(rs);
    return fmt::format("landlock_restrict_self: {}", std::strerror(e));
  }
  ::close(rs);
  return "";
}

InitArgs parse(const std::vector<std::string>& a) {
  InitArgs o;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& k = a[i];
    auto next = [&]() -> const std::string& {
      if (i + 1 >= a.size()) fail("__sandbox-init: missing value after " + k);
      return a[++i];
    };
    if (k == "--") {
      o.command.assign(a.begin() + static_cast<long>(i) + 1, a.end());
      break;
    } else if (k == "--net") {
      const std::string& v = next();
      o.network = v == "proxy-env" ? Network::proxy_env
                  : v == "none"    ? Network::none
                  : v == "host"    ? Network::host
                                   : Network::transparent;
    } else if (k == "--port") {
      o.ports.push_back(static_cast<uint16_t>(std::stoul(next())));
    } else if (k == "--fs") {
      o.filesystem = true;
    } else if (k == "--read-everywhere") {
      o.read_everywhere = true;
    } else if (k == "--read") {
      o.read.push_back(next());
    } else if (k == "--write") {
      o.write.push_back(next());
    } else if (k == "--deny") {
      o.deny.push_back(next());
    } else if (k == "--env") {
      o.env.push_back(next());
    } else if (k == "--unset") {
      o.unset.push_back(next());
    } else if (k == "--bind") {
      std::string src = next();
      o.binds.emplace_back(src, next());
    } else if (k == "--memory-mb") {
      o.memory_mb = std::stol(next());
    } else if (k == "--processes") {
      o.processes = std::stol(next());
    } else if (k == "--open-files") {
      o.open_files = std::stol(next());
    } else {
      fail("__sandbox-init: unknown argument " + k);
    }
  }
  if (o.command.empty()) fail("__sandbox-init: no command");
  return o;
}

void set_limit(int resource, rlim_t value, const char* name, Report& report) {
  rlimit rl{value, value};
  if (::setrlimit(resource, &rl) == 0)
    report.line("ok", fmt::format("rlimit {}={}", name, value));
  else
    report.line("warn", fmt::format("rlimit {} not set: {}", name, std::strerror(errno)));
}

}  // namespace

int init_main(const std::vector<std::string>& args) {
  ::fcntl(k_control_fd, F_SETFD, FD_CLOEXEC);  // posix_spawn's dup2 cleared it
  InitArgs o = parse(args);
  Report report;
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();

  // 1. Namespaces. host: user + mount only (for the bind mounts); otherwise user + mount + net.
  bool userns = false, netns = false;
  int flags = CLONE_NEWUSER | CLONE_NEWNS | (o.network == Network::host ? 0 : CLONE_NEWNET);
  // MCP_WARDEN_TEST_NO_USERNS=1 simulates a kernel without unprivileged user namespaces (tests).
  const char* simulate = std::getenv("MCP_WARDEN_TEST_NO_USERNS");
  bool unshared = simulate && std::string_view(simulate) == "1" ? (errno = EPERM, false) : ::unshare(flags) == 0;
  if (unshared) {
    userns = true;
    netns = (flags & CLONE_NEWNET) != 0;
    (void)write_file("/proc/self/setgroups", "deny");
    if (!write_file("/proc/self/uid_map", fmt::format("{} {} 1\n", uid, uid)) ||
        !write_file("/proc/self/gid_map", fmt::format("{} {} 1\n", gid, gid)))
      fail(fmt::format("cannot write the user namespace id maps: {}", std::strerror(errno)));
    report.line("ok", "user namespace");
    report.line("ok", "mount namespace");
    if (netns) report.line("ok", "network namespace (loopback only)");
  } else if (o.network != Network::host) {
    report.line("warn", fmt::format(
        "user namespaces are unavailable ({}): the server is NOT network-isolated; egress goes "
        "through the proxy only if the server honours HTTP(S)_PROXY (advisory proxy-env mode)",
        std::strerror(errno)));
    o.network = Network::proxy_env;
  }

  // 2. Network: loopback up and the listeners, inside the namespace when there is one.
  if (netns && !loopback_up()) fail(fmt::format("cannot bring up loopback: {}", std::strerror(errno)));
  auto add_listener = [&](const std::string& name, int fd) {
    if (fd < 0) {
      report.line("warn", fmt::format("listener {} not opened: {}", name, std::strerror(errno)));
      return;
    }
    report.line("listen", name);
    report.fds.push_back(fd);
  };
  uint16_t proxy_port = k_proxy_port;
  if (o.network == Network::transparent && netns) {
    add_listener("dns-udp", open_listener(SOCK_DGRAM, "0.0.0.0", 53));
    add_listener("dns-tcp", open_listener(SOCK_STREAM, "0.0.0.0", 53));
    for (uint16_t p : o.ports)
      if (p != proxy_port && p != 53)
        add_listener(fmt::format("tcp:{}", p), open_listener(SOCK_STREAM, "0.0.0.0", p));
  }
  if (o.network == Network::transparent || o.network == Network::proxy_env) {
    // Without a network namespace the proxy listens on the host's loopback, on a free port.
    int fd = open_listener(SOCK_STREAM, "127.0.0.1", netns ? proxy_port : 0);
    if (fd >= 0) proxy_port = bound_port(fd);
    add_listener("proxy", fd);
    std::string url = fmt::format("http://127.0.0.1:{}", proxy_port);
    for (const char* name : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"})
      ::setenv(name, url.c_str(), 1);
    ::setenv("NO_PROXY", "", 1);
    ::setenv("no_proxy", "", 1);
  }
  report.line("net", network_name(o.network));

  // 3. Mounts: resolv.conf and the CA bundle, in the private mount namespace.
  if (userns) {
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      report.line("warn", fmt::format("cannot make mounts private: {}", std::strerror(errno)));
    for (const auto& [src, dst] : o.binds) {
      if (::access(dst.c_str(), F_OK) != 0) continue;
      if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) == 0)
        report.line("ok", fmt::format("bind {} -> {}", src, dst));
      else
        report.line("warn", fmt::format("cannot bind {} over {}: {}", src, dst, std::strerror(errno)));
    }
  } else if (!o.binds.empty()) {
    report.line("warn", "no mount namespace: resolv.conf and the CA bundle are not replaced "
                        "(the CA reaches the server through NODE_EXTRA_CA_CERTS/SSL_CERT_FILE only)");
  }

  // 4. Environment and limits.
  for (const auto& name : o.unset) ::unsetenv(name.c_str());
  for (const auto& kv : o.env) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) ::setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
  }
  if (o.memory_mb > 0) set_limit(RLIMIT_DATA, static_cast<rlim_t>(o.memory_mb) << 20, "data", report);
  if (o.processes > 0) set_limit(RLIMIT_NPROC, static_cast<rlim_t>(o.processes), "nproc", report);
  if (o.open_files > 0) set_limit(RLIMIT_NOFILE, static_cast<rlim_t>(o.open_files), "nofile", report);
  set_limit(RLIMIT_CORE, 0, "core", report);

  // 5. no_new_privs and Landlock.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) report.line("ok", "no_new_privs");
  else report.line("warn", fmt::format("no_new_privs not set: {}", std::strerror(errno)));
  if (o.filesystem) {
    int abi = landlock_abi();
    if (abi <= 0) {
      report.line("warn", "Landlock is unavailable on this kernel: NO filesystem restrictions "
                          "(~/.ssh, ~/.aws and the rest stay readable by the server)");
    } else {
      const uint64_t rd = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
                          LANDLOCK_ACCESS_FS_READ_DIR;
      std::vector<std::pair<std::string, uint64_t>> rules;
      std::vector<std::string> readable =
          o.read_everywhere ? read_everywhere_except("/", o.deny) : o.read;
      for (const auto& p : readable) rules.emplace_back(p, rd);
      for (const auto& p : o.write) rules.emplace_back(p, ~0ULL);
      std::string err = apply_landlock(abi, rules, report);
      if (err.empty())
        report.line("ok", fmt::format("landlock abi {} ({} read rules, {} write rules)", abi,
                                      readable.size(), o.write.size()));
      else
        report.line("warn", "Landlock failed, NO filesystem restrictions: " + err);
    }
  }

  // 6. Report, then become the server. The control socket is close-on-exec: a successful exec
  // shows as EOF to the parent.
  if (!send_report(report)) _exit(127);
  std::vector<char*> argv;
  for (auto& a : o.command) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  fail(fmt::format("cannot start {}: {}", o.command[0], std::strerror(errno)));
}

}  // namespace warden::sandbox
