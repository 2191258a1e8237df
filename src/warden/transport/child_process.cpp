#include "warden/transport/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>

extern char** environ;

namespace warden::transport {

std::string ChildExit::describe() const {
  if (signal) {
    const char* abbrev = sigabbrev_np(signal);
    return fmt::format("was killed by signal {} (SIG{})", signal, abbrev ? abbrev : "?");
  }
  return fmt::format("exited with status {}", status);
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(const std::vector<std::string>& argv,
                                                          const std::vector<std::string>& extra_env,
                                                          int pass_fd) {
  if (argv.empty()) return Error{2, "no server command given (put it after --)"};
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
    return Error{2, fmt::format("cannot create pipes: {}", std::strerror(errno))};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  if (pass_fd >= 0) posix_spawn_file_actions_adddup2(&fa, pass_fd, 3);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigfillset(&defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);

  // Environment: inherited, with overrides.
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv;
  }
  for (const auto& kv : extra_env) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv;
  }
  std::vector<char*> envp;
  for (auto& [k, kv] : env) envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    return Error{2, fmt::format("cannot start server '{}': {}", argv[0], std::strerror(rc))};
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->m_pid = pid;
  child->m_stdin.reset(in[1]);
  child->m_stdout.reset(out[0]);
  child->m_stderr.reset(err[0]);
  for (int fd : {in[1], out[0], err[0]}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return child;
}

ChildProcess::~ChildProcess() {
  if (m_pid > 0 && !m_exit) {
    kill();
    int status = 0;
    waitpid(m_pid, &status, 0);
  }
}

void ChildProcess::terminate() {
  if (m_pid > 0 && !m_exit) ::kill(-m_pid, SIGTERM);
}

void ChildProcess::kill() {
  if (m_pid > 0 && !m_exit) ::kill(-m_pid, SIGKILL);
}

std::optional<ChildExit> ChildProcess::try_wait() {
  if (m_exit) return m_exit;
  int status = 0;
  pid_t r = waitpid(m_pid, &status, WNOHANG);
  if (r != m_pid) return std::nullopt;
  ChildExit e;
  if (WIFEXITED(status)) {
    e.status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    e.signal = WTERMSIG(status);
    e.status = 128 + e.signal;
  }
  m_exit = e;
  return m_exit;
}

}  // namespace warden::transport
