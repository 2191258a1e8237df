// kill -9 while appending: everything appended before the kill verifies; a partial last line is
// at most a warning; reopening drops it and continues the chain.
#include <chrono>
#include <filesystem>
#include <signal.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "warden/audit/audit_log.h"
#include "warden/audit/verify.h"

#include "test_support.h"

namespace warden::audit {
namespace {

[[noreturn]] void append_forever(const std::string& path) {
  auto log = AuditLog::open(path, FsyncMode::never, util::SystemClock::instance());
  if (!log) _exit(2);
  const std::string big = "\"" + std::string(3000, 'x') + "\"";
  for (uint64_t i = 0;; ++i) {
    if (i % 7 == 0) {
      // Large batched writes make a cut in the middle of a write(2) likely.
      AuditLog::BatchScope batch(**log);
      for (int k = 0; k < 40; ++k) {
        Record r;
        r.server = "crash";
        r.method = "tools/call";
        r.detail = big;
        (*log)->append(r);
      }
    } else {
      Record r;
      r.server = "crash";
      r.method = "ping";
      r.id = std::to_string(i);
      (*log)->append(r);
    }
  }
}

TEST(AuditCrash, KillNineWhileAppendingLeavesAVerifiableLog) {
  test::TempDir dir;
  const std::string path = dir.file("crash.jsonl");
  for (int round = 0; round < 3; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) append_forever(path);
    // Let it write a while (at least 1 MB more than before), then kill it mid-stride.
    const auto start_size = std::filesystem::exists(path) ? std::filesystem::file_size(path) : 0;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      std::error_code ec;
      auto size = std::filesystem::file_size(path, ec);
      if (!ec && size > start_size + (1u << 20)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited on its own with " << status;

    auto report = verify_file(path);
    ASSERT_TRUE(report.ok()) << "round " << round << ": " << report.to_text();
    EXPECT_GT(report.verified, 100u);
    auto head = read_head_file(head_path_for(path));
    ASSERT_TRUE(head && *head);
    EXPECT_GE(report.verified, (*head)->seq); // nothing the head vouched for is lost
  }
  // Reopen: any partial line goes, the chain continues, and everything verifies.
  auto before = verify_file(path);
  util::ManualClock clock;
  {
    auto log = AuditLog::open(path, FsyncMode::always, clock);
    ASSERT_TRUE(log) << log.error().message;
    Record r;
    r.server = "after";
    EXPECT_GT((*log)->append(r), before.verified);
  }
  auto after = verify_file(path);
  EXPECT_TRUE(after.ok()) << after.to_text();
  EXPECT_GE(after.verified, before.verified + 1);
  // No partial line is left at the end. (Earlier rounds' reopenings may have recorded that they
  // dropped one: "dropped N bytes of a partial last line", an audit record, is expected then.)
  for (const auto& w : after.warnings)
    EXPECT_EQ(w.find("no newline"), std::string::npos) << w;
}

} // namespace
} // namespace warden::audit
