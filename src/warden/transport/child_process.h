// The upstream server as a child process, spawned without a shell, with its stdin, stdout and
// stderr on pipes. It runs in its own process group so that terminate() and kill() reach
// everything it started (npx -> node, sh -> python...).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warden/util/fd.h"
#include "warden/util/result.h"

namespace warden::transport {

struct ChildExit {
  int status = 0;       // exit status, or 128+signal
  int signal = 0;       // the signal that killed it, 0 if it exited
  std::string describe() const;  // "exited with status 7", "was killed by signal 9 (SIGKILL)"
};

class ChildProcess {
public:
  // argv[0] is looked up on PATH. `extra_env` entries (NAME=VALUE) override the inherited ones.
  // `pass_fd`, if set, becomes the child's fd 3 (the sandbox's control socket).
  static Result<std::unique_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv,
                                                     const std::vector<std::string>& extra_env = {},
                                                     int pass_fd = -1);
  ~ChildProcess();

  pid_t pid() const { return m_pid; }
  util::UniqueFd& stdin_fd() { return m_stdin; }
  util::UniqueFd& stdout_fd() { return m_stdout; }
  util::UniqueFd& stderr_fd() { return m_stderr; }

  void terminate();  // SIGTERM to the process group
  void kill();       // SIGKILL to the process group
  // Non-blocking reap; returns the exit once the child has ended.
  std::optional<ChildExit> try_wait();
  const std::optional<ChildExit>& exit() const { return m_exit; }

private:
  ChildProcess() = default;
  pid_t m_pid = -1;
  util::UniqueFd m_stdin, m_stdout, m_stderr;
  std::optional<ChildExit> m_exit;
};

}  // namespace warden::transport
